"""`runtime: image`: the runtime is the user's own process (its own container), not the agent's.

The agent starts no runtime; the user's process finds the Runtime API at
AWS_LAMBDA_RUNTIME_API, as it would in Lambda. Here that process is a real
awslambdaric started by the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import StartAgent

HANDLERS = Path(__file__).parent / "handlers"


@pytest.fixture
def external_runtimes() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait(10)


def test_external_runtime_serves_invocations(
    start_agent: StartAgent,
    task_root: Path,
    external_runtimes: list[subprocess.Popen[bytes]],
) -> None:
    shutil.copy(HANDLERS / "app.py", task_root / "app.py")
    agent = start_agent(runtime="image", wait_ready=False)
    assert agent.request("GET", "/readyz").status == 503  # no runtime has called /next yet
    port = agent.runtime_api_port(0)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "demo",
    }
    external_runtimes.append(
        subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", "app.echo"],
            cwd=task_root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    agent.wait_for("kappa-agent: ready")
    reply = agent.invoke({"from": "outside"})
    assert reply.status == 200
    result = reply.json()
    assert isinstance(result, dict)
    assert result["event"] == {"from": "outside"}
    assert result["runtime_api"] == f"127.0.0.1:{port}"
