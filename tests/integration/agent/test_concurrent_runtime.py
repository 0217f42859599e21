"""perRuntime over 1: one runtime process takes several calls at once (AWS_LAMBDA_MAX_CONCURRENCY).

The real agent with the python runtime's bootstrap (Kappa's concurrent runtime beside
awslambdaric), and a hostile `provided` runtime that asks for more than it may take.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent.agent_harness import (
    Agent,
    LaunchAgent,
    Reply,
    pod_environment,
    python_bootstrap,
)
from tests.integration.agent.burst import burst

HANDLERS = Path(__file__).parent / "handlers_concurrent"
HOSTILE = Path(__file__).parent / "hostile_runtime.py"

pytestmark = pytest.mark.timeout(120)
ConcurrentAgent = Callable[..., Agent]  # (handler, per_runtime, **KAPPA_* settings)


@pytest.fixture
def concurrent_agent(launch_agent: LaunchAgent, task_root: Path, tmp_path: Path) -> ConcurrentAgent:
    for source in HANDLERS.glob("*.py"):
        shutil.copy(source, task_root / source.name)
    bootstrap = python_bootstrap(tmp_path)

    def start(handler: str, per_runtime: int, **settings: str | int | float) -> Agent:
        env = pod_environment(
            path=os.environ.get("PATH", "/usr/bin:/bin"),
            home=tmp_path,
            runtime="python3.11",
            handler=handler,
            task_root=task_root,
            bootstrap=bootstrap,
            settings=settings,
        )
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(per_runtime)
        return launch_agent(env)

    return start


def invoke_all(agent: Agent, events: list[dict[str, object]]) -> list[Reply]:
    with ThreadPoolExecutor(len(events)) as pool:
        return list(pool.map(lambda e: agent.invoke(e, timeout=60), events))


def test_fifty_calls_run_at_once_in_one_process(concurrent_agent: ConcurrentAgent) -> None:
    """50 calls whose handler awaits 100 ms all overlap: each started before any ended."""
    agent = concurrent_agent("conc.nap", per_runtime=50, timeout_seconds=30)
    replies = burst(agent.port, [{"seconds": 0.1}] * 50)
    assert [r.status for r in replies] == [200] * 50
    assert all("x-amz-function-error" not in r.headers for r in replies)
    results: list[dict[str, Any]] = [r.json() for r in replies]  # type: ignore[misc]
    assert len({r["pid"] for r in results}) == 1  # one runtime process
    assert max(r["start"] for r in results) < min(r["end"] for r in results)
    # One module for all: each call, after its sleep, saw the 50 starts of the others.
    assert {r["calls"] for r in results} == {50}
    ids = {r["request_id"] for r in results}
    assert ids == {r.headers["x-kappa-request-id"] for r in replies}
    assert len(ids) == 50
    assert all(0 < r["remaining_ms"] <= 30_000 for r in results)
    for reply in replies:
        request_id = reply.headers["x-kappa-request-id"]
        agent.wait_for(f"^REPORT RequestId: {request_id}\t")
        # Each call's log tail: its own platform lines and the log line that names it.
        tail = base64.b64decode(reply.headers["x-amz-log-result"]).decode()
        assert f"START RequestId: {request_id}" in tail
        assert f"\t{request_id}\tnap starts" in tail
        assert tail.count("nap starts") == 1
    output = agent.output()
    assert output.count("START RequestId:") == 50
    assert output.count("END RequestId:") == 50


def test_errors_are_answered_per_call(concurrent_agent: ConcurrentAgent) -> None:
    agent = concurrent_agent("conc.fail", per_runtime=4)
    replies = invoke_all(agent, [{"n": n} for n in range(4)])
    for n, reply in enumerate(replies):
        assert reply.status == 200
        assert reply.function_error == "Unhandled"
        error = reply.json()
        assert isinstance(error, dict)
        assert error["errorType"] == "ValueError"
        assert error["errorMessage"] == f"bad event {n}"
        assert error["requestId"] == reply.headers["x-kappa-request-id"]
        assert any("conc.py" in line for line in error["stackTrace"])
        # The tail holds the lines that name the call; awslambdaric's [ERROR] line names
        # none, so it is in the pod's log only.
        assert f"\t{error['requestId']}\tabout to fail" in reply.log_tail
        agent.wait_for(f"\\[ERROR\\] ValueError: bad event {n}")


def test_a_timeout_kills_the_process_and_fails_every_call_in_it(
    concurrent_agent: ConcurrentAgent,
) -> None:
    """One call's deadline passes: its process is killed, and the calls it held end with it."""
    agent = concurrent_agent("conc.nap", per_runtime=5, timeout_seconds=30)
    before = agent.invoke({"seconds": 0}).json()
    assert isinstance(before, dict)
    short = {"X-Kappa-Deadline-Ms": str(int(time.time() * 1000) + 1000)}
    with ThreadPoolExecutor(3) as pool:
        doomed = pool.submit(agent.invoke, {"seconds": 20}, headers=short, timeout=60)
        others = [pool.submit(agent.invoke, {"seconds": 20}, timeout=60) for _ in range(2)]
        timed_out = doomed.result()
        ended = [other.result() for other in others]
    assert timed_out.function_error == "Unhandled"
    assert timed_out.json()["errorType"] == "Sandbox.Timedout"  # type: ignore[index]
    for reply in ended:
        assert reply.function_error == "Unhandled"
        error = reply.json()
        assert isinstance(error, dict)
        assert error["errorType"] == "Runtime.ExitError"
        assert "signal: killed" in error["errorMessage"]
    after = agent.invoke({"seconds": 0}).json()
    assert isinstance(after, dict)
    assert after["pid"] != before["pid"]  # a fresh process serves on


