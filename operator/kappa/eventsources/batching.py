"""When a batch is ready, and how records are split to fit one invocation's payload.

Lambda invokes when the first of these happens: the batch holds ``batchSize``
records, the batching window (``maximumBatchingWindowSeconds``, counted from
the first record in hand) has passed, or the payload would pass 6 MB. With
a window of 0, whatever one fetch returned is a batch.

Pure: no I/O, no clock (``now`` is an argument).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from kappa.eventsources.source import Record

PAYLOAD_LIMIT_BYTES: Final = 6 * 1024 * 1024
"""Lambda's synchronous invocation payload limit."""
RECORD_OVERHEAD_BYTES: Final = 1024
"""Room for a record's envelope in the event (ids, attributes, ARNs)."""
LONG_POLL_SECONDS: Final = 20.0
"""Longest single wait for a first record (SQS's long-poll maximum)."""


def encoded_size(record: Record) -> int:
    """A bound on the bytes ``record`` adds to the event (base64 of the body + envelope)."""
    return (record.size + 2) // 3 * 4 + RECORD_OVERHEAD_BYTES


@dataclass(frozen=True)
class BatchPolicy:
    """``batchSize`` and the batching window."""

    batch_size: int
    window_seconds: float = 0.0
    payload_limit: int = PAYLOAD_LIMIT_BYTES

    def ready(self, records: Sequence[Record], started: float | None, now: float) -> bool:
        """Whether ``records``, the first of which arrived at ``started``, make a batch now."""
        if not records:
            return False
        if len(records) >= self.batch_size or self.window_seconds <= 0 or started is None:
            return True
        if sum(encoded_size(r) for r in records) >= self.payload_limit:
            return True
        return now - started >= self.window_seconds

    def wait_seconds(self, started: float | None, now: float) -> float:
        """How long the next fetch may wait: the window's rest, or a long poll for a first."""
        if started is None:
            return LONG_POLL_SECONDS
        return max(0.0, min(LONG_POLL_SECONDS, started + self.window_seconds - now))


def split(
    records: Sequence[Record], payload_limit: int = PAYLOAD_LIMIT_BYTES
) -> list[list[Record]]:
    """``records`` in order, cut into batches whose estimated payloads fit ``payload_limit``.

    A record too large on its own is still a batch of one (the gateway then
    answers 413 and the record goes to the failure destination).
    """
    batches: list[list[Record]] = []
    current: list[Record] = []
    size = 0
    for record in records:
        record_size = encoded_size(record)
        if current and size + record_size > payload_limit:
            batches.append(current)
            current, size = [], 0
        current.append(record)
        size += record_size
    if current:
        batches.append(current)
    return batches
