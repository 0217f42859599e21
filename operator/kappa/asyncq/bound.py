"""A namespace's bound on what it keeps queued: ``maxQueuedEvents``, ``maxQueuedBytes`` (pure).

The gateway reads the namespace's event stream (its messages, bytes and last
sequence), asks ``decide`` whether the event fits, and publishes it with
``Nats-Expected-Last-Sequence`` set to that last sequence: JetStream refuses the
publish (10071) when anything was stored in between, by any replica, and the
gateway reads and decides again. Acks only lower what is queued, so a decision
taken on a read is never too generous.

=====================================  =============================================
queued events, bytes; the event        decision
=====================================  =============================================
event alone > maxQueuedBytes           ``TOO_LARGE`` (413): it can never be queued
events >= maxQueuedEvents              ``THROTTLED`` (429), naming maxQueuedEvents
bytes + event > maxQueuedBytes         ``THROTTLED`` (429), naming maxQueuedBytes
otherwise (or no bound set)            None: publish it
=====================================  =============================================

Bytes are JetStream's count (a stream's ``state.bytes``): each message's subject,
headers and payload plus the file store's record overhead, so that what the
stream holds never passes the bound (``stored_size``).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

# The file store's record around a message (nats-server 2.9's fileStoreMsgSize): 22
# bytes of header and 8 of checksum, and 4 more for the headers' length when there are
# headers. JetStream's ``state.bytes`` adds this for each message.
RECORD_OVERHEAD: Final = 30
HEADERS_OVERHEAD: Final = 4
_HEADER_LINE: Final = len(b"NATS/1.0\r\n")
_CRLF: Final = 2


@dataclass(frozen=True, slots=True)
class QueueBound:
    """The bounds of a namespace's ConcurrencyQuotas (None: not bounded by that field)."""

    events: int | None = None
    bytes: int | None = None

    @property
    def unbounded(self) -> bool:
        """Whether neither field is set (nothing to read before a publish)."""
        return self.events is None and self.bytes is None


@dataclass(frozen=True, slots=True)
class Queued:
    """A namespace's event stream as read: what it holds and its last sequence."""

    events: int
    bytes: int
    last_sequence: int


class Verdict(StrEnum):
    """Why an event is refused."""

    THROTTLED = "throttled"  # 429: try again once events leave the queue
    TOO_LARGE = "too_large"  # 413: larger than the bytes bound itself, never fits


@dataclass(frozen=True, slots=True)
class Refusal:
    """An event refused: the verdict and the message the caller reads."""

    verdict: Verdict
    field: str  # maxQueuedEvents or maxQueuedBytes
    message: str


def decide(namespace: str, bound: QueueBound, queued: Queued, size: int) -> Refusal | None:
    """Whether an event of ``size`` bytes (``stored_size``) may join ``queued``; None: it may."""
    held = f"{queued.events} asynchronous invocations ({queued.bytes} bytes)"
    if bound.bytes is not None and size > bound.bytes:
        return Refusal(
            Verdict.TOO_LARGE,
            "maxQueuedBytes",
            f"The event takes {size} bytes in the queue, more than namespace {namespace}'s "
            f"ConcurrencyQuota's maxQueuedBytes ({bound.bytes}) allows in all: it can never "
            "be queued; send a smaller event or raise the bound.",
        )
    if bound.events is not None and queued.events >= bound.events:
        return Refusal(
            Verdict.THROTTLED,
            "maxQueuedEvents",
            f"Namespace {namespace} has {held} queued, its ConcurrencyQuota's "
            f"maxQueuedEvents ({bound.events}); this event takes {size} bytes: "
            "try again later.",
        )
    if bound.bytes is not None and queued.bytes + size > bound.bytes:
        return Refusal(
            Verdict.THROTTLED,
            "maxQueuedBytes",
            f"Namespace {namespace} has {held} queued; this event's {size} bytes would pass "
            f"its ConcurrencyQuota's maxQueuedBytes ({bound.bytes}): try again later.",
        )
    return None


def stored_size(subject: str, headers: Mapping[str, str], payload: bytes) -> int:
    """The bytes a message adds to a file-stored stream's ``state.bytes``.

    Headers as the NATS client writes them (``NATS/1.0``, ``Key: value`` lines, a blank
    line), keys and values stripped.
    """
    size = RECORD_OVERHEAD + len(subject.encode()) + len(payload)
    if headers:
        size += HEADERS_OVERHEAD + _HEADER_LINE + _CRLF
        size += sum(
            len(key.strip().encode()) + len(value.strip().encode()) + len(b": ") + _CRLF
            for key, value in headers.items()
        )
    return size


def chain(
    namespace: str,
    bound: QueueBound,
    queued: Queued,
    sizes: Sequence[Callable[[int, int | None], int]],
) -> list[Refusal | int]:
    """Decide events in a row against one read: each one's expected last sequence, or why not.

    ``sizes[i](sequence, previous)`` is event i's ``stored_size`` published expecting
    ``sequence`` after the event ``previous`` of the row (the last one admitted before
    it; None: the first). Each event admitted counts for those after it (its bytes, one
    event, one sequence more): published in this order, each expecting its sequence and
    the previous one's message id, they are stored only as decided (an event refused by
    JetStream leaves every later one refused too).
    """
    decided: list[Refusal | int] = []
    events, held, sequence = queued.events, queued.bytes, queued.last_sequence
    previous: int | None = None
    for index, size_at in enumerate(sizes):
        size = size_at(sequence, previous)
        refusal = decide(namespace, bound, Queued(events, held, sequence), size)
        if refusal is not None:
            decided.append(refusal)
            continue
        decided.append(sequence)
        events, held, sequence, previous = events + 1, held + size, sequence + 1, index
    return decided