def test_a_plain_handler_gets_a_process_per_call(concurrent_agent: ConcurrentAgent) -> None:
    """Not async: awslambdaric's own multi-concurrency mode forks, as Lambda's Python does."""
    agent = concurrent_agent("conc.sync_pid", per_runtime=3)
    replies = invoke_all(agent, [{"seconds": 0.5}] * 3)
    results = [r.json() for r in replies]
    assert [r.status for r in replies] == [200] * 3
    assert len({r["pid"] for r in results}) == 3  # type: ignore[index]
    assert len({r["parent"] for r in results}) == 1  # type: ignore[index]


def test_a_hostile_runtime_gets_4xx_and_the_agent_serves_on(
    launch_agent: LaunchAgent, task_root: Path, tmp_path: Path
) -> None:
    report = tmp_path / "hostile.json"
    bootstrap = task_root / "bootstrap"
    bootstrap.write_text(f"#!/bin/sh\nexec {sys.executable} {HOSTILE}\n")
    bootstrap.chmod(0o755)
    env = pod_environment(
        path=os.environ.get("PATH", "/usr/bin:/bin"),
        home=tmp_path,
        runtime="provided",
        handler="",
        task_root=task_root,
    )
    env.update({"AWS_LAMBDA_MAX_CONCURRENCY": "2", "HOSTILE_REPORT": str(report)})
    agent = launch_agent(env)
    deadline = time.monotonic() + 30
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(report.read_text()) == {
        "third_next": 403,
        "unknown_response": 400,
        "unknown_error": 400,
    }
    replies = invoke_all(agent, [{"n": 1}, {"n": 2}])
    assert sorted(r.json()["n"] for r in replies) == [1, 2]  # type: ignore[index]
    assert agent.process.poll() is None


def test_forked_from_a_zygote_each_slot_takes_its_calls(concurrent_agent: ConcurrentAgent) -> None:
    """perPod 2 x perRuntime 4: two runtimes forked from the zygote, 8 calls at once."""
    agent = concurrent_agent("conc.nap", per_runtime=4, slots=2, zygote="on")
    agent.wait_for(r"zygote ready in")
    replies = burst(agent.port, [{"seconds": 0.5}] * 8)
    assert [r.status for r in replies] == [200] * 8
    results: list[dict[str, Any]] = [r.json() for r in replies]  # type: ignore[misc]
    pids = [r["pid"] for r in results]
    assert sorted(pids.count(pid) for pid in set(pids)) == [4, 4]  # the least busy slot first
    assert max(r["start"] for r in results) < min(r["end"] for r in results)
