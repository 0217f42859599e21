"""Trace context on the wire: W3C ``traceparent``/``tracestate`` and X-Ray's header (pure).

One trace, two spellings of its 128-bit id::

    traceparent      00-5f3c2a1b0123456789abcdef01234567-00f067aa0ba902b7-01
    X-Amzn-Trace-Id  Root=1-5f3c2a1b-0123456789abcdef01234567;Parent=00f067aa0ba902b7;Sampled=1

The X-Ray root's first 8 hex digits are the trace's start (epoch seconds): ids made here
put the time there too, so X-Ray accepts them as well as any W3C system.

Headers from outside are bounded and checked; one that is too long or malformed is
ignored (None), never an error: the call is served in a fresh trace. A ``traceparent``
wins over an ``X-Amzn-Trace-Id`` when both are valid.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

# Longer headers are not read at all. A version-00 traceparent is 55 characters; later
# versions may append fields, which this parser keeps to the first four.
MAX_TRACEPARENT: Final = 256
# W3C: at most 32 list members; vendors should pass on at least 512 characters.
MAX_TRACESTATE: Final = 512
# Lambda's own header carries Root, Parent, Sampled and sometimes Lineage (about 120).
MAX_XRAY: Final = 256
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16
_TRACEPARENT: Final = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-"
    r"(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?",
    re.ASCII,
)
_ROOT: Final = re.compile(r"1-(?P<time>[0-9a-f]{8})-(?P<unique>[0-9a-f]{24})", re.ASCII)
_SPAN_ID: Final = re.compile(r"[0-9a-f]{16}", re.ASCII)
_TRACESTATE_MEMBER: Final = re.compile(
    r"[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,256}"
)
_MAX_TRACESTATE_MEMBERS: Final = 32

Random = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class TraceContext:
    """A caller's place in a trace: the trace, the caller's span, its sampling decision.

    ``span_id`` None: the caller named the trace but no span (an X-Ray ``Root`` alone).
    ``sampled`` None: the caller left the decision to us (X-Ray's ``Sampled=?`` or none).
    """

    trace_id: str  # 32 lowercase hex digits, not all zero
    span_id: str | None = None  # 16 lowercase hex digits, not all zero
    sampled: bool | None = None
    tracestate: str = ""


def parse_traceparent(value: str | None, tracestate: str | None = None) -> TraceContext | None:
    """The context a W3C ``traceparent`` names; None when absent, too long or malformed."""
    if value is None or len(value) > MAX_TRACEPARENT:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version = match["version"]
    # Version ff is invalid; version 00 has exactly four fields; later ones may have more.
    if version == "ff" or (version == "00" and match["rest"] is not None):
        return None
    trace, span = match["trace"], match["span"]
    if trace == _ZERO_TRACE or span == _ZERO_SPAN:
        return None
    return TraceContext(
        trace_id=trace,
        span_id=span,
        sampled=bool(int(match["flags"], 16) & 1),
        tracestate=parse_tracestate(tracestate),
    )


def parse_tracestate(value: str | None) -> str:
    """``tracestate`` as it may be passed on; empty when absent, too long or malformed."""
    if not value or len(value) > MAX_TRACESTATE:
        return ""
    members = [member.strip() for member in value.split(",")]
    members = [member for member in members if member]
    if len(members) > _MAX_TRACESTATE_MEMBERS:
        return ""
    if not all(_TRACESTATE_MEMBER.fullmatch(member) for member in members):
        return ""
    return ",".join(members)


def format_traceparent(trace_id: str, span_id: str, *, sampled: bool) -> str:
    """A version-00 ``traceparent``."""
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def parse_xray(value: str | None) -> TraceContext | None:
    """The context an ``X-Amzn-Trace-Id`` (or ``_X_AMZN_TRACE_ID``) names, or None.

    Fields are ``;``-separated ``Key=Value`` pairs in any order; ``Root`` is required;
    unknown fields (``Lineage``, ``Self``) are ignored.
    """
    if value is None or len(value) > MAX_XRAY:
        return None
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, field_value = part.strip().partition("=")
        if not sep:
            continue
        if key in fields:
            return None  # two Roots (or two Parents): which one is meant?
        fields[key] = field_value.strip()
    root = _ROOT.fullmatch(fields.get("Root", ""))
    if root is None:
        return None
    trace = root["time"] + root["unique"]
    if trace == _ZERO_TRACE:
        return None
    parent = fields.get("Parent")
    if parent is not None and (not _SPAN_ID.fullmatch(parent) or parent == _ZERO_SPAN):
        return None
    sampled = {"1": True, "0": False}.get(fields.get("Sampled", ""))
    return TraceContext(trace_id=trace, span_id=parent, sampled=sampled)


def format_xray(trace_id: str, parent_id: str, *, sampled: bool) -> str:
    """Lambda's ``X-Amzn-Trace-Id`` for one trace id (the W3C one, cut as X-Ray cuts it)."""
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={parent_id};Sampled={int(sampled)}"


def incoming(
    traceparent: str | None, tracestate: str | None, xray: str | None
) -> TraceContext | None:
    """The caller's context: its ``traceparent`` when valid, else its X-Ray header, else None."""
    return parse_traceparent(traceparent, tracestate) or parse_xray(xray)


def new_trace_id(now_seconds: int, random: Random) -> str:
    """A trace id whose first 32 bits are ``now_seconds`` (X-Ray's rule) and the rest random."""
    stamp = f"{now_seconds & 0xFFFFFFFF:08x}"
    rest = random(12).hex()
    if stamp + rest == _ZERO_TRACE:  # 1970 and a random source of zeros: not a valid id
        rest = rest[:-1] + "1"
    return stamp + rest


def new_span_id(random: Random) -> str:
    """A span id: 64 random bits, never all zero."""
    value = random(8).hex()
    return _ZERO_SPAN[:-1] + "1" if value == _ZERO_SPAN else value
