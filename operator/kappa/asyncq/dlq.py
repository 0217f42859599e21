"""The dead-letter queue: list, inspect, redrive and delete dead-lettered events (shell).

Every event that failed for good (retries exhausted, too old, reserved
concurrency 0) is kept in the dead-letter stream under
``<prefix>.dlq.<namespace>.<function>``: the event alone, as a Lambda DLQ
message, with Lambda's attributes and Kappa's as headers. Entries are named by
their stream sequence number. Redrive queues the event again as a new
invocation (a new request id, derived from the entry so that redriving the
same entry twice queues it once) and then deletes the entry.
"""

import uuid
from dataclasses import dataclass
from typing import Any, Final

import nats
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from kappa.asyncq import envelope
from kappa.asyncq.envelope import Event
from kappa.asyncq.jetstream import Queue
from kappa.asyncq.publisher import publish_event
from kappa.asyncq.record import parse_payload, timestamp
from kappa.invocation.registry import Registry

MAX_PAGE: Final = 1000
_REDRIVE_IDS: Final = uuid.UUID("0f1e3a4c-6b7d-4e2f-8a9b-1c2d3e4f5a6b")


@dataclass(frozen=True, slots=True)
class DeadLettered:
    """One entry of the dead-letter queue."""

    sequence: int
    namespace: str
    function: str
    headers: dict[str, str]
    payload: bytes

    @property
    def request_id(self) -> str:
        """The request id of the event that failed."""
        return self.headers.get(envelope.DLQ_REQUEST_ID, "")

    def summary(self) -> dict[str, Any]:
        """The entry as JSON, without the payload."""
        h = self.headers
        return {
            "sequence": self.sequence,
            "function": self.function,
            "requestId": self.request_id,
            "condition": h.get(envelope.DLQ_CONDITION, ""),
            "errorCode": h.get(envelope.DLQ_ERROR_CODE, ""),
            "errorMessage": h.get(envelope.DLQ_ERROR_MESSAGE, ""),
            "approximateInvokeCount": _int(h.get(envelope.DLQ_INVOKE_COUNT)),
            "enqueuedAt": timestamp(_int(h.get(envelope.ENQUEUED_MS))),
            "deadLetteredAt": timestamp(_int(h.get(envelope.DLQ_DEAD_LETTERED_MS))),
            "redrivenFrom": h.get(envelope.REDRIVEN_FROM),
        }

    def detail(self) -> dict[str, Any]:
        """The entry as JSON, with the payload (parsed when it is JSON)."""
        return {**self.summary(), "payload": parse_payload(self.payload)}


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _entry(queue: Queue, raw: RawStreamMsg) -> DeadLettered | None:
    key = queue.names.function_of(raw.subject or "")
    if key is None or raw.seq is None:
        return None
    headers = {str(k): str(v) for k, v in (raw.headers or {}).items()}
    return DeadLettered(raw.seq, key[0], key[1], headers, raw.data or b"")


async def list_entries(
    queue: Queue, namespace: str, *, function: str | None = None, after: int = 0, limit: int = 100
) -> tuple[list[DeadLettered], int | None]:
    """Up to ``limit`` entries of ``namespace`` (one Function's) after sequence ``after``.

    Returns the entries and the marker of the next page (None: no more).
    """
    subject = queue.names.dlq_subject(namespace, function or "*")
    entries: list[DeadLettered] = []
    sequence = after
    while len(entries) < limit:
        try:
            raw = await queue.js.get_msg(
                queue.names.dlq_stream, seq=sequence + 1, subject=subject, next=True
            )
        except NotFoundError:
            return entries, None
        entry = _entry(queue, raw)
        if raw.seq is None:
            return entries, None
        sequence = raw.seq
        if entry is not None:
            entries.append(entry)
    return entries, sequence


async def get_entry(queue: Queue, namespace: str, sequence: int) -> DeadLettered | None:
    """The entry ``sequence`` if it belongs to ``namespace``."""
    try:
        raw = await queue.js.get_msg(queue.names.dlq_stream, seq=sequence)
    except NotFoundError:
        return None
    entry = _entry(queue, raw)
    if entry is None or entry.namespace != namespace:
        return None
    return entry


async def delete_entry(queue: Queue, entry: DeadLettered) -> None:
    """Remove ``entry`` from the dead-letter queue (gone already is fine)."""
    try:
        await queue.js.delete_msg(queue.names.dlq_stream, entry.sequence)
    except NotFoundError:
        pass
    except nats.js.errors.APIError as exc:
        if exc.err_code != 10037:  # noqa: PLR2004 - "no message found": deleted meanwhile
            raise


async def redrive(queue: Queue, registry: Registry, entry: DeadLettered, now_ms: int) -> str:
    """Queue ``entry``'s event again as a new invocation, then delete it; its new request id."""
    request_id = str(uuid.uuid5(_REDRIVE_IDS, f"{entry.sequence}:{entry.request_id}"))
    spec = registry.function((entry.namespace, entry.function))
    max_age = _int(entry.headers.get(envelope.MAX_EVENT_AGE)) or 21600
    if spec is not None:
        max_age = spec.async_config.maximum_event_age_seconds
    await publish_event(
        queue,
        Event(
            namespace=entry.namespace,
            name=entry.function,
            request_id=request_id,
            payload=entry.payload,
            enqueued_ms=now_ms,
            max_event_age_seconds=max_age,
            trace_id=entry.headers.get(envelope.TRACE_ID) or None,
            redriven_from=entry.request_id or None,
        ),
    )
    await delete_entry(queue, entry)
    return request_id
