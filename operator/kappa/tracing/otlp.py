"""Spans as OTLP/HTTP JSON (``ExportTraceServiceRequest``) and the collector's URL (pure).

The JSON mapping of opentelemetry-proto: ids as lowercase hex, times as decimal strings
of Unix nanoseconds, 64-bit integers as strings, enums as numbers::

    {"resourceSpans": [{"resource": {"attributes": [service.name, ...]},
                        "scopeSpans": [{"scope": {"name": "kappa"}, "spans": [...]}]}]}

The endpoint is the collector's base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT``: spans go
to ``<endpoint>/v1/traces``.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kappa.tracing.span import AttributeValue, Span

TRACES_PATH: Final = "/v1/traces"
SCOPE: Final = "kappa"
MAX_ENDPOINT: Final = 2048
_STATUS_ERROR: Final = 2
_SCHEMES: Final = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where spans are posted: ``http(s)://host:port/path``."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def tls(self) -> bool:
        """Whether the connection is HTTPS."""
        return self.scheme == "https"


def parse_endpoint(value: str) -> Endpoint:
    """The collector's URL from its base (``http://otel-collector:4318``); ValueError if bad."""
    if len(value) > MAX_ENDPOINT:
        raise ValueError(f"is longer than {MAX_ENDPOINT} characters")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in _SCHEMES:
        raise ValueError("is not an http:// or https:// URL")
    authority, slash, path = rest.partition("/")
    if "@" in authority or "?" in rest or "#" in rest:
        raise ValueError("must not hold credentials, a query or a fragment")
    host, port = authority, _SCHEMES[scheme]
    if authority.startswith("["):  # [::1]:4318
        host, bracket, after = authority[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ValueError("has a malformed IPv6 address")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text_or_empty = authority.partition(":")
        port_text = port_text_or_empty if colon else None
    if not host or any(c.isspace() for c in host):
        raise ValueError("names no host")
    if port_text is not None:
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:  # noqa: PLR2004
            raise ValueError("has a port that is not 1-65535")
        port = int(port_text)
    base = ("/" + path if slash else "").rstrip("/")
    return Endpoint(scheme, host, port, base + TRACES_PATH)


def _value(value: AttributeValue) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def _attributes(attributes: Mapping[str, AttributeValue]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in attributes.items()]


def _span(span: Span) -> dict[str, Any]:
    record: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": int(span.kind),
        "startTimeUnixNano": str(span.start_ns),
        "endTimeUnixNano": str(span.end_ns),
        "attributes": _attributes(span.attributes),
    }
    if span.parent_span_id is not None:
        record["parentSpanId"] = span.parent_span_id
    if span.error is not None:
        record["status"] = {"code": _STATUS_ERROR, "message": span.error}
    return record


def encode(resource: Mapping[str, AttributeValue], spans: Iterable[Span]) -> bytes:
    """One ``ExportTraceServiceRequest`` of ``spans``, all from one resource (a process)."""
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource)},
                "scopeSpans": [{"scope": {"name": SCOPE}, "spans": [_span(s) for s in spans]}],
            }
        ]
    }
    return json.dumps(request, separators=(",", ":")).encode()
