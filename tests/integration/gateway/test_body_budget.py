"""The gateway's budget of request bytes (KAPPA_GATEWAY_MAX_QUEUED_BYTES) with real agents:
calls whose bodies would take it past the budget get 429 at once, the rest are served, and
every byte comes back when the calls finish."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from tests.integration.agent.agent_harness import Reply
from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import Gateway, function_entry

MiB = 1024 * 1024
BUDGET = 8 * MiB
INVOKE = "/2015-03-31/functions/{}/invocations"
HELD = "kappa_gateway_request_body_bytes"


def body_of(size: int, release: Path) -> bytes:
    """A JSON event of exactly ``size`` bytes for fns.hold."""
    empty = json.dumps({"release": str(release), "pad": ""}).encode()
    return json.dumps({"release": str(release), "pad": "x" * (size - len(empty))}).encode()


def wait_for_metric(gateway: Gateway, name: str, value: float) -> None:
    deadline = time.monotonic() + 30
    while (seen := gateway.metric(name)) != value:
        assert time.monotonic() < deadline, f"{name} is {seen}, not {value}"
        time.sleep(0.02)


def test_calls_past_the_byte_budget_get_429_and_the_budget_comes_back(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, tmp_path: Path
) -> None:
    slow = function_entry(
        "slow", [start_agent("fns.hold", name="slow", timeout=60)], handler="fns.hold", timeout=60
    )
    echo = function_entry("echo", [start_agent("fns.echo", name="echo")])
    gateway = start_gateway([slow, echo], max_queued_bytes=BUDGET)
    release = tmp_path / "release"
    large = body_of(3 * MiB, release)
    with ThreadPoolExecutor(2) as pool:
        # One call runs (the function's one slot), the next waits for the slot: 6 MiB held.
        running: Future[Reply] = pool.submit(gateway.request, "POST", INVOKE.format("slow"), large)
        wait_for_metric(gateway, "kappa_gateway_concurrent_executions", 1)
        waiting: Future[Reply] = pool.submit(gateway.request, "POST", INVOKE.format("slow"), large)
        wait_for_metric(gateway, "kappa_gateway_queued_invocations", 1)
        assert gateway.metric(HELD) == 2 * len(large)
        # Two more large calls do not fit: refused at once, Lambda's throttling shape.
        for _ in range(2):
            refused = gateway.request("POST", INVOKE.format("slow"), large)
            assert refused.status == 429
            assert refused.headers["x-amzn-errortype"] == "TooManyRequestsException"
            assert json.loads(refused.body)["Reason"] == "CallerRateLimitExceeded"
            assert refused.headers["retry-after"] == "1"
        # A small call fits what is left: the gateway keeps serving.
        small = gateway.request("POST", INVOKE.format("echo"), b'{"n": 1}')
        assert small.status == 200
        assert json.loads(small.body)["event"] == {"n": 1}
        release.touch()
        assert running.result(timeout=60).status == 200
        assert waiting.result(timeout=60).status == 200
    wait_for_metric(gateway, HELD, 0)
    throttles = "kappa_gateway_throttles_total"
    assert gateway.sample(throttles, namespace="", function="", cause="body_bytes") == 2


def test_a_body_still_being_sent_holds_its_declared_length(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, tmp_path: Path
) -> None:
    echo = function_entry("echo", [start_agent("fns.echo", name="echo")])
    gateway = start_gateway([echo], max_queued_bytes=BUDGET)
    # Headers promising 6 MiB, then nothing: reserved before a byte of the body is read.
    slow_sender = socket.create_connection(("127.0.0.1", gateway.port))
    try:
        slow_sender.sendall(
            f"POST {INVOKE.format('echo')} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {6 * MiB}\r\n\r\n{{".encode()
        )
        wait_for_metric(gateway, HELD, 6 * MiB)
        refused = gateway.request("POST", INVOKE.format("echo"), body_of(3 * MiB, tmp_path))
        assert refused.status == 429
        assert json.loads(refused.body)["Reason"] == "CallerRateLimitExceeded"
        assert gateway.request("POST", INVOKE.format("echo"), b"{}").status == 200
    finally:
        slow_sender.close()
    wait_for_metric(gateway, HELD, 0)
    assert gateway.request("POST", INVOKE.format("echo"), body_of(3 * MiB, tmp_path)).status == 200
