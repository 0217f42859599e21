"""NATS JetStream messages as a Kappa event (Lambda has no NATS source). Pure.

Analogous to Lambda's Kafka and RabbitMQ events: one ``records`` list in
stream order, ``data`` in base64, headers as lists of strings::

    {"eventSource": "kappa:nats", "eventSourceArn": "arn:kappa:nats:...",
     "stream": "ORDERS", "consumer": "kappa-shop-orders",
     "records": [{"subject": "orders.eu", "sequence": 42,
        "timestamp": 1545084650987, "deliveryCount": 1,
        "headers": {"trace": ["abc"]}, "data": "eyJpZCI6IDF9"}]}

A record's ``id`` is its stream sequence (decimal); its ordering ``key`` is
its subject.
"""

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Final

from kappa.eventsources.filter_payload import with_parsed
from kappa.eventsources.source import EventContext, Record
from kappa.eventsources.stream_event import stream_event

EVENT_SOURCE: Final = "kappa:nats"


def to_record(  # noqa: PLR0913 - a JetStream message has this many parts
    *,
    stream: str,
    consumer: str,
    subject: str,
    sequence: int,
    timestamp_ms: int,
    delivery_count: int,
    headers: Mapping[str, Sequence[str]],
    data: bytes,
) -> Record:
    """A ``Record`` from a JetStream message."""
    return Record(
        id=str(sequence),
        key=subject,
        body=data,
        timestamp_ms=timestamp_ms,
        attempt=max(1, delivery_count),
        attributes={name: values[0] for name, values in headers.items() if values},
        source_fields={
            "stream": stream,
            "consumer": consumer,
            "subject": subject,
            "sequence": sequence,
            "headers": {name: list(values) for name, values in headers.items()},
        },
    )


def lambda_record(record: Record) -> dict[str, Any]:
    """One entry of the event's ``records``."""
    fields = record.source_fields
    return {
        "subject": fields["subject"],
        "sequence": fields["sequence"],
        "timestamp": record.timestamp_ms,
        "deliveryCount": record.attempt,
        "headers": {name: list(values) for name, values in fields["headers"].items()},
        "data": base64.b64encode(record.body).decode(),
    }


def filter_view(record: Record, context: EventContext) -> dict[str, Any]:  # noqa: ARG001
    """What filter patterns see: the event's record, ``data`` parsed (``{"data": {...}}``)."""
    return with_parsed(lambda_record(record), "data", record.body)


def shape(records: Sequence[Record], context: EventContext) -> dict[str, object]:
    """Kappa's NATS JetStream event for ``records`` (in the order fetched)."""
    return stream_event(
        EVENT_SOURCE, records, context, shared=("stream", "consumer"), entry=lambda_record
    )


def event_source_arn(region: str, namespace: str, stream: str, consumer: str) -> str:
    """Kappa's ARN for a durable consumer of a JetStream stream."""
    return f"arn:kappa:nats:{region}:{namespace}:stream/{stream}/consumer/{consumer}"
