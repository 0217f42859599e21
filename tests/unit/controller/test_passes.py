"""When passes run: at most one per Function, a bounded number at once, no task between."""

import asyncio

import pytest

from kappa.controller.memory import Key
from kappa.controller.passes import Passes

A, B, C = ("ns", "a"), ("ns", "b"), ("ns", "c")


class Recorder:
    """A pass that records its key, then waits until released (or returns at once)."""

    def __init__(self, *, hold: bool = False, delay: float | None = None) -> None:
        self.ran: list[Key] = []
        self.hold = hold
        self.delay = delay
        self.release = asyncio.Event()
        self.cancelled: list[Key] = []

    async def __call__(self, key: Key) -> float | None:
        self.ran.append(key)
        if self.hold:
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled.append(key)
                raise
        return self.delay


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_a_wake_during_a_pass_runs_one_more_after_it() -> None:
    async def scenario() -> None:
        run = Recorder(hold=True)
        passes = Passes()
        passes.start(run)
        passes.wake(A)
        await settle()
        passes.wake(A)
        passes.wake(A)  # coalesced with the one before
        await settle()
        assert run.ran == [A]  # never two at once for one Function
        run.hold = False
        run.release.set()
        await settle()
        assert run.ran == [A, A]
        assert passes.running == 0

    asyncio.run(scenario())


def test_at_most_limit_passes_at_once_the_others_in_order_of_waking() -> None:
    async def scenario() -> None:
        run = Recorder(hold=True)
        passes = Passes(limit=2)
        passes.start(run)
        for key in (A, B, C):
            passes.wake(key)
        await settle()
        assert (run.ran, passes.running, passes.waiting) == ([A, B], 2, 1)
        run.release.set()
        await settle()
        assert run.ran == [A, B, C]
        assert (passes.running, passes.waiting) == (0, 0)

    asyncio.run(scenario())


def test_woken_before_start_waits_for_it() -> None:
    async def scenario() -> None:
        passes = Passes()
        passes.wake(A)
        assert passes.waiting == 1
        run = Recorder()
        passes.start(run)
        passes.start(Recorder())  # the first one set stays
        await settle()
        assert run.ran == [A]

    asyncio.run(scenario())


def test_the_next_pass_is_a_timer_that_a_wake_replaces() -> None:
    async def scenario() -> None:
        run = Recorder(delay=30.0)
        passes = Passes()
        passes.start(run)
        passes.wake(A)
        await settle()
        loop = asyncio.get_running_loop()
        due = passes.due(A)
        assert due is not None
        assert 29 < due - loop.time() <= 30
        assert passes.running == 0  # idle: a timer, no task
        passes.wake(A)  # now, not in 30 s
        await settle()
        assert run.ran == [A, A]
        run.delay = None  # no next pass asked
        passes.wake(A)
        await settle()
        assert passes.due(A) is None

    asyncio.run(scenario())


def test_forget_cancels_the_running_pass_and_drops_what_was_planned() -> None:
    async def scenario() -> None:
        run = Recorder(hold=True, delay=5.0)
        passes = Passes(limit=1)
        passes.start(run)
        passes.wake(A)
        passes.wake(B)  # queued behind A
        await settle()
        passes.wake(A)  # asked again while running
        passes.forget(A)
        passes.forget(B)
        await settle()
        assert run.cancelled == [A]
        assert run.ran == [A]  # neither A again nor B
        assert (passes.running, passes.waiting, passes.due(A)) == (0, 0, None)

    asyncio.run(scenario())


def test_a_pass_that_raises_keeps_the_schedule_going(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        calls: list[Key] = []

        async def failing(key: Key) -> float | None:
            calls.append(key)
            raise RuntimeError("boom")

        passes = Passes()
        passes.start(failing)
        passes.wake(A)
        await settle()
        passes.wake(A)
        await settle()
        assert calls == [A, A]
        assert passes.running == 0

    asyncio.run(scenario())
    assert "the pass of ns/a failed" in caplog.text


def test_a_wake_from_another_thread_is_handed_to_the_loop() -> None:
    async def scenario() -> None:
        run = Recorder()
        passes = Passes()
        passes.start(run)
        await asyncio.to_thread(passes.wake, A)  # as a plain kopf handler would
        await settle()
        assert run.ran == [A]

    asyncio.run(scenario())
