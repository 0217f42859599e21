"""The JSON the gateways send the autoscaler: built and parsed here, on both sides.

``POST /v1/stats`` every second from each gateway replica::

    {"gateway": "<id>", "functions": [{"namespace": "ns", "name": "fn",
      "inFlight": 1.5, "peak": 2, "queued": 0, "pods": {"fn-abc": 2}}],
     "started": 1767225600.0, "usage": [{"namespace": "ns", "name": "fn",
      "requests": 100, "billedMs": 10100, "mbMs": 5171200}]}

``usage`` (optional) is the gateway's running totals per Function since it
``started`` (its wall clock): invocations an agent ran, their billed milliseconds,
and billed milliseconds times the Function's memory in MB (kappa.quota.usage).
``"usageComplete": false`` says the list holds only the totals that changed since
the autoscaler last took them; absent or true, it holds all of them. The answer is
204, or 200 with ``{"wantCompleteUsage": true}`` when the autoscaler could not take
a partial list (it does not know the gateway): the next report sends all totals.
Each total is an integer, and they must agree with one another as real
invocations would: at least 1 ms billed per request, at most the longest timeout
plus a second; a memory of 128 to 10240 MB.

``POST /v1/poke`` at once when an invocation waits for a slot::

    {"gateway": "<id>", "namespace": "ns", "name": "fn", "at": 1767225600.123,
     "inFlight": 0, "peak": 0, "queued": 1}

Both may carry ``"readyPort": 8000``: the port the gateway takes agents' readiness
pushes on (``POST /kappa/v1/agent-ready``) at its pod's address, which the autoscaler
reads off the connection (:func:`parse_ready_port`); new function pods are told every
such address, so their agents tell each gateway at once when they can take calls.

``at`` is the gateway's wall clock when the invocation started to wait. A
gateway id is unique per gateway process. Bad documents raise ``WireError``
saying what is wrong: every number must be finite and within bounds no real gateway
reaches (a gateway holds at most its concurrency limit plus its queue), every name a
bounded string, so a forged or broken report cannot overflow a decision.
"""

import json
import math
from collections.abc import Mapping
from typing import Any, Final, NamedTuple, TypeGuard

from kappa.api.function import MEMORY_MB_MAX, MEMORY_MB_MIN, TIMEOUT_SECONDS_MAX
from kappa.autoscaler.stats import Key, Sample
from kappa.quota.usage import Usage

_MAX_FUNCTIONS: Final = 100_000
MAX_FIGURE: Final = 1_000_000  # in flight, peak, queued or per-pod calls, per gateway
_MAX_PODS: Final = 10_000
_MAX_NAME: Final = 253
_MAX_GATEWAY_ID: Final = 128
MAX_REQUESTS: Final = 10**12  # invocations one gateway ran: 30 years at 1000 a second
# Billed per invocation at most: the longest timeout plus the gateway's slack of a second.
_MAX_BILLED_MS_EACH: Final = TIMEOUT_SECONDS_MAX * 1000 + 1000


class WireError(ValueError):
    """A document that is not what this module describes."""


def sample_fields(sample: Sample) -> dict[str, Any]:
    """The figures of ``sample`` as JSON fields."""
    return {
        "inFlight": round(sample.in_flight, 3),
        "peak": sample.peak,
        "queued": sample.queued,
        "pods": dict(sample.pods),
    }


def stats_document(  # noqa: PLR0913 - the body's parts, ``complete`` keyword-only
    gateway: str,
    functions: Mapping[Key, Sample],
    usage: Mapping[Key, Usage] | None = None,
    started: float | None = None,
    ready_port: int | None = None,
    *,
    complete: bool = True,
) -> dict[str, Any]:
    """A ``/v1/stats`` body; with ``usage``, the running totals since ``started``.

    ``complete``: ``usage`` holds all of the gateway's totals, not only those that changed.
    """
    document: dict[str, Any] = {
        "gateway": gateway,
        **({} if ready_port is None else {"readyPort": ready_port}),
        "functions": [
            {"namespace": ns, "name": name, **sample_fields(sample)}
            for (ns, name), sample in functions.items()
        ],
    }
    if usage is not None:
        document["started"] = started
        document["usageComplete"] = complete
        document["usage"] = [
            {"namespace": ns, "name": name, "requests": figures.requests,
             "billedMs": figures.billed_ms, "mbMs": figures.mb_ms}
            for (ns, name), figures in usage.items()
        ]  # fmt: skip
    return document


def poke_document(
    gateway: str, key: Key, sample: Sample, at: float, ready_port: int | None = None
) -> dict[str, Any]:
    """A ``/v1/poke`` body."""
    port = {} if ready_port is None else {"readyPort": ready_port}
    return {"gateway": gateway, "namespace": key[0], "name": key[1], "at": at,
            **sample_fields(sample), **port}  # fmt: skip


def parse_ready_port(document: object) -> int | None:
    """The ``readyPort`` of a ``/v1/stats`` or ``/v1/poke`` body (None: not given)."""
    port = _object(document, "the body").get("readyPort")
    if port is None:
        return None
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:  # noqa: PLR2004
        raise WireError("readyPort must be a TCP port number from 1 to 65535")
    return port


def parse_stats(document: object) -> tuple[str, dict[Key, Sample]]:
    """(gateway, figures per function) of a ``/v1/stats`` body."""
    body = _object(document, "the body")
    items = body.get("functions")
    if not isinstance(items, list) or len(items) > _MAX_FUNCTIONS:
        raise WireError("functions must be a list")
    functions: dict[Key, Sample] = {}
    for index, item in enumerate(items):
        key, sample = _function(_object(item, f"functions[{index}]"), f"functions[{index}]")
        functions[key] = sample
    return _gateway(body), functions


