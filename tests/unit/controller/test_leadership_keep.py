"""The leader keeps its Lease while its event loop is busy, and stops when it is taken.

A new leader with 10,000 objects present lists them all at once, and its event loop is
busy for seconds at a time. Renewals that waited on the loop let the Lease run out: a
standby took over, and lost it the same way. The Lease API here is a fake in memory (the
unit tier has no API server; the e2e failover tests renew against a real one); the
Leadership code, its thread and its timing are the real ones.
"""

import asyncio
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kappa.controller.leadership import Leadership, LeadershipLostError
from kappa.controller.lease import RENEW_SECONDS, held_spec

ME = "kappa-operator-a"


class FakeLeases:
    """A Lease in memory, replaced at its resourceVersion as the API server does."""

    def __init__(self, holder: str) -> None:
        self.spec: dict[str, Any] = held_spec(None, holder, datetime.now(UTC))
        self.version = 1
        self.renewals: list[float] = []  # time.monotonic() of each of ME's writes
        self.lock = threading.Lock()

    def read_namespaced_lease(self, _name: str, _namespace: str, **_: Any) -> SimpleNamespace:
        with self.lock:
            metadata = SimpleNamespace(resource_version=str(self.version))
            return SimpleNamespace(spec=dict(self.spec), metadata=metadata)

    def replace_namespaced_lease(self, _name: str, _namespace: str, body: Any, **_: Any) -> None:
        with self.lock:
            if body["metadata"]["resourceVersion"] != str(self.version):
                raise ApiException(status=409, reason="Conflict")
            self.spec, self.version = body["spec"], self.version + 1
            if self.spec["holderIdentity"] == ME:
                self.renewals.append(time.monotonic())

    def take(self, holder: str) -> None:
        with self.lock:
            self.spec, self.version = held_spec(None, holder, datetime.now(UTC)), self.version + 1


def leadership(leases: FakeLeases) -> Leadership:
    kept = Leadership(client.ApiClient(), "kappa-system", ME)
    kept._leases = leases  # noqa: SLF001 - the API's fake
    return kept


def test_the_lease_is_renewed_while_the_event_loop_is_busy() -> None:
    leases = FakeLeases(ME)
    busy_for = 3 * RENEW_SECONDS + 0.5

    async def scenario() -> tuple[float, float]:
        keeping = asyncio.create_task(leadership(leases).keep())
        await asyncio.sleep(0.1)
        began = time.monotonic()
        time.sleep(busy_for)  # the busy loop, on purpose
        ended = time.monotonic()
        assert not keeping.done()
        keeping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await keeping
        return began, ended

    began, ended = asyncio.run(scenario())
    during = [at for at in leases.renewals if began <= at <= ended]
    assert len(during) >= 3, f"renewed {len(during)} times in {busy_for} s of a busy loop"
    assert leases.spec["holderIdentity"] == ME


def test_renewals_stop_when_keeping_is_cancelled() -> None:
    leases = FakeLeases(ME)

    async def scenario() -> None:
        keeping = asyncio.create_task(leadership(leases).keep())
        await asyncio.sleep(RENEW_SECONDS + 0.5)
        keeping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await keeping

    asyncio.run(scenario())
    assert len(leases.renewals) == 1
    time.sleep(RENEW_SECONDS + 0.5)
    assert len(leases.renewals) == 1  # the thread wrote nothing after the cancel


def test_keep_raises_when_another_replica_holds_the_lease() -> None:
    leases = FakeLeases(ME)

    async def scenario() -> None:
        keeping = asyncio.create_task(leadership(leases).keep())
        await asyncio.sleep(0.1)
        leases.take("kappa-operator-b")
        async with asyncio.timeout(3 * RENEW_SECONDS):
            with pytest.raises(LeadershipLostError, match="kappa-operator-b"):
                await keeping

    asyncio.run(scenario())
    assert leases.spec["holderIdentity"] == "kappa-operator-b"
