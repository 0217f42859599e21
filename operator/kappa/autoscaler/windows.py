"""Sliding averages of a function's concurrency: the stable (60 s) and panic (6 s) windows.

As Knative's KPA: the stable window smooths scale-down (a pod goes only when a
minute of traffic no longer needs it), the panic window, a tenth as long,
notices a burst within seconds. Samples fall into one-second buckets (several
samples in one second are averaged); a second without a sample counts as zero
concurrency, but seconds before the first sample do not count, so a function
seen for the first time is not diluted by a minute it was not watched.

Pure: callers pass the time (seconds, any epoch). O(1) per sample and per read:
running sums, old buckets dropped as time moves on.
"""

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Final

STABLE_SECONDS: Final = 60.0
PANIC_SECONDS: Final = 6.0


@dataclass
class _Bucket:
    second: int
    total: float = 0.0
    count: int = 0

    @property
    def value(self) -> float:
        return self.total / self.count if self.count else 0.0


@dataclass
class Window:
    """The average of one-second buckets over the last ``seconds``."""

    seconds: float
    _buckets: deque[_Bucket] = field(default_factory=deque)
    _sum: float = 0.0  # of the bucket values held
    _first: int | None = None  # the second of the first sample ever

    def add(self, now: float, value: float) -> None:
        """Record a sample of ``value`` at ``now``."""
        second = math.floor(now)
        if self._first is None:
            self._first = second
        last = self._buckets[-1] if self._buckets else None
        if last is not None and last.second == second:
            self._sum -= last.value
            last.total += value
            last.count += 1
            self._sum += last.value
        elif last is None or second > last.second:
            self._buckets.append(_Bucket(second, value, 1))
            self._sum += value
        # A sample older than the newest bucket (a clock step back) is dropped.
        self._expire(second)

    def average(self, now: float) -> float:
        """The mean over the window ending at ``now`` (0 before any sample)."""
        if self._first is None:
            return 0.0
        second = math.floor(now)
        self._expire(second)
        span = min(math.ceil(self.seconds), second - self._first + 1)
        return max(0.0, self._sum / span) if span > 0 else 0.0

    @property
    def empty(self) -> bool:
        """Whether no bucket with concurrency is held (all zeros or none)."""
        return self._sum <= 0.0

    def _expire(self, second: int) -> None:
        oldest = second - math.ceil(self.seconds) + 1
        while self._buckets and self._buckets[0].second < oldest:
            self._sum -= self._buckets.popleft().value
        if not self._buckets:
            self._sum = 0.0  # no drift from float sums once everything is gone


@dataclass
class Windows:
    """The stable and panic windows of one function."""

    stable: Window = field(default_factory=lambda: Window(STABLE_SECONDS))
    panic: Window = field(default_factory=lambda: Window(PANIC_SECONDS))

    def add(self, now: float, value: float) -> None:
        """Record a concurrency sample in both windows."""
        self.stable.add(now, value)
        self.panic.add(now, value)

    def averages(self, now: float) -> tuple[float, float]:
        """(stable, panic) averages at ``now``."""
        return self.stable.average(now), self.panic.average(now)
