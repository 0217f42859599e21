"""Redis stream entries as a Kappa event (Lambda has no Redis source). Pure.

Analogous to Lambda's Kinesis and Kafka events: one ``records`` list in
stream order; an entry's fields are kept as a map of base64 values (Redis
values are bytes)::

    {"eventSource": "kappa:redis-streams", "eventSourceArn": "arn:kappa:redis-streams:...",
     "stream": "orders", "group": "kappa-shop-orders",
     "records": [{"id": "1700000000000-0", "timestamp": 1700000000000,
        "deliveryCount": 1, "fields": {"order": "eyJpZCI6IDF9"}}]}

A record's ``id`` is the entry id (``<ms>-<seq>``), its ordering ``key`` the
stream; its ``body`` (what filter patterns match and batch sizes count) is
the fields as one JSON object of UTF-8 text, e.g. ``{"order":"42","kind":"new"}``.
"""

import base64
import json
from collections.abc import Sequence
from typing import Any, Final

from kappa.eventsources.filter_payload import parsed
from kappa.eventsources.source import EventContext, Record
from kappa.eventsources.stream_event import stream_event

EVENT_SOURCE: Final = "kappa:redis-streams"


class EntryIdError(ValueError):
    """Not a Redis stream entry id."""


def entry_timestamp_ms(entry_id: str) -> int:
    """The milliseconds part of an entry id (when Redis added it, for auto ids)."""
    millis, _, seq = entry_id.partition("-")
    if not millis.isdigit() or (seq and not seq.isdigit()):
        msg = f"{entry_id!r} is not a stream entry id (<ms>-<seq>)"
        raise EntryIdError(msg)
    return int(millis)


def to_record(
    *,
    stream: str,
    group: str,
    entry_id: str,
    fields: Sequence[tuple[bytes, bytes]],
    delivery_count: int = 1,
) -> Record:
    """A ``Record`` from a stream entry (fields in the order Redis returned them)."""
    text = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields}
    return Record(
        id=entry_id,
        key=stream,
        body=json.dumps(text, ensure_ascii=False, separators=(",", ":")).encode(),
        timestamp_ms=entry_timestamp_ms(entry_id),
        attempt=max(1, delivery_count),
        attributes=text,
        source_fields={
            "stream": stream,
            "group": group,
            "fields": [
                [base64.b64encode(k).decode(), base64.b64encode(v).decode()] for k, v in fields
            ],
        },
    )


def raw_fields(record: Record) -> list[tuple[bytes, bytes]]:
    """The entry's fields as Redis holds them (for a dead-letter stream)."""
    return [(base64.b64decode(k), base64.b64decode(v)) for k, v in record.source_fields["fields"]]


def lambda_record(record: Record) -> dict[str, Any]:
    """One entry of the event's ``records``."""
    return {
        "id": record.id,
        "timestamp": record.timestamp_ms,
        "deliveryCount": record.attempt,
        "fields": {
            base64.b64decode(k).decode(errors="replace"): v
            for k, v in record.source_fields["fields"]
        },
    }


def filter_view(record: Record, context: EventContext) -> dict[str, Any]:  # noqa: ARG001
    """What filter patterns see: the event's record, each field parsed (``{"fields": {...}}``)."""
    view = lambda_record(record)
    view["fields"] = {k: parsed(v) for k, v in raw_fields_text(record)}
    return view


def raw_fields_text(record: Record) -> list[tuple[str, bytes]]:
    """The entry's fields, names as text."""
    return [(k.decode(errors="replace"), v) for k, v in raw_fields(record)]


def shape(records: Sequence[Record], context: EventContext) -> dict[str, object]:
    """Kappa's Redis Streams event for ``records`` (in stream order)."""
    return stream_event(
        EVENT_SOURCE, records, context, shared=("stream", "group"), entry=lambda_record
    )


def event_source_arn(region: str, namespace: str, stream: str, group: str) -> str:
    """Kappa's ARN for a consumer group of a Redis stream."""
    return f"arn:kappa:redis-streams:{region}:{namespace}:stream/{stream}/group/{group}"
