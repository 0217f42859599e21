"""Clocks, behind a small interface so that pure code takes time as an argument.

Shells hold a :class:`Clock` (``SystemClock()`` in production, a fake in tests)
and pass ``now`` down; deciders and planners never read time themselves.
"""

import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds for durations and timers; wall-clock epoch ms for deadlines."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    def wall_ms(self) -> int:
        """Milliseconds since the Unix epoch (deadlines, records, Lambda's timestamps)."""
        ...


class SystemClock:
    """The process's real clocks."""

    def monotonic(self) -> float:
        """Seconds from :func:`time.monotonic`."""
        return time.monotonic()

    def wall_ms(self) -> int:
        """Milliseconds from :func:`time.time_ns`."""
        return time.time_ns() // 1_000_000


def epoch_ms() -> int:
    """Milliseconds since the Unix epoch, now (for shells that hold no Clock)."""
    return time.time_ns() // 1_000_000
