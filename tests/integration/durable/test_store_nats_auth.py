"""The durable store and timers as the chart's NATS user ``gateway``: everything they do is
allowed, and nothing more of what is new to it (the purge of the durable log alone).

The server runs the ``authorization`` block ``helm template`` renders for the chart
(nats_harness.chart_authorization), as tests/integration/asyncq/test_nats_auth.py does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest

from kappa.durable.decider import Timer
from kappa.durable.execution import TimerKind
from kappa.durable.settings import DurableSettings
from kappa.durable.store import SNAPSHOT_EVERY, Committed, Created, DurableStore, ExecutionKey
from kappa.durable.timer_message import TimerMessage
from kappa.durable.timers import TimerQueue, TimerSettings, TimerWorkers
from tests.integration.brokers import NatsServer, start_nats
from tests.integration.durable.conftest import KEY, claim, identity, started, step_succeeds
from tests.integration.nats_harness import chart_authorization

pytestmark = pytest.mark.integration

PASSWORD = "gateway-password-of-the-test"  # noqa: S105 - the test's own server
GATEWAY = {"user": "gateway", "password": PASSWORD}
HANG_GUARD = 60.0


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """nats-server with the chart's users."""
    authorization = chart_authorization()
    server = start_nats(tmp_path / "nats", authorization, {"KAPPA_NATS_GATEWAY_PASSWORD": PASSWORD})
    try:
        yield server
    finally:
        server.stop()


def test_the_gateway_user_runs_the_whole_store(secured_nats: NatsServer) -> None:
    errors: list[Exception] = []

    async def collect(error: Exception) -> None:
        errors.append(error)

    async def scenario() -> None:
        nc = await nats.connect(secured_nats.url, error_cb=collect, **GATEWAY)
        store = DurableStore(nc.jetstream(timeout=2), DurableSettings())
        await store.setup()
        await store.setup()  # again, as after a reconnect
        assert isinstance(await store.create(KEY, identity(), started()), Created)
        assert isinstance(await store.transition(KEY, claim()), Committed)
        for i in range(SNAPSHOT_EVERY):  # a snapshot is written on the way
            assert isinstance(await store.transition(KEY, step_succeeds(f"s{i}")), Committed)
        fresh = DurableStore(nc.jetstream(timeout=2), DurableSettings())
        await fresh.setup()
        loaded = await fresh.load(KEY)
        assert loaded is not None
        assert len(loaded.state.operations) == 1 + SNAPSHOT_EVERY
        assert [s.arn for s in await fresh.summaries("team", "orders")] == [identity().arn]
        assert len(await fresh.entries(KEY, limit=10)) == 10
        await fresh.purge(KEY)
        assert await fresh.load(KEY) is None

        other = ExecutionKey("team", "orders", "kept")
        await store.create(other, identity(other), started(other))
        js = nc.jetstream(timeout=2)
        for attempt in (
            js.purge_stream("KV_kappa-durable-executions"),
            js.purge_stream("KV_kappa-durable-snapshots"),
            js.delete_stream("kappa-durable-log"),
            js.delete_stream("KV_kappa-durable-executions"),
        ):
            with pytest.raises(nats.errors.TimeoutError):  # the server drops the request
                await attempt
        await nc.close()

    async def guarded() -> None:
        async with asyncio.timeout(HANG_GUARD):
            await scenario()

    asyncio.run(guarded())
    refused = [str(error) for error in errors]
    for subject in ("$js.api.stream.purge.kv_kappa-durable-executions",
                    "$js.api.stream.purge.kv_kappa-durable-snapshots",
                    "$js.api.stream.delete.kappa-durable-log",
                    "$js.api.stream.delete.kv_kappa-durable-executions"):  # fmt: skip
        assert any(
            "permissions violation" in e.lower() and subject in e.lower() for e in refused
        ), subject
    # Nothing else was refused: the store's own calls all passed.
    assert len([e for e in refused if "permissions violation" in e.lower()]) == 4


def test_the_gateway_user_arms_and_fires_timers(secured_nats: NatsServer) -> None:
    """The timer stream, its namespace consumers, arming, nak and ack: all allowed."""

    async def scenario() -> None:
        nc = await nats.connect(secured_nats.url, **GATEWAY)
        queue = TimerQueue(nc.jetstream(timeout=2), TimerSettings(ack_wait_seconds=2.0))
        await queue.setup()
        await queue.setup()  # again, as after a reconnect
        fired: list[TimerMessage] = []
        done = asyncio.Event()

        async def handle(message: TimerMessage) -> None:
            fired.append(message)
            done.set()

        due = int(time.time() * 1000) + 500  # fetched early once: nak'ed with a delay
        timer = Timer(TimerKind.WAIT, "op-1", due, 1)
        await queue.arm(TimerMessage("team", "orders", "exec-1", due, timer=timer))
        stop = asyncio.Event()
        workers = asyncio.create_task(
            TimerWorkers(queue, handle, lambda: int(time.time() * 1000)).run(stop)
        )
        async with asyncio.timeout(HANG_GUARD):
            await done.wait()
        stop.set()
        await workers
        assert [m.execution for m in fired] == ["exec-1"]
        with pytest.raises(nats.errors.TimeoutError):  # the server drops the request
            await nc.jetstream(timeout=2).purge_stream("kappa-durable-timers")
        await nc.close()

    asyncio.run(scenario())
