"""The timer workers end when told to, even if a fetch loses the cancel meant for it.

Python 3.11's ``asyncio.wait_for`` (which nats-py's ``fetch`` waits in) can lose a
cancel that arrives as a message or its own timeout does: the fetch then returns or
times out as if nothing happened. The workers' fetch loops once ran until cancelled, so
such a loop fetched forever and ``run`` never returned (seen once in the integration
tier on a real nats-server, where the race cannot be played on demand). The fake
subscription here loses every cancel the same way; the rest is the real worker code.
"""

import asyncio
from typing import Any

import nats.errors

from kappa.durable.timers import TimerSettings, TimerWorkers

HANG_GUARD = 10.0


class CancelLosingSubscription:
    """A pull subscription whose ``fetch`` swallows a cancel and times out instead."""

    def __init__(self) -> None:
        self.fetches = 0
        self.fetching = asyncio.Event()
        self.cancels_lost = 0
        self.lose_cancels = True

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        assert batch > 0
        self.fetches += 1
        self.fetching.set()
        try:
            await asyncio.sleep(timeout)
        except asyncio.CancelledError:
            if not self.lose_cancels:
                raise
            self.cancels_lost += 1
        raise nats.errors.TimeoutError

    async def unsubscribe(self) -> None:
        return None


class OneNamespaceQueue:
    def __init__(self, subscription: CancelLosingSubscription) -> None:
        self.settings = TimerSettings(ack_wait_seconds=3.0)
        self.subscription = subscription

    async def namespaces(self) -> set[str]:
        return {"team-a"}

    async def subscribe(self, namespace: str) -> CancelLosingSubscription:
        assert namespace == "team-a"
        return self.subscription


async def never(message: object) -> None:
    raise AssertionError(f"nothing is due, yet {message!r} was handled")


def test_run_returns_after_stop_though_the_fetch_loses_its_cancel() -> None:
    async def scenario() -> tuple[bool, CancelLosingSubscription]:
        subscription = CancelLosingSubscription()
        queue: Any = OneNamespaceQueue(subscription)
        stop = asyncio.Event()
        run = asyncio.create_task(TimerWorkers(queue, never, lambda: 0).run(stop))
        await asyncio.wait_for(subscription.fetching.wait(), HANG_GUARD)
        stop.set()
        done, _ = await asyncio.wait({run}, timeout=HANG_GUARD)
        if not done:  # let the test fail rather than hang: cancels reach the fetch again
            subscription.lose_cancels = False
            run.cancel()
            await asyncio.wait({run})
        return bool(done), subscription

    returned, subscription = asyncio.run(scenario())
    assert returned, "run() did not return within 10 s of stop"
    assert subscription.cancels_lost == 1  # the loop was cancelled inside its fetch
    assert subscription.fetches == 1  # and fetched no more after it
