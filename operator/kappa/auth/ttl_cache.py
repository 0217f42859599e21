"""A bounded memory of recent answers, each kept for a fixed time (pure: ``now`` is given).

Authentication and authorisation answers are kept a few seconds, so a hot caller costs
no API request, a revoked binding stops working within that time, and a flood of
distinct keys (random tokens) evicts the oldest instead of growing without bound.
"""

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """At most ``size`` entries, each valid for ``seconds`` after it was put."""

    def __init__(self, seconds: float, size: int) -> None:
        self._seconds = seconds
        self._size = size
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, now: float) -> V | None:
        """The value put for ``key`` less than ``seconds`` before ``now``, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if now >= expires:
            del self._entries[key]
            return None
        return value

    def known(self, key: K, now: float) -> bool:
        """Whether ``key`` was put within ``seconds`` before ``now`` (whatever its value)."""
        entry = self._entries.get(key)
        return entry is not None and now < entry[0]

    def put(self, key: K, value: V, now: float) -> None:
        """Keep ``value`` for ``key`` until ``now + seconds``; past ``size``, the oldest goes."""
        if self._seconds <= 0:
            return
        self._entries[key] = (now + self._seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
