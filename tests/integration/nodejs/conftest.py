"""Fixtures: Node.js runtimes as the nodejs20/nodejs22 images have them, under the real agent."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    AGENT_ENTRY,
    Agent,
    LaunchAgent,
    StartAgent,
    pod_environment,
)
from tests.integration.gateway import conftest as gateway_fixtures
from tests.integration.nodejs.harness import RUNTIMES, NodeRuntime, build_node_runtime

HANDLERS = Path(__file__).parent / "handlers"


@pytest.fixture(scope="session", params=RUNTIMES)
def node_runtime(request: pytest.FixtureRequest) -> NodeRuntime:
    """Node and aws-lambda-ric for each runtime, cached under $KAPPA_CACHE/node/<version>/.

    The first session on a machine downloads node and builds aws-lambda-ric's
    native addon (about two minutes per runtime); later ones reuse the build
    until runtime-images/nodejs-ric changes.
    """
    cache = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa")) / "node"
    try:
        return build_node_runtime(request.param, cache)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    """The function's code: every handler under handlers/, as a Function's code would be."""
    root = tmp_path / "task"
    shutil.copytree(HANDLERS, root)
    return root


@pytest.fixture
def start_agent(
    launch_agent: LaunchAgent, node_runtime: NodeRuntime, task_root: Path, tmp_path: Path
) -> StartAgent:
    """Start agents running `handler` with the Node runtime; all are stopped at the end."""

    def start(
        handler: str,
        *,
        wait_ready: bool = True,
        env: Mapping[str, str] | None = None,
        entry: tuple[str, ...] = AGENT_ENTRY,
        **settings: str | int | float,
    ) -> Agent:
        """`settings` are the agent's KAPPA_* variables; `env` more of the pod's environment.

        `entry`: the module run (agent_harness.AGENT_ENTRY or LAUNCHER_ENTRY).
        """
        pod_env = pod_environment(
            path="/usr/local/bin:/usr/bin:/bin",
            home=tmp_path,
            runtime=node_runtime.name,
            handler=handler,
            task_root=task_root,
            bootstrap=node_runtime.bootstrap,
            settings=settings,
        )
        pod_env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{node_runtime.name}"
        pod_env.update(env or {})
        return launch_agent(pod_env, wait_ready=wait_ready, timeout=30, entry=entry)

    return start


# The gateway tests' fixtures: a real gateway, boto3 clients pointed at it.
start_gateway = gateway_fixtures.start_gateway
lambda_client = gateway_fixtures.lambda_client
