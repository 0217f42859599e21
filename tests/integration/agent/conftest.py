"""Fixtures: the real agent (`python -m kappa agent`) as a subprocess, with real runtimes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import FUNCTION_ARN, LISTENING, Agent, StartAgent


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    return root


@pytest.fixture
def start_agent(tmp_path: Path, task_root: Path) -> Iterator[StartAgent]:
    """Start agents; each is stopped (and its pipes closed) at the end of the test."""
    started: list[Agent] = []

    def start(
        *,
        runtime: str = "python3.11",
        handler: str = "",
        bootstrap: Path | str | None = None,
        wait_ready: bool = True,
        **settings: str | int | float,
    ) -> Agent:
        termination_log = tmp_path / f"termination-log-{len(started)}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "KAPPA_RUNTIME": runtime,
            "KAPPA_FUNCTION_ARN": FUNCTION_ARN,
            "KAPPA_AGENT_HOST": "127.0.0.1",
            "KAPPA_AGENT_PORT": "0",
            "KAPPA_RUNTIME_API_PORT": "0",
            "KAPPA_TERMINATION_LOG": str(termination_log),
            "LAMBDA_TASK_ROOT": str(task_root),
            "_HANDLER": handler,
            "AWS_LAMBDA_FUNCTION_NAME": "demo",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/demo",
            "AWS_LAMBDA_LOG_STREAM_NAME": "demo-pod",
            "AWS_REGION": "us-east-1",
            "TZ": "UTC",
        }
        if bootstrap is not None:
            env["KAPPA_BOOTSTRAP"] = str(bootstrap)
        env.update({f"KAPPA_{name.upper()}": str(value) for name, value in settings.items()})
        process = subprocess.Popen(
            [sys.executable, "-m", "kappa", "agent"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
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
        try:
            if agent.process.poll() is None:
                agent.stop(signal.SIGTERM, timeout=15)
        except subprocess.TimeoutExpired:
            agent.process.kill()
            agent.process.wait(5)
        finally:
            if agent.process.stdout is not None:
                agent.process.stdout.close()
