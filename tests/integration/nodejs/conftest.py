"""Fixtures: Node.js runtimes as the nodejs20/nodejs22 images have them, under the real agent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.integration.nodejs.harness import (
    FUNCTION_ARN,
    LISTENING,
    RUNTIMES,
    Agent,
    NodeRuntime,
    StartAgent,
    build_node_runtime,
)

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
def start_agent(node_runtime: NodeRuntime, task_root: Path, tmp_path: Path) -> Iterator[StartAgent]:
    """Start agents running `handler` with the Node runtime; all are stopped at the end."""
    started: list[Agent] = []

    def start(
        handler: str,
        *,
        wait_ready: bool = True,
        env: Mapping[str, str] | None = None,
        **settings: str | int | float,
    ) -> Agent:
        """`settings` are the agent's KAPPA_* variables; `env` more of the pod's environment."""
        termination_log = tmp_path / f"termination-log-{len(started)}"
        pod_env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "KAPPA_RUNTIME": node_runtime.name,
            "KAPPA_BOOTSTRAP": str(node_runtime.bootstrap),
            "KAPPA_FUNCTION_ARN": FUNCTION_ARN,
            "KAPPA_AGENT_HOST": "127.0.0.1",
            "KAPPA_AGENT_PORT": "0",
            "KAPPA_RUNTIME_API_PORT": "0",
            "KAPPA_TERMINATION_LOG": str(termination_log),
            "LAMBDA_TASK_ROOT": str(task_root),
            "_HANDLER": handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{node_runtime.name}",
            "AWS_LAMBDA_FUNCTION_NAME": "demo",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/demo",
            "AWS_LAMBDA_LOG_STREAM_NAME": "demo-pod",
            "AWS_REGION": "us-east-1",
        }
        pod_env.update({f"KAPPA_{name.upper()}": str(value) for name, value in settings.items()})
        pod_env.update(env or {})
        process = subprocess.Popen(
            [sys.executable, "-m", "kappa", "agent"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=pod_env,
            cwd=tmp_path,
        )
        agent = Agent(process, termination_log)
        started.append(agent)
        agent.start_reading()
        agent.port = int(agent.wait_for(LISTENING.pattern).group(1))
        if wait_ready:
            agent.wait_for("kappa-agent: ready")
        return agent

    yield start
    for agent in started:
        agent.stop()
