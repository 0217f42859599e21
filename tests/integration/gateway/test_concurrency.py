"""Admission, queueing and slot routing through the real gateway, with real agents."""

from __future__ import annotations

import itertools
import json
import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.integration.agent.agent_harness import Agent
from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import Gateway, function_entry
from tests.integration.waiting import HANG_GUARD, wait_until

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


def hold(client: Any, release: Path, tag: str = "", name: str = "slow") -> dict[str, Any]:
    """Invoke ``name`` and keep its slot until the test creates ``release``."""
    response = client.invoke(
        FunctionName=name, Payload=json.dumps({"release": str(release), "tag": tag})
    )
    assert "FunctionError" not in response, response["Payload"].read()
    result = json.loads(response["Payload"].read())
    assert isinstance(result, dict)
    return result


def wait_for_metric(
    gateway: Gateway, name: str, reached: Callable[[float], bool], what: str
) -> None:
    wait_until(lambda: reached(gateway.metric(name)), what=what)


def wait_until_busy(gateway: Gateway, count: int = 1) -> None:
    wait_for_metric(
        gateway, "kappa_gateway_concurrent_executions", lambda v: v >= count,
        "the invocation to start",
    )  # fmt: skip


def wait_until_queued(gateway: Gateway, count: int = 1) -> None:
    wait_for_metric(
        gateway, "kappa_gateway_queued_invocations", lambda v: v >= count, "a call to queue"
    )


def throttles(gateway: Gateway, cause: str) -> float:
    """429s counted with ``cause``, summed over the Functions' namespace and name labels."""
    samples = gateway.samples("kappa_gateway_throttles_total")
    return sum(value for labels, value in samples.items() if ("cause", cause) in labels)


def queue_waits(gateway: Gateway) -> float:
    """How many calls have left the wait queue (served, timed out or gone)."""
    return gateway.metric("kappa_gateway_queue_wait_seconds_count")


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
    slow: StartSlow, pool: ThreadPoolExecutor, tmp_path: Path
) -> None:
    gateway, client, _ = slow(slots=2, reserved=1)
    release = tmp_path / "release"
    holder = pool.submit(hold, client, release)
    wait_until_busy(gateway)
    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')
    assert throttled.value.response["Reason"] == RESERVED
    # Answered while the only slot it may use is still held, without entering the queue.
    assert not holder.done()
    assert throttles(gateway, "reserved") == 1
    assert queue_waits(gateway) == 0
    release.touch()
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
    slow: StartSlow, pool: ThreadPoolExecutor, tmp_path: Path
) -> None:
    gateway, client, _ = slow(queue_max_wait_seconds=0.3)
    release = tmp_path / "release"
    holder = pool.submit(hold, client, release)
    wait_until_busy(gateway)
    started = time.monotonic()
    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')
    assert time.monotonic() - started >= 0.3  # it waited its time in the queue first
    assert throttled.value.response["Reason"] == CONCURRENT
    assert throttled.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    assert throttles(gateway, "queue_timeout") == 1
    assert queue_waits(gateway) == 1
    assert not holder.done()  # the slot never came free: it was the wait that ended
    release.touch()
    holder.result()


def test_a_full_queue_is_throttled_at_once(
    slow: StartSlow, pool: ThreadPoolExecutor, tmp_path: Path
) -> None:
    # One call in the slot, one waiting (the queue holds one), both until `release`.
    gateway, client, _ = slow(queue_max_waiters=1)
    release = tmp_path / "release"
    holder = pool.submit(hold, client, release, "holder")
    wait_until_busy(gateway)
    waiter = pool.submit(hold, client, release, "waiter")
    wait_until_queued(gateway)
    with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
        client.invoke(FunctionName="slow", Payload=b'{"seconds": 0}')
    response = throttled.value.response
    assert response["Reason"] == CONCURRENT
    assert response["Error"]["Message"] == (
        "Too many invocations are waiting for this function's capacity."
    )
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    # Refused on arrival: the queue was full, nothing has left it, nothing timed out.
    assert throttles(gateway, "queue_full") == 1
    assert throttles(gateway, "queue_timeout") == 0
    assert queue_waits(gateway) == 0
    assert gateway.metric("kappa_gateway_queued_invocations") == 1  # the waiter, still there
    release.touch()
    assert holder.result()["tag"] == "holder"
    assert waiter.result()["tag"] == "waiter"


def test_a_call_waits_for_an_endpoint_to_appear(
    start_agent: StartFunctionAgent, serve: Serve, pool: ThreadPoolExecutor
) -> None:
    gateway, client = serve([function_entry("slow", [])])
    pending: Future[dict[str, Any]] = pool.submit(sleep_for, client, 0, "late")
    wait_for_metric(
        gateway, "kappa_gateway_capacity_requests_total", lambda v: v >= 1,
        "the gateway to ask for capacity",
    )  # fmt: skip
    assert not pending.done()
    agent = start_agent("fns.interval", name="slow")
    gateway.set_functions([function_entry("slow", [agent])])
    assert pending.result(timeout=HANG_GUARD)["tag"] == "late"


def test_a_caller_that_leaves_the_queue_frees_its_place(
    slow: StartSlow, pool: ThreadPoolExecutor, tmp_path: Path
) -> None:
    gateway, client, agent = slow()
    release = tmp_path / "release"
    holder = pool.submit(hold, client, release, "holder")
    wait_until_busy(gateway)
    leaver = raw_invoke(gateway, b'{"seconds": 3, "tag": "leaver"}')
    wait_until_queued(gateway)
    leaver.close()
    wait_for_metric(
        gateway, "kappa_gateway_queued_invocations", lambda v: v == 0,
        "the caller that hung up to leave the queue",
    )  # fmt: skip
    release.touch()
    first = holder.result()
    following = sleep_for(client, 0, "next")
    assert following["tag"] == "next"
    # The slot went from the holder straight to the next call: the leaver, queued before
    # it, never ran (FIFO would have run it first).
    agent.wait_for(f"START RequestId: {following['request_id']}")
    started = re.findall(r"START RequestId: (\S+)", agent.output())
    assert started == [first["request_id"], following["request_id"]]


def test_a_caller_that_hangs_up_mid_call_frees_the_slot_when_the_call_ends(
    slow: StartSlow,
) -> None:
    gateway, client, _ = slow()
    leaver = raw_invoke(gateway, b'{"seconds": 0.7, "tag": "leaver"}')
    wait_until_busy(gateway)
    leaver.close()
    # The function runs to its end (Lambda does not stop it either), then the slot is free.
    wait_for_metric(
        gateway, "kappa_gateway_concurrent_executions", lambda v: v == 0, "the slot to come back"
    )
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
    start_agent: StartFunctionAgent, serve: Serve, pool: ThreadPoolExecutor, tmp_path: Path
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
    release = tmp_path / "release"
    holder = pool.submit(hold, client, release)
    wait_until_busy(gateway)
    for name in ("fast", "slow"):
        with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
            client.invoke(FunctionName=name, Payload=b'{"seconds": 0}')
        assert throttled.value.response["Reason"] == CONCURRENT
    # Both answered while the namespace's one call still runs, neither through the queue.
    assert not holder.done()
    assert throttles(gateway, "concurrency") == 2
    assert queue_waits(gateway) == 0
    assert sleep_for(client, 0, name="other/away")["end"] > 0
    release.touch()
    holder.result()
    assert sleep_for(client, 0, name="fast")["end"] > 0  # the namespace has room again
