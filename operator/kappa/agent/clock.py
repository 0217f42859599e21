"""The agent's clocks, behind a small interface so the pure parts never read time."""

import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds for durations and timers; wall-clock epoch ms for deadlines."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    def wall_ms(self) -> int:
        """Milliseconds since the Unix epoch, as runtimes expect deadlines."""
        ...


class SystemClock:
    """The process's real clocks."""

    def monotonic(self) -> float:
        """Seconds from :func:`time.monotonic`."""
        return time.monotonic()

    def wall_ms(self) -> int:
        """Milliseconds from :func:`time.time_ns`."""
        return time.time_ns() // 1_000_000
