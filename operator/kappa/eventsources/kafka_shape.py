"""Kafka records as Lambda shows them: the ``SelfManagedKafka`` event. Pure.

A record's ``id`` is ``"<topic>-<partition>:<offset>"`` (offsets repeat across
partitions); its ordering ``key`` is ``"<topic>-<partition>"``, the key of
Lambda's ``records`` map. ``key`` and ``value`` are base64, headers are lists
of byte values, as in Lambda::

    {"eventSource": "SelfManagedKafka", "bootstrapServers": "b-1:9092,b-2:9092",
     "records": {"orders-0": [{"topic": "orders", "partition": 0, "offset": 15,
        "timestamp": 1545084650987, "timestampType": "CREATE_TIME",
        "key": "a2V5", "value": "SGVsbG8=", "headers": [{"h": [104, 105]}]}]}}
"""

import base64
from collections.abc import Sequence
from typing import Any, Final

from kappa.eventsources.filter_payload import parsed
from kappa.eventsources.source import EventContext, Record

EVENT_SOURCE: Final = "SelfManagedKafka"
TIMESTAMP_TYPES: Final = {0: "CREATE_TIME", 1: "LOG_APPEND_TIME"}


def partition_key(topic: str, partition: int) -> str:
    """Lambda's ``records`` key, and the record's ordering key: ``topic-partition``."""
    return f"{topic}-{partition}"


def record_id(topic: str, partition: int, offset: int) -> str:
    """The record's ``id`` (``itemIdentifier`` in ``batchItemFailures``)."""
    return f"{partition_key(topic, partition)}:{offset}"


def to_record(  # noqa: PLR0913 - a Kafka record has this many parts
    *,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    timestamp_type: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
) -> Record:
    """A ``Record`` from a consumed Kafka record (``value`` None is a tombstone)."""
    attributes = {}
    for name, raw in headers:
        try:
            attributes[name] = raw.decode()
        except UnicodeDecodeError:
            continue
    return Record(
        id=record_id(topic, partition, offset),
        key=partition_key(topic, partition),
        body=value if value is not None else b"",
        timestamp_ms=timestamp_ms,
        attributes=attributes,
        source_fields={
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "timestampType": TIMESTAMP_TYPES.get(timestamp_type, "NO_TIMESTAMP_TYPE"),
            "key": None if key is None else base64.b64encode(key).decode(),
            "valueIsNull": value is None,
            "headers": [{name: list(raw)} for name, raw in headers],
        },
    )


def decode_key(key: str) -> bytes:
    """The key bytes of a record's base64 ``key`` field."""
    return base64.b64decode(key)


def lambda_record(record: Record) -> dict[str, Any]:
    """One entry of the event's ``records`` lists."""
    fields = record.source_fields
    entry: dict[str, Any] = {
        "topic": fields["topic"],
        "partition": fields["partition"],
        "offset": fields["offset"],
        "timestamp": record.timestamp_ms,
        "timestampType": fields["timestampType"],
    }
    if fields["key"] is not None:
        entry["key"] = fields["key"]
    if not fields["valueIsNull"]:
        entry["value"] = base64.b64encode(record.body).decode()
    entry["headers"] = [dict(h) for h in fields["headers"]]
    return entry


def filter_view(record: Record, context: EventContext) -> dict[str, Any]:  # noqa: ARG001
    """What filter patterns see: the event's record, ``value`` parsed (``{"value": {...}}``)."""
    view = lambda_record(record)
    view["value"] = None if record.source_fields["valueIsNull"] else parsed(record.body)
    return view


def shape(records: Sequence[Record], context: EventContext) -> dict[str, object]:
    """Lambda's self-managed Kafka event for ``records`` (grouped by topic-partition, in order)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record.key, []).append(lambda_record(record))
    return {
        "eventSource": EVENT_SOURCE,
        "bootstrapServers": ",".join(context.block.bootstrap_servers),
        "records": grouped,
    }


def event_source_arn(region: str, namespace: str, topic: str) -> str:
    """Kappa's ARN for a Kafka topic (self-managed Kafka has none in Lambda's events)."""
    return f"arn:kappa:kafka:{region}:{namespace}:topic/{topic}"
