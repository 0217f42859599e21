"""A bounded FIFO of invocations waiting for a slot of one function.

Never unbounded: at most ``max_waiters`` wait, each at most ``max_wait``
seconds; beyond either the caller gets 429 with ``Retry-After``. Slots are
handed out from the head, so a late arrival never overtakes an earlier one.
No clock here: callers pass ``now`` (monotonic seconds).
"""

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True, slots=True)
class QueueBounds:
    """How many may wait per function, and for how long (seconds)."""

    max_waiters: int = 100
    max_wait: float = 10.0


class WaitQueue(Generic[T]):
    """Waiters of one function in arrival order, with the time each arrived."""

    def __init__(self, bounds: QueueBounds) -> None:
        self.bounds = bounds
        self._waiting: OrderedDict[T, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, item: object) -> bool:
        return item in self._waiting

    def push(self, item: T, now: float) -> bool:
        """Queue ``item`` at the tail; False (not queued) when the queue is full."""
        if len(self._waiting) >= self.bounds.max_waiters:
            return False
        self._waiting[item] = now
        return True

    def head(self) -> T | None:
        """The longest-waiting item, left in place."""
        return next(iter(self._waiting), None)

    def pop(self) -> T | None:
        """Remove and return the longest-waiting item."""
        if not self._waiting:
            return None
        item, _ = self._waiting.popitem(last=False)
        return item

    def remove(self, item: T) -> bool:
        """Take ``item`` out wherever it is (it gave up or went away); False if absent."""
        return self._waiting.pop(item, None) is not None

    def deadline(self, item: T) -> float:
        """When ``item`` stops waiting."""
        return self._waiting[item] + self.bounds.max_wait

    def expired(self, now: float) -> list[T]:
        """Remove and return, oldest first, the items that waited ``max_wait`` or longer."""
        gone = []
        for item, since in list(self._waiting.items()):
            if now - since < self.bounds.max_wait:
                break  # arrival order = deadline order
            del self._waiting[item]
            gone.append(item)
        return gone