class UsageReport(NamedTuple):
    """The usage part of a ``/v1/stats`` body."""

    started: float | None  # when the gateway started (its wall clock); None: not said
    totals: dict[Key, Usage]  # running totals per function
    complete: bool  # all of the gateway's totals, not only those that changed


def parse_usage(document: object) -> UsageReport:
    """The running totals of a ``/v1/stats`` body (none: ``(None, {}, True)``)."""
    body = _object(document, "the body")
    complete = body.get("usageComplete", True)
    if not isinstance(complete, bool):
        raise WireError("usageComplete must be true or false")
    started = body.get("started")
    if started is not None and (
        not isinstance(started, int | float)
        or isinstance(started, bool)
        or not math.isfinite(started)
        or started < 0
    ):
        raise WireError("started must be a finite number (seconds since the epoch)")
    items = body.get("usage", [])
    if not isinstance(items, list) or len(items) > _MAX_FUNCTIONS:
        raise WireError("usage must be a list")
    usage: dict[Key, Usage] = {}
    for index, item in enumerate(items):
        where = f"usage[{index}]"
        entry = _object(item, where)
        namespace, name = entry.get("namespace"), entry.get("name")
        if not _name(namespace) or not _name(name):
            raise WireError(f"{where}: namespace and name must be strings of 1 to {_MAX_NAME} "
                            "characters")  # fmt: skip
        usage[namespace, name] = _usage(entry, where)
    return UsageReport(None if started is None else float(started), usage, complete)


# The answer to a report whose partial usage the autoscaler could not take.
WANT_COMPLETE_USAGE: Final = {"wantCompleteUsage": True}


def wants_complete_usage(answer: bytes) -> bool:
    """Whether a ``/v1/stats`` answer's body asks for all usage totals next.

    An answer that is not a JSON object asks for them too: sending all is always safe.
    """
    if not answer:
        return False
    try:
        document = json.loads(answer)
    except ValueError:
        return True
    return not isinstance(document, dict) or document.get("wantCompleteUsage") is True


def _usage(entry: Mapping[str, Any], where: str) -> Usage:
    requests = _whole(entry, "requests", MAX_REQUESTS, where)
    billed_ms = _whole(entry, "billedMs", MAX_REQUESTS * _MAX_BILLED_MS_EACH, where)
    mb_ms = _whole(entry, "mbMs", MAX_REQUESTS * _MAX_BILLED_MS_EACH * MEMORY_MB_MAX, where)
    if not requests <= billed_ms <= requests * _MAX_BILLED_MS_EACH:
        raise WireError(f"{where}: billedMs must be from 1 to {_MAX_BILLED_MS_EACH} per request")
    if not billed_ms * MEMORY_MB_MIN <= mb_ms <= billed_ms * MEMORY_MB_MAX:
        raise WireError(f"{where}: mbMs must be billedMs times a memory of {MEMORY_MB_MIN} to "
                        f"{MEMORY_MB_MAX} MB")  # fmt: skip
    return Usage(requests, billed_ms, mb_ms)


def _whole(body: Mapping[str, Any], name: str, most: int, where: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= most:
        raise WireError(f"{where}: {name} must be an integer from 0 to {most}")
    return value


def parse_poke(document: object) -> tuple[str, Key, Sample, float | None]:
    """(gateway, function, figures, when it started to wait) of a ``/v1/poke`` body."""
    body = _object(document, "the body")
    key, sample = _function(body, "the poke")
    at = body.get("at")
    if at is not None and (
        not isinstance(at, int | float) or isinstance(at, bool) or not math.isfinite(at)
    ):
        raise WireError("at must be a finite number (seconds since the epoch)")
    return _gateway(body), key, sample, None if at is None else float(at)


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireError(f"{where} must be a JSON object")
    return value


def _gateway(body: Mapping[str, Any]) -> str:
    gateway = body.get("gateway")
    if not isinstance(gateway, str) or not 0 < len(gateway) <= _MAX_GATEWAY_ID:
        raise WireError(f"gateway must be a string of 1 to {_MAX_GATEWAY_ID} characters")
    return gateway


def _count(body: Mapping[str, Any], name: str, where: str) -> int:
    value = body.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_FIGURE:
        raise WireError(f"{where}: {name} must be an integer from 0 to {MAX_FIGURE}")
    return value


def _name(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_NAME


def _function(body: Mapping[str, Any], where: str) -> tuple[Key, Sample]:
    namespace, name = body.get("namespace"), body.get("name")
    if not _name(namespace) or not _name(name):
        raise WireError(f"{where}: namespace and name must be strings of 1 to {_MAX_NAME} "
                        "characters")  # fmt: skip
    in_flight = body.get("inFlight", 0)
    if (
        not isinstance(in_flight, int | float)
        or isinstance(in_flight, bool)
        or not math.isfinite(in_flight)
        or not 0 <= in_flight <= MAX_FIGURE
    ):
        raise WireError(f"{where}: inFlight must be a finite number from 0 to {MAX_FIGURE}")
    pods = _object(body.get("pods") or {}, f"{where}: pods")
    if len(pods) > _MAX_PODS:
        raise WireError(f"{where}: pods must list at most {_MAX_PODS} pods")
    for pod, count in pods.items():
        if not _name(pod):
            raise WireError(f"{where}: pod names must be 1 to {_MAX_NAME} characters")
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_FIGURE:
            raise WireError(f"{where}: pods[{pod!r}] must be an integer from 0 to {MAX_FIGURE}")
    sample = Sample(
        in_flight=float(in_flight),
        peak=_count(body, "peak", where),
        queued=_count(body, "queued", where),
        pods=dict(pods),
    )
    return (namespace, name), sample
