"""Spans as OTLP/HTTP JSON (``ExportTraceServiceRequest``) and the collector's URL (pure).

The JSON mapping of opentelemetry-proto: ids as lowercase hex, times as decimal strings
of Unix nanoseconds, 64-bit integers as strings, enums as numbers::

    {"resourceSpans": [{"resource": {"attributes": [service.name, ...]},
                        "scopeSpans": [{"scope": {"name": "kappa"}, "spans": [...]}]}]}

"""

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from kappa.tracing.span import AttributeValue, Span

SCOPE: Final = "kappa"
_STATUS_ERROR: Final = 2


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
