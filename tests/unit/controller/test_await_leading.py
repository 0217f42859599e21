"""Waiting for the Lease while serving the webhook (``main._await_leading``): the standby's
kopf is stopped before the replica leads, and a standby whose kopf stopped on a signal
ends without leading. kopf and the Lease are faked here (the real ones are exercised by
e2e/test_operator_failover.py): only the order of things is checked."""

import asyncio
from typing import Any

import pytest

from kappa.controller import main
from kappa.controller.main import _await_leading
from kappa.controller.state import State
from kappa.settings import Settings


class Lease:
    def __init__(self) -> None:
        self.won = asyncio.Event()
        self.cancelled = False

    async def acquire(self) -> None:
        try:
            await self.won.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def state(**settings: Any) -> State:
    return State(objects=None, settings=Settings(**settings))  # type: ignore[arg-type]


def test_the_standby_stops_serving_before_the_replica_leads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []

    async def stand_by(_: State, stop: asyncio.Event) -> None:
        order.append("serving")
        await stop.wait()
        order.append("stopped")

    monkeypatch.setattr(main, "_stand_by", stand_by)

    async def run() -> bool:
        lease = Lease()
        waiting = asyncio.create_task(
            _await_leading(lease, state(webhook_service="kappa-operator-webhook"))  # type: ignore[arg-type]
        )
        await asyncio.sleep(0.01)
        assert order == ["serving"]
        lease.won.set()
        leads = await asyncio.wait_for(waiting, 5)
        order.append("leading")
        return leads

    assert asyncio.run(run()) is True
    assert order == ["serving", "stopped", "leading"]


def test_a_standby_stopped_by_a_signal_ends_without_leading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def stand_by(_: State, __: asyncio.Event) -> None:
        return  # kopf returned: SIGTERM

    monkeypatch.setattr(main, "_stand_by", stand_by)
    lease = Lease()
    leads = asyncio.run(
        _await_leading(lease, state(webhook_service="kappa-operator-webhook"))  # type: ignore[arg-type]
    )
    assert leads is False
    assert lease.cancelled


def test_without_a_webhook_it_only_waits_for_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    async def stand_by(_: State, __: asyncio.Event) -> None:
        raise AssertionError("no webhook: nothing to serve")

    monkeypatch.setattr(main, "_stand_by", stand_by)
    lease = Lease()
    lease.won.set()
    assert asyncio.run(_await_leading(lease, state())) is True  # type: ignore[arg-type]
