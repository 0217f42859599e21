"""The durable timer on a real nats-server (docs/internals/durable.md, "The durable timer").

Timers fire on time and never early, once; a second arming of the same timer is stored
once; a timer in the hand of a worker that dies comes back to another one after
``ack_wait``; armed timers outlive a nats-server restart; a message Kappa did not write
is dropped and the workers keep serving; each namespace gets its own consumer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest

from kappa.durable import timer_message
from kappa.durable.decider import Timer
from kappa.durable.execution import TimerKind
from kappa.durable.timer_message import TimerMessage
from kappa.durable.timers import TimerQueue, TimerSettings, TimerWorkers
from tests.integration import nats_harness
from tests.integration.brokers import NatsServer

pytestmark = pytest.mark.integration

nats_server = nats_harness.nats_server  # a nats-server of each test's own

HANG_GUARD = 30.0
SETTINGS = TimerSettings(prefix="kappa", ack_wait_seconds=2.0)


def now_ms() -> int:
    return int(time.time() * 1000)


def wait_timer(namespace: str, execution: str, due_ms: int, generation: int = 1) -> TimerMessage:
    timer = Timer(TimerKind.WAIT, "op-1", due_ms, generation)
    return TimerMessage(namespace, "orders", execution, due_ms, timer=timer)


async def connected(server: NatsServer) -> Any:
    return await nats.connect(
        server.url, allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.2
    )


class Fired:
    """What a worker's ``handle`` was given, with when."""

    def __init__(self) -> None:
        self.seen: list[tuple[TimerMessage, int]] = []
        self.changed = asyncio.Event()

    async def __call__(self, message: TimerMessage) -> None:
        self.seen.append((message, now_ms()))
        self.changed.set()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(HANG_GUARD):
            while len(self.seen) < count:
                self.changed.clear()
                await self.changed.wait()


async def with_workers(
    queue: TimerQueue, handle: Callable[[TimerMessage], Awaitable[None]], body: Awaitable[None]
) -> None:
    stop = asyncio.Event()
    workers = asyncio.create_task(TimerWorkers(queue, handle, now_ms).run(stop))
    try:
        await body
    finally:
        stop.set()
        await workers


async def messages_in(js: Any) -> int:
    return int((await js.stream_info(timer_message.stream("kappa"))).state.messages)


def test_a_timer_fires_at_its_time_never_early_and_once(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc = await connected(nats_server)
        queue = TimerQueue(nc.jetstream(), SETTINGS)
        await queue.setup()
        fired = Fired()
        due = now_ms() + 1500
        message = wait_timer("team-a", "exec-1", due)
        await queue.arm(message)
        await queue.arm(message)  # armed again (a publish sent twice): stored once
        assert await messages_in(nc.jetstream()) == 1

        async def body() -> None:
            await fired.until(1)
            await asyncio.sleep(SETTINGS.ack_wait_seconds * 2)  # a second delivery would come

        await with_workers(queue, fired, body())
        assert [m for m, _ in fired.seen] == [message]
        assert fired.seen[0][1] >= due
        assert await messages_in(nc.jetstream()) == 0  # acked: gone from the work queue
        await nc.close()

    asyncio.run(scenario())


def test_a_timer_in_the_hand_of_a_dead_worker_comes_back_to_another(
    nats_server: NatsServer,
) -> None:
    async def scenario() -> None:
        nc = await connected(nats_server)
        queue = TimerQueue(nc.jetstream(), SETTINGS)
        await queue.setup()
        taken = asyncio.Event()

        async def dies(message: TimerMessage) -> None:
            taken.set()
            await asyncio.Event().wait()  # never returns: the process dies holding it

        first = asyncio.create_task(TimerWorkers(queue, dies, now_ms).run(asyncio.Event()))
        await queue.arm(wait_timer("team-a", "exec-1", now_ms()))
        async with asyncio.timeout(HANG_GUARD):
            await taken.wait()
        first.cancel()  # no ack, no nak: as a SIGKILL leaves it
        await asyncio.gather(first, return_exceptions=True)

        other = await connected(nats_server)  # another replica, its own connection
        fired = Fired()
        await with_workers(TimerQueue(other.jetstream(), SETTINGS), fired, fired.until(1))
        assert fired.seen[0][0].execution == "exec-1"
        await other.close()
        await nc.close()

    asyncio.run(scenario())


def test_armed_timers_outlive_a_nats_server_restart(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc = await connected(nats_server)
        queue = TimerQueue(nc.jetstream(), SETTINGS)
        await queue.setup()
        due = now_ms() + 2000
        await queue.arm(wait_timer("team-a", "exec-1", due))
        await queue.arm(wait_timer("team-b", "exec-2", due))
        await nc.close()
        nats_server.restart()

        again = await connected(nats_server)
        fired = Fired()
        await with_workers(TimerQueue(again.jetstream(), SETTINGS), fired, fired.until(2))
        assert sorted(m.execution for m, _ in fired.seen) == ["exec-1", "exec-2"]
        assert all(at >= due for _, at in fired.seen)
        consumers = {c.name for c in await again.jetstream().consumers_info("kappa-durable-timers")}
        assert consumers == {"durable-ns-team-a", "durable-ns-team-b"}
        await again.close()

    asyncio.run(scenario())


def test_a_message_kappa_did_not_write_is_dropped_and_the_workers_go_on(
    nats_server: NatsServer,
) -> None:
    async def scenario() -> None:
        nc = await connected(nats_server)
        js = nc.jetstream()
        queue = TimerQueue(js, SETTINGS)
        await queue.setup()
        await js.publish("kappa.durable.timer.team-a.orders", b'{"exec": "../x", "due": 1}')
        await js.publish("kappa.durable.timer.team-a.orders", b"\xff" * 4096)
        fired = Fired()
        good = wait_timer("team-a", "exec-1", now_ms())
        await queue.arm(good)
        await with_workers(queue, fired, fired.until(1))
        assert [m for m, _ in fired.seen] == [good]
        async with asyncio.timeout(HANG_GUARD):
            while await messages_in(js):  # the two dropped for good (term), the good one acked
                await asyncio.sleep(0.1)
        await nc.close()

    asyncio.run(scenario())


def test_a_timer_whose_handling_fails_is_offered_again(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc = await connected(nats_server)
        queue = TimerQueue(nc.jetstream(), SETTINGS)
        await queue.setup()
        fired = Fired()

        async def fails_once(message: TimerMessage) -> None:
            await fired(message)
            if len(fired.seen) == 1:
                raise RuntimeError("the store was away")

        await queue.arm(wait_timer("team-a", "exec-1", now_ms()))
        await with_workers(queue, fails_once, fired.until(2))
        assert [m.execution for m, _ in fired.seen] == ["exec-1", "exec-1"]
        await nc.close()

    asyncio.run(scenario())
