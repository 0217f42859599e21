"""nodejs22 with perRuntime over 1: aws-lambda-ric 4's worker threads under the real agent.

Node 22 only: aws-lambda-ric 4 needs it, and nodejs20's Functions are refused perRuntime
over 1 at apply time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent.agent_harness import Agent, LaunchAgent, pod_environment
from tests.integration.agent.burst import burst
from tests.integration.nodejs.conftest import HANDLERS
from tests.integration.nodejs.harness import NodeRuntime, build_node_runtime

pytestmark = pytest.mark.timeout(120, func_only=True)


@pytest.fixture(scope="session")
def node22() -> NodeRuntime:
    cache = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa")) / "node"
    try:
        return build_node_runtime("nodejs22", cache)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def start(
    launch_agent: LaunchAgent,
    node22: NodeRuntime,
    tmp_path: Path,
    handler: str,
    *,
    wait_ready: bool = True,
    **settings: str | int | float,
) -> Agent:
    """An agent running `handler` of handlers/*.mjs with nodejs22 and perRuntime 50."""
    task = tmp_path / "task"
    if not task.exists():
        task.mkdir()
        for source in HANDLERS.glob("*.mjs"):
            (task / source.name).write_bytes(source.read_bytes())
    env = pod_environment(
        path="/usr/local/bin:/usr/bin:/bin",
        home=tmp_path,
        runtime="nodejs22",
        handler=handler,
        task_root=task,
        bootstrap=node22.bootstrap,
        settings=settings,
    )
    env["AWS_EXECUTION_ENV"] = "AWS_Lambda_nodejs22"
    env["AWS_LAMBDA_MAX_CONCURRENCY"] = "50"
    return launch_agent(env, wait_ready=wait_ready, timeout=60)


def test_fifty_calls_run_at_once_in_one_node_process(
    launch_agent: LaunchAgent, node22: NodeRuntime, tmp_path: Path
) -> None:
    agent = start(launch_agent, node22, tmp_path, "concurrent.nap", timeout_seconds=30)
    # The agent is ready at the first worker's /next; the others still load the handler.
    burst(agent.port, [{"ms": 100}] * 50)
    # A worker takes its next call a /next round trip after its last: on a loaded machine
    # 50 calls take a few hundred ms to be handed out, hence a handler of a second here.
    replies = burst(agent.port, [{"ms": 1000}] * 50)
    assert [r.status for r in replies] == [200] * 50
    assert all("x-amz-function-error" not in r.headers for r in replies)
    results: list[dict[str, Any]] = [r.json() for r in replies]  # type: ignore[misc]
    assert len({r["pid"] for r in results}) == 1
    assert max(r["start"] for r in results) < min(r["end"] for r in results)
    assert {r["requestId"] for r in results} == {r.headers["x-kappa-request-id"] for r in replies}
    for reply in replies:
        agent.wait_for(f"^REPORT RequestId: {reply.headers['x-kappa-request-id']}\t")


def test_a_callback_handler_is_an_init_error(
    launch_agent: LaunchAgent, node22: NodeRuntime, tmp_path: Path
) -> None:
    """As Lambda Managed Instances: aws-lambda-ric 4 takes async handlers only."""
    agent = start(launch_agent, node22, tmp_path, "concurrent.callback", wait_ready=False)
    assert agent.exit_status(60) == 1
    assert agent.termination_message()["errorType"] == "Runtime.CallbackHandlerDeprecated"
