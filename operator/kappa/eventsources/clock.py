"""The runner's clock: ``kappa.base.clock``'s clocks, and a sleep.

The runner waits (backoff, batching windows) through the clock it is given,
so tests drive time with a fake; production hands it :class:`SystemClock`.
"""

import asyncio
from typing import Protocol

from kappa.base import clock as base_clock


class Clock(base_clock.Clock, Protocol):
    """Time, injected: monotonic seconds for waits, epoch ms for record ages, and sleeps."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock(base_clock.SystemClock):
    """The process's real clocks, and asyncio's sleep."""

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)
