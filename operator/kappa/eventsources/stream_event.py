"""Kappa's event of one stream's records (the NATS and Redis Streams sources). Pure.

Lambda has no such sources; their events follow Lambda's Kinesis and Kafka
ones: who sent it, the ARN, the fields the batch shares (the stream and the
consumer or group), then one entry per record in stream order.
"""

from collections.abc import Callable, Sequence
from typing import Any

from kappa.eventsources.source import EventContext, Record


def stream_event(
    event_source: str,
    records: Sequence[Record],
    context: EventContext,
    *,
    shared: Sequence[str],
    entry: Callable[[Record], dict[str, Any]],
) -> dict[str, object]:
    """The event of ``records``, in order: who sent it, its ARN, the ``shared`` fields.

    ``shared`` names source fields of the first record (the batch's stream and its
    consumer or group); ``records`` holds ``entry`` of each record.
    """
    first = records[0].source_fields
    return {
        "eventSource": event_source,
        "eventSourceArn": context.event_source_arn,
        **{name: first[name] for name in shared},
        "records": [entry(r) for r in records],
    }
