"""RabbitMQ messages as Lambda shows Amazon MQ for RabbitMQ: ``rmqMessagesByQueue``. Pure.

Messages are grouped under ``"<queue>::<virtual host>"``; ``data`` is the body
in base64; ``basicProperties`` are the AMQP properties with Lambda's
spellings, string header values as ``{"bytes": [...]}`` and the timestamp
as Java prints it (``"Jan 1, 1970, 12:33:41 AM"``, UTC)::

    {"eventSource": "aws:rmq", "eventSourceArn": "arn:kappa:rabbitmq:...",
     "rmqMessagesByQueue": {"orders::/": [{"basicProperties": {...},
        "redelivered": false, "data": "eyJ0aW1lb3V0IjowfQ=="}]}}

A record's ``id`` is the message's ``messageId`` when the publisher set one,
else ``delivery-<tag>``; its ``attempt`` is ``x-delivery-count`` + 1 (quorum
queues count deliveries), else 2 when ``redelivered``, else 1.
"""

import base64
import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from kappa.eventsources.filter_payload import with_parsed
from kappa.eventsources.source import EventContext, Record

EVENT_SOURCE: Final = "aws:rmq"
DELIVERY_COUNT_HEADER: Final = "x-delivery-count"
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec")  # fmt: skip


def java_timestamp(moment: datetime.datetime) -> str:
    """``moment`` in Java's medium date-time format, UTC: ``Jan 1, 1970, 12:33:41 AM``."""
    utc = moment.astimezone(datetime.UTC) if moment.tzinfo else moment
    hour = utc.hour % 12 or 12
    half = "AM" if utc.hour < 12 else "PM"  # noqa: PLR2004 - noon
    return (
        f"{_MONTHS[utc.month - 1]} {utc.day}, {utc.year}, "
        f"{hour}:{utc.minute:02d}:{utc.second:02d} {half}"
    )


def header_value(value: Any) -> Any:
    """An AMQP header value as Lambda's JSON shows it (strings as ``{"bytes": [...]}``)."""
    result: Any
    if isinstance(value, str):
        result = {"bytes": list(value.encode())}
    elif isinstance(value, bytes | bytearray | memoryview):
        result = {"bytes": list(bytes(value))}
    elif isinstance(value, bool | int | float) or value is None:
        result = value
    elif isinstance(value, Decimal):
        result = float(value)
    elif isinstance(value, datetime.datetime):
        result = java_timestamp(value)
    elif isinstance(value, Mapping):
        result = {str(k): header_value(v) for k, v in value.items()}
    elif isinstance(value, list | tuple):
        result = [header_value(v) for v in value]
    else:
        result = str(value)
    return result


def basic_properties(  # noqa: PLR0913 - AMQP has this many basic properties
    *,
    content_type: str | None = None,
    content_encoding: str | None = None,
    headers: Mapping[str, Any] | None = None,
    delivery_mode: int | None = None,
    priority: int | None = None,
    correlation_id: str | None = None,
    reply_to: str | None = None,
    expiration: str | None = None,
    message_id: str | None = None,
    timestamp: datetime.datetime | None = None,
    message_type: str | None = None,
    user_id: str | None = None,
    app_id: str | None = None,
    cluster_id: str | None = None,
    body_size: int = 0,
) -> dict[str, Any]:
    """Lambda's ``basicProperties`` object (JSON-compatible)."""
    return {
        "contentType": content_type,
        "contentEncoding": content_encoding,
        "headers": header_value(dict(headers)) if headers else None,
        "deliveryMode": delivery_mode,
        "priority": priority,
        "correlationId": correlation_id,
        "replyTo": reply_to,
        "expiration": expiration,
        "messageId": message_id,
        "timestamp": java_timestamp(timestamp) if timestamp is not None else None,
        "type": message_type,
        "userId": user_id,
        "appId": app_id,
        "clusterId": cluster_id,
        "bodySize": body_size,
    }


def _text_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    text = {}
    for name, value in headers.items():
        if isinstance(value, bytes):
            try:
                text[name] = value.decode()
            except UnicodeDecodeError:
                continue
        elif isinstance(value, str | int | float | bool | Decimal):
            text[name] = str(value)
    return text


def attempt_of(headers: Mapping[str, Any], *, redelivered: bool) -> int:
    """The delivery count: ``x-delivery-count`` + 1, else 2 if redelivered, else 1."""
    count = headers.get(DELIVERY_COUNT_HEADER)
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count + 1
    return 2 if redelivered else 1


def queue_key(queue: str, virtual_host: str) -> str:
    """Lambda's ``rmqMessagesByQueue`` key: ``queue::vhost``."""
    return f"{queue}::{virtual_host}"


def to_record(  # noqa: PLR0913 - a delivery has this many parts
    *,
    queue: str,
    virtual_host: str,
    delivery_tag: int,
    redelivered: bool,
    body: bytes,
    properties: Mapping[str, Any],
    headers: Mapping[str, Any],
    timestamp_ms: int,
) -> Record:
    """A ``Record`` from a delivery; ``properties`` from ``basic_properties``."""
    message_id = properties.get("messageId")
    return Record(
        id=message_id if isinstance(message_id, str) and message_id else f"delivery-{delivery_tag}",
        key=queue_key(queue, virtual_host),
        body=body,
        timestamp_ms=timestamp_ms,
        attempt=attempt_of(headers, redelivered=redelivered),
        attributes=_text_headers(headers),
        source_fields={
            "deliveryTag": delivery_tag,
            "redelivered": redelivered,
            "basicProperties": dict(properties),
        },
    )


def message_entry(record: Record) -> dict[str, Any]:
    """One message of the event's ``rmqMessagesByQueue`` lists."""
    return {
        "basicProperties": record.source_fields["basicProperties"],
        "redelivered": record.source_fields["redelivered"],
        "data": base64.b64encode(record.body).decode(),
    }


def filter_view(record: Record, context: EventContext) -> dict[str, Any]:  # noqa: ARG001
    """What filter patterns see: the event's message, ``data`` parsed (``{"data": {...}}``)."""
    return with_parsed(message_entry(record), "data", record.body)


def shape(records: Sequence[Record], context: EventContext) -> dict[str, object]:
    """Lambda's Amazon MQ (RabbitMQ) event for ``records``."""
    by_queue: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_queue.setdefault(record.key, []).append(message_entry(record))
    return {
        "eventSource": EVENT_SOURCE,
        "eventSourceArn": context.event_source_arn,
        "rmqMessagesByQueue": by_queue,
    }


def event_source_arn(region: str, namespace: str, virtual_host: str, queue: str) -> str:
    """Kappa's ARN for a RabbitMQ queue."""
    return f"arn:kappa:rabbitmq:{region}:{namespace}:queue/{virtual_host}/{queue}"
