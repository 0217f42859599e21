"""The runner keeps a timer NATS refused and stores it once NATS is back (a real nats-server).

A transition's timers are armed after it is committed, so failing the caller when NATS
is away would not bring them back: the runner keeps them (bounded) and tries again every
second. Here nats-server is stopped, a wake is armed (and kept), nats-server starts again
on the same port with its store, and the wake arrives on the timer stream.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import pytest
from prometheus_client import CollectorRegistry

from kappa.durable import timer_message
from kappa.durable.decider import Timer, Wake
from kappa.durable.execution import TimerKind
from kappa.durable.metrics import DurableMetrics
from kappa.durable.runner import DurableRunner
from kappa.durable.service import DurableService
from kappa.durable.settings import DurableSettings
from kappa.durable.store import DurableStore, ExecutionKey
from kappa.durable.timers import TimerQueue, TimerSettings
from kappa.durable.tokens import DurableKeys
from kappa.invocation.registry import StaticRegistry
from tests.integration import nats_harness
from tests.integration.brokers import NatsServer

pytestmark = pytest.mark.integration

nats_server = nats_harness.nats_server  # a nats-server of each test's own

HANG_GUARD = 30.0
KEY = ExecutionKey("team-a", "orders", "order-1")


async def wakes_in(js: Any) -> int:
    info = await js.stream_info(timer_message.stream("kappa"))
    return int(info.state.messages)


def test_a_wake_armed_while_nats_is_away_is_stored_once_it_is_back(
    nats_server: NatsServer,
) -> None:
    async def scenario() -> None:
        nc = await nats.connect(
            nats_server.url, allow_reconnect=True, max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
        )  # fmt: skip
        js = nc.jetstream(timeout=1.0)
        store = DurableStore(js, DurableSettings())
        await store.setup()
        queue = TimerQueue(js, TimerSettings(ack_wait_seconds=2.0))
        await queue.setup()
        service = DurableService(None, DurableKeys(b"k" * 32), region="us-east-1")
        service.attach(store, queue)
        metrics = CollectorRegistry()
        runner = DurableRunner(service, StaticRegistry(), DurableMetrics(metrics))

        nats_server.stop()
        async with asyncio.timeout(HANG_GUARD):
            await runner.act(KEY, [Wake()])  # NATS away: kept, not raised
        armed = metrics.get_sample_value("kappa_durable_timers_armed_total", {"kind": "wake"})
        assert armed == 0

        nats_server.start()

        def stored() -> float:
            sample = metrics.get_sample_value("kappa_durable_timers_armed_total", {"kind": "wake"})
            return sample or 0.0

        async with asyncio.timeout(HANG_GUARD):
            while stored() < 1:
                await asyncio.sleep(0.2)
        # Once: the client's own reconnect buffer may have sent the first try too, and the
        # message id makes JetStream keep one of them.
        assert await _count(js) == 1
        await nc.close()

    asyncio.run(scenario())


async def _count(js: Any) -> int:
    try:
        return await wakes_in(js)
    except (nats.errors.Error, TimeoutError):
        return 0


def test_an_ended_execution_is_purged_when_its_expire_timer_fires(
    nats_server: NatsServer,
) -> None:
    """Retention honoured: the end arms ``expire`` (retention days ahead; here fired at
    once, as a worker would when it is due), and firing it removes the log and the keys."""

    async def scenario() -> None:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream(timeout=2.0)
        store = DurableStore(js, DurableSettings())
        await store.setup()
        queue = TimerQueue(js, TimerSettings(ack_wait_seconds=2.0))
        await queue.setup()
        service = DurableService(None, DurableKeys(b"k" * 32), region="us-east-1")
        service.attach(store, queue)
        DurableRunner(service, StaticRegistry(), DurableMetrics(CollectorRegistry()))
        started = await service.start(
            namespace=KEY.namespace, function=KEY.function, version="$LATEST",
            name=KEY.name, payload="{}", timeout_seconds=3600, retention_days=1,
        )  # fmt: skip
        stopped_at = await service.stop(started.arn, None)
        loaded = await store.load(KEY)
        assert loaded is not None
        expire = loaded.state.timers["expire/"]
        due = stopped_at + 86_400_000
        # The stop armed it, a day ahead, on the timer stream (beside the start's timeout
        # and wake).
        assert await _count(js) == 3
        timer = Timer(TimerKind.EXPIRE, None, due, expire)
        await service.fire(KEY, timer)
        assert await service.identity(KEY) is None
        assert await store.load(KEY) is None
        await nc.close()

    asyncio.run(scenario())
