# ruff: noqa: T201 - the measured recovery times are printed
"""The event queue sets itself up again: a nats-server that comes back on an empty store, or
streams deleted under a running gateway, stop Event invocations only until the gateway has
created its streams, consumer and bucket again; no gateway restart. /readyz says so meanwhile."""

from __future__ import annotations

import shutil
import time
from typing import Any

from tests.integration.asyncq.conftest import Calls, StartAsyncGateway
from tests.integration.brokers import NatsServer
from tests.integration.gateway.conftest import StartFunctionAgent
from tests.integration.gateway.gateway_harness import Gateway, function_entry
from tests.integration.nats_harness import with_connection

INVOKE = "/2015-03-31/functions/ok/invocations"
EVENT = {"X-Amz-Invocation-Type": "Event"}
HANG_GUARD = 60.0  # only guards against a hang; the measured time is printed


def send_until_accepted(gateway: Gateway, n: int, since: float) -> float:
    """POST one event (a new one per attempt) until a 202; seconds from ``since`` to it."""
    while True:
        reply = gateway.request("POST", INVOKE, f'{{"n": {n}}}'.encode(), EVENT, timeout=10)
        if reply.status == 202:
            return time.monotonic() - since
        assert reply.status == 500, reply.body
        assert time.monotonic() - since < HANG_GUARD, "Event invocations never came back"
        time.sleep(0.1)


def ran(calls: Calls, n: int) -> dict[str, Any]:
    """The call of the event whose payload is ``{"n": n}`` (waits for it)."""
    count = 1
    while True:
        found = [c for c in calls("ok", count) if c["event"] == {"n": n}]
        if found:
            return found[0]
        count += 1


def readiness(gateway: Gateway) -> tuple[int, str]:
    reply = gateway.request("GET", "/readyz/queue")
    return reply.status, reply.body.decode()


def wait_readiness(gateway: Gateway, status: int) -> str:
    deadline = time.monotonic() + HANG_GUARD
    while (answer := readiness(gateway))[0] != status:
        assert time.monotonic() < deadline, f"/readyz/queue stayed {answer}"
        time.sleep(0.1)
    return answer[1]


def warnings(gateway: Any) -> list[str]:
    """The gateway's WARNING lines (text format: date, time, level, logger: message)."""
    return [
        line for line in gateway.output().splitlines() if line.split(" ", 3)[2:3] == ["WARNING"]
    ]


def test_a_nats_server_restarted_on_an_empty_store_serves_events_again_without_a_gateway_restart(
    nats_server: NatsServer, start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    calls: Calls,
) -> None:  # fmt: skip
    gateway = async_gateway([function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])
    wait_readiness(gateway, 200)
    send_until_accepted(gateway, 1, time.monotonic())
    ran(calls, 1)

    nats_server.restart_empty()
    restarted, restarted_wall = time.monotonic(), time.time()
    accepted = send_until_accepted(gateway, 2, restarted)
    started = ran(calls, 2)["time"] - restarted_wall
    print(f"\nnats-server restarted on an empty store: Event accepted again after {accepted:.2f}s, "
          f"run after {started:.2f}s")  # fmt: skip
    assert gateway.metric("kappa_async_queue_setups_total") >= 1
    assert gateway.metric("kappa_async_queue_usable") == 1
    wait_readiness(gateway, 200)


def test_readyz_queue_says_the_queue_is_unusable_while_nats_is_down_and_workers_warn(
    nats_server: NatsServer, start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    calls: Calls,
) -> None:  # fmt: skip
    gateway = async_gateway([function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])
    wait_readiness(gateway, 200)

    nats_server.stop()
    shutil.rmtree(nats_server.directory / "js")
    body = wait_readiness(gateway, 503)
    assert "event queue" in body
    assert "NATS connection lost" in body
    assert gateway.metric("kappa_async_queue_usable") == 0
    reply = gateway.request("POST", INVOKE, b'{"n": 1}', EVENT, timeout=10)
    assert reply.status == 500
    # The replica stays in its Service: synchronous calls do not need the queue.
    assert gateway.request("GET", "/readyz").status == 200
    assert gateway.request("POST", INVOKE, b'{"n": 0}').status == 200

    nats_server.start()
    wait_readiness(gateway, 200)
    send_until_accepted(gateway, 2, time.monotonic())
    ran(calls, 2)
    assert any("event queue unusable: NATS connection lost" in line for line in warnings(gateway))


def test_streams_deleted_under_a_connected_gateway_are_created_again(
    nats_server: NatsServer, start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    calls: Calls,
) -> None:  # fmt: skip
    gateway = async_gateway([function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])
    send_until_accepted(gateway, 1, time.monotonic())
    ran(calls, 1)

    async def delete(nc: Any) -> None:
        js = nc.jetstream()
        for stream in ("kappa-events_default", "kappa-dlq", "KV_kappa-async-progress"):
            await js.delete_stream(stream)

    with_connection(nats_server, delete)
    deleted = time.monotonic()
    accepted = send_until_accepted(gateway, 2, deleted)
    ran(calls, 2)
    print(f"\nstreams deleted: Event accepted again after {accepted:.2f}s")

    async def present(nc: Any) -> list[str]:
        js = nc.jetstream()
        return [(await js.stream_info(name)).config.name for name in (
            "kappa-events_default", "kappa-dlq", "KV_kappa-async-progress")]  # fmt: skip

    assert with_connection(nats_server, present) == [
        "kappa-events_default", "kappa-dlq", "KV_kappa-async-progress"]  # fmt: skip
    assert any("event queue unusable: JetStream setup missing" in line
               for line in warnings(gateway))  # fmt: skip
