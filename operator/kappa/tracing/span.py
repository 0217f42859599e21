"""A finished span's record, the little of OpenTelemetry's data model Kappa uses (pure).

Attribute names follow OpenTelemetry's semantic conventions where they fit (FaaS:
``faas.invoked_name``, ``faas.coldstart``, ``faas.invocation_id``…); Kappa's own carry the
``kappa.`` prefix.
"""

from dataclasses import dataclass, field
from enum import IntEnum

AttributeValue = str | bool | int | float


class SpanKind(IntEnum):
    """OTLP's span kinds (opentelemetry-proto ``Span.SpanKind``)."""

    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


@dataclass(slots=True)
class Span:
    """One operation of one trace; filled while it runs, exported once it ends."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    kind: SpanKind
    start_ns: int
    sampled: bool
    end_ns: int = 0
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    error: str | None = None  # the status message of a span that failed; None: unset (OK)
    tracestate: str = ""  # the caller's W3C tracestate, passed on to the calls it makes

    def set(self, key: str, value: AttributeValue | None) -> None:
        """Set an attribute; None leaves it out."""
        if value is not None:
            self.attributes[key] = value
