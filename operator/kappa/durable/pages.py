"""Operations sent in pages, and the markers that continue them (pure).

An execution's operations reach the SDK in two ways: the invocation event's
``InitialExecutionState`` (its first page, within a bytes budget, 5 MiB by default so the
event stays under the invocation payload limit) and ``GetDurableExecutionState`` (pages of
``MaxItems``, 1 to 1000, 0 or absent meaning 1000, within a bytes bound), each page ending
with a ``NextMarker`` while operations are left. Concatenated, the pages are the whole
list, whatever the bounds.

A page counts the compact JSON of each operation plus one byte of separator; it always
holds at least one operation, even one alone over the budget, so paging ends.

A marker pins the execution's log sequence the first page was read at, and the offset of
the next operation: the service reads the later pages from the state at that sequence,
so a checkpoint taken between two pages does not shift them. It is the URL-safe base64
of ``1:<sequence>:<offset>:<check>``, where ``<check>`` is a digest of the execution ARN,
the sequence and the offset: a marker of another execution, an edited one or junk is
refused. The digest is not keyed: the state routes already require the execution's
checkpoint token, so a forged marker reaches no more than that token does.
"""

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from kappa.durable.model import Operation, Timestamps

EVENT_BUDGET_BYTES: Final = 5 * 1024 * 1024
"""Bytes of operations in an invocation event's first page, by default."""
STATE_PAGE_BYTES: Final = 5 * 1024 * 1024
"""Bytes of operations in one GetDurableExecutionState answer, by default."""
MAX_ITEMS: Final = 1000
"""The model's bound of ``MaxItems``, and its value when 0 or absent."""
MARKER_MAX_LENGTH: Final = 128
"""Characters of a marker; a longer one is refused before it is decoded."""

_SEQUENCE_MAX: Final = 2**63 - 1
_OFFSET_MAX: Final = 10**9
_MARKER_TEXT: Final = re.compile(r"1:(0|[1-9][0-9]{0,18}):(0|[1-9][0-9]{0,9}):([0-9a-f]{16})")
_MARKER_CHARS: Final = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class PagePosition:
    """Where a page starts: the log sequence its state is read at, and an offset in it."""

    sequence: int
    offset: int


@dataclass(frozen=True, slots=True)
class PageRefused:
    """A marker or ``MaxItems`` the service refuses (``InvalidParameterValueException``)."""

    field: str
    problem: str

    @property
    def message(self) -> str:
        """The error's message, naming the field."""
        return f"{self.field} {self.problem}"


@dataclass(frozen=True, slots=True)
class Page:
    """Operations to send, and the marker of the rest (None: nothing left)."""

    operations: tuple[Operation, ...]
    next_marker: str | None


def _check(arn: str, sequence: int, offset: int) -> str:
    return hashlib.blake2b(f"{arn}\n{sequence}\n{offset}".encode(), digest_size=8).hexdigest()


def marker(arn: str, position: PagePosition) -> str:
    """The marker of ``position`` in the execution ``arn``."""
    sequence, offset = position.sequence, position.offset
    if not 0 <= sequence <= _SEQUENCE_MAX or not 0 <= offset <= _OFFSET_MAX:
        raise ValueError(f"no marker for {position}")
    text = f"1:{sequence}:{offset}:{_check(arn, sequence, offset)}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_marker(arn: str, value: str) -> PagePosition | PageRefused:
    """The position a marker of the execution ``arn`` names, or why it is refused.

    Only the exact text :func:`marker` writes is read: any other spelling is refused.
    """
    refused = PageRefused("Marker", "is not a marker of this execution's state")
    if not 0 < len(value) <= MARKER_MAX_LENGTH or not _MARKER_CHARS.fullmatch(value):
        return refused
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return refused
    found = _MARKER_TEXT.fullmatch(text)
    if found is None:
        return refused
    position = PagePosition(int(found[1]), int(found[2]))
    if position.sequence > _SEQUENCE_MAX or position.offset > _OFFSET_MAX:
        return refused
    if marker(arn, position) != value:
        return refused
    return position


def operation_bytes(operation: Operation, unit: Timestamps) -> int:
    """What one operation counts against a page's bytes: its compact JSON and a separator."""
    wire = json.dumps(operation.to_wire(unit), separators=(",", ":"), ensure_ascii=False)
    return len(wire.encode()) + 1


def max_items(value: int | None) -> int | PageRefused:
    """``MaxItems`` as a count: 0 or absent is the maximum, 1000; outside 0 to 1000 refused."""
    if value is None or value == 0:
        return MAX_ITEMS
    if not 0 < value <= MAX_ITEMS:
        return PageRefused("MaxItems", f"must be between 0 and {MAX_ITEMS}, not {value}")
    return value


@dataclass(frozen=True, slots=True)
class PageBounds:
    """How much one page holds: operations, their bytes, and the timestamps' unit."""

    items: int
    max_bytes: int
    unit: Timestamps

    def __post_init__(self) -> None:
        if self.items < 1 or self.max_bytes < 1:
            raise ValueError(f"a page holds at least one operation, not {self}")


def take_page(
    operations: Sequence[Operation], arn: str, position: PagePosition, bounds: PageBounds
) -> Page | PageRefused:
    """The page of ``operations`` (the state at ``position.sequence``) from its offset."""
    if position.offset > len(operations):
        return PageRefused("Marker", "is beyond this execution's state")
    return _page(operations, arn, position, bounds)


def event_page(
    operations: Sequence[Operation],
    arn: str,
    sequence: int,
    budget: int = EVENT_BUDGET_BYTES,
) -> Page:
    """The invocation event's first page (timestamps in milliseconds, as the event has)."""
    bounds = PageBounds(len(operations) + 1, budget, Timestamps.MILLISECONDS)
    return _page(operations, arn, PagePosition(sequence, 0), bounds)


def _page(
    operations: Sequence[Operation], arn: str, position: PagePosition, bounds: PageBounds
) -> Page:
    start = end = position.offset
    used = 0
    while end < len(operations) and end - start < bounds.items:
        size = operation_bytes(operations[end], bounds.unit)
        if end > start and used + size > bounds.max_bytes:
            break
        used += size
        end += 1
    rest = None
    if end < len(operations):
        rest = marker(arn, PagePosition(position.sequence, end))
    return Page(tuple(operations[start:end]), rest)
