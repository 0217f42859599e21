"""Admission, queueing and slot routing through the real gateway, with real agents."""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

import pytest

from tests.integration.agent.agent_harness import Agent
from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import Gateway, function_entry

RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
CONCURRENT = "ConcurrentInvocationLimitExceeded"


def sleep_for(client: Any, seconds: float, tag: str = "", name: str = "slow") -> dict[str, Any]:
    response = client.invoke(
        FunctionName=name, Payload=json.dumps({"seconds": seconds, "tag": tag})
    )
    assert "FunctionError" not in response, response["Payload"].read()
    result = json.loads(response["Payload"].read())
    assert isinstance(result, dict)
    return result


def wait_until_busy(gateway: Gateway, count: int = 1, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while gateway.metric("kappa_gateway_concurrent_executions") < count:
        assert time.monotonic() < deadline, "the invocation never started"
        time.sleep(0.02)


def raw_invoke(gateway: Gateway, payload: bytes, name: str = "slow") -> socket.socket:
    """Send an Invoke request on a socket of our own, to hang up on it later."""
    connection = socket.create_connection(("127.0.0.1", gateway.port))
    connection.sendall(
        f"POST /2015-03-31/functions/{name}/invocations HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    return connection


@pytest.fixture
def pool() -> Any:
    with ThreadPoolExecutor(8) as executor:
        yield executor


class Served(NamedTuple):
    """A gateway and a client of it."""

    gateway: Gateway
    client: Any


class Slow(NamedTuple):
    """The `slow` Function (handlers/fns.py's interval) on one agent, behind a gateway."""

    gateway: Gateway
    client: Any
    agent: Agent


Serve = Callable[..., Served]
StartSlow = Callable[..., Slow]


@pytest.fixture
def serve(start_gateway: StartGateway, lambda_client: LambdaClient) -> Serve:
    """A gateway of the registry entries ``functions`` (and gateway settings), with a client."""

    def start(functions: list[dict[str, Any]], **settings: Any) -> Served:
        gateway = start_gateway(functions, **settings)
        return Served(gateway, lambda_client(gateway))

    return start


@pytest.fixture
def slow(start_agent: StartFunctionAgent, serve: Serve) -> StartSlow:
    """The `slow` Function with ``slots`` and ``reserved``, behind a gateway of ``settings``."""

    def start(*, slots: int = 1, reserved: int | None = None, **settings: Any) -> Slow:
        agent = start_agent("fns.interval", name="slow", slots=slots)
        served = serve(
            [function_entry("slow", [agent], slots=slots, reserved=reserved)], **settings
        )
        return Slow(served.gateway, served.client, agent)

    return start


def test_reserved_zero_throttles_every_call(serve: Serve) -> None:
    client = serve([function_entry("off", [], reserved=0)]).client
    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="off", Payload=b"{}")
    response = throttled.value.response
    assert response["Reason"] == RESERVED
    assert response["Type"] == "User"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"


def test_reserved_concurrency_exceeded_is_throttled_at_once(
    slow: StartSlow, pool: ThreadPoolExecutor
) -> None:
    gateway, client, _ = slow(slots=2, reserved=1)
    holder = pool.submit(sleep_for, client, 1.0)
    wait_until_busy(gateway)
    started = time.monotonic()
    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')
    assert time.monotonic() - started < 0.5  # not queued
    assert throttled.value.response["Reason"] == RESERVED
    holder.result()
    assert sleep_for(client, 0)["end"] > 0  # the slot is back


def test_a_queued_call_runs_when_the_slot_frees(slow: StartSlow, pool: ThreadPoolExecutor) -> None:
    gateway, client, _ = slow()
    first = pool.submit(sleep_for, client, 0.8, "first")
    wait_until_busy(gateway)
    second = sleep_for(client, 0, "second")
    assert second["start"] >= first.result()["end"]
    assert gateway.metric("kappa_gateway_capacity_requests_total") >= 1
    assert gateway.metric("kappa_gateway_queue_wait_seconds_count") >= 1


def test_waiting_too_long_is_throttled_with_retry_after(
    slow: StartSlow, pool: ThreadPoolExecutor
) -> None:
    gateway, client, _ = slow(queue_max_wait_seconds=0.3)
    holder = pool.submit(sleep_for, client, 1.5)
    wait_until_busy(gateway)
    started = time.monotonic()
    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')
    waited = time.monotonic() - started
    assert 0.25 < waited < 1.2
    assert throttled.value.response["Reason"] == CONCURRENT
    assert throttled.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    holder.result()


def test_a_full_queue_is_throttled_at_once(slow: StartSlow, pool: ThreadPoolExecutor) -> None:
    gateway, client, _ = slow(queue_max_waiters=1)
    holder = pool.submit(sleep_for, client, 1.0)
    wait_until_busy(gateway)
    waiter = pool.submit(sleep_for, client, 0)
    deadline = time.monotonic() + 5
    while gateway.metric("kappa_gateway_queued_invocations") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')
    holder.result()
    waiter.result()


def test_a_call_waits_for_an_endpoint_to_appear(
    start_agent: StartFunctionAgent, serve: Serve, pool: ThreadPoolExecutor
) -> None:
    gateway, client = serve([function_entry("slow", [])])
    pending: Future[dict[str, Any]] = pool.submit(sleep_for, client, 0, "late")
    deadline = time.monotonic() + 5
    while gateway.metric("kappa_gateway_capacity_requests_total") < 1:
        assert time.monotonic() < deadline, "the gateway never asked for capacity"
        time.sleep(0.02)
    assert not pending.done()
    agent = start_agent("fns.interval", name="slow")
    gateway.set_functions([function_entry("slow", [agent])])
    assert pending.result(timeout=10)["tag"] == "late"


def test_a_caller_that_leaves_the_queue_frees_its_place(
    slow: StartSlow, pool: ThreadPoolExecutor
) -> None:
    gateway, client, agent = slow()
    holder = pool.submit(sleep_for, client, 1.0, "holder")
    wait_until_busy(gateway)
    leaver = raw_invoke(gateway, b'{"seconds": 3, "tag": "leaver"}')
    deadline = time.monotonic() + 5
    while gateway.metric("kappa_gateway_queued_invocations") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    leaver.close()
    while gateway.metric("kappa_gateway_queued_invocations") > 0:
        assert time.monotonic() < deadline, "the caller that hung up is still queued"
        time.sleep(0.02)
    holder.result()
    started = time.monotonic()
    assert sleep_for(client, 0, "next")["tag"] == "next"
    assert time.monotonic() - started < 1.5  # not behind a 3 s invocation nobody waits for
    assert "leaver" not in agent.output()


def test_a_caller_that_hangs_up_mid_call_frees_the_slot_when_the_call_ends(
    slow: StartSlow,
) -> None:
    gateway, client, _ = slow()
    leaver = raw_invoke(gateway, b'{"seconds": 0.7, "tag": "leaver"}')
    wait_until_busy(gateway)
    leaver.close()
    # The function runs to its end (Lambda does not stop it either), then the slot is free.
    deadline = time.monotonic() + 5
    while gateway.metric("kappa_gateway_concurrent_executions") > 0:
        assert time.monotonic() < deadline, "the slot stayed taken"
        time.sleep(0.05)
    assert sleep_for(client, 0, "next")["tag"] == "next"
    assert gateway.metric("kappa_gateway_concurrent_executions") == 0


def test_two_gateways_share_a_single_slot_agent_without_overlap(
    start_agent: StartFunctionAgent, serve: Serve, pool: ThreadPoolExecutor
) -> None:
    agent = start_agent("fns.interval", name="slow")
    functions = [function_entry("slow", [agent])]
    gateways, clients = zip(serve(functions), serve(functions), strict=True)
    calls = [pool.submit(sleep_for, clients[i % 2], 0.15, str(i)) for i in range(8)]
    results = sorted((call.result(timeout=30) for call in calls), key=lambda r: r["start"])
    assert len(results) == 8
    for earlier, later in itertools.pairwise(results):
        assert later["start"] >= earlier["end"], "two invocations overlapped in one slot"
    busy = sum(gateway.metric("kappa_gateway_agent_busy_total") for gateway in gateways)
    assert busy >= 1  # the agent's 429 is what kept them apart


def test_two_gateways_hold_reserved_concurrency(
    start_agent: StartFunctionAgent, serve: Serve, pool: ThreadPoolExecutor
) -> None:
    # The autoscaler gives a reserved=1 function at most one slot; gateways do the rest.
    agent = start_agent("fns.interval", name="slow")
    functions = [function_entry("slow", [agent], reserved=1)]
    first, second = serve(functions), serve(functions)
    holder = pool.submit(sleep_for, first.client, 1.0)
    wait_until_busy(first.gateway)
    client = second.client
    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')
    assert throttled.value.response["Reason"] == RESERVED
    holder.result()


def test_a_namespace_at_its_quota_is_throttled_at_once(
    start_agent: StartFunctionAgent, serve: Serve, pool: ThreadPoolExecutor
) -> None:
    # Two functions of namespace `default`, whose quota is 1: the second call is throttled
    # whichever function it is for, not queued; `other`'s namespace has no quota.
    slow = start_agent("fns.interval", name="slow")
    fast = start_agent("fns.interval", name="fast")
    other = start_agent("fns.interval", name="away", namespace="other")
    gateway, client = serve(
        [
            function_entry("slow", [slow]),
            function_entry("fast", [fast]),
            function_entry("away", [other], namespace="other"),
        ],
        namespace_limits={"default": 1},
    )
    holder = pool.submit(sleep_for, client, 1.0)
    wait_until_busy(gateway)
    for name in ("fast", "slow"):
        started = time.monotonic()
        with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
            client.invoke(FunctionName=name, Payload=b'{"seconds": 0}')
        assert time.monotonic() - started < 0.5  # not queued
        assert throttled.value.response["Reason"] == CONCURRENT
    assert sleep_for(client, 0, name="other/away")["end"] > 0
    holder.result()
    assert sleep_for(client, 0, name="fast")["end"] > 0  # the namespace has room again
