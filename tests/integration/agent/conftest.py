"""Fixtures: the real agent (`python -m kappa agent`) as a subprocess, with real runtimes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    AGENT_ENTRY,
    Agent,
    LaunchAgent,
    StartAgent,
    pod_environment,
)


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    return root


@pytest.fixture
def start_agent(launch_agent: LaunchAgent, tmp_path: Path, task_root: Path) -> StartAgent:
    """Start agents; each is stopped (and its pipes closed) at the end of the test."""

    def start(
        *,
        runtime: str = "python3.11",
        handler: str = "",
        bootstrap: Path | str | None = None,
        wait_ready: bool = True,
        entry: tuple[str, ...] = AGENT_ENTRY,
        **settings: str | int | float,
    ) -> Agent:
        env = pod_environment(
            path=os.environ.get("PATH", "/usr/bin:/bin"),
            home=tmp_path,
            runtime=runtime,
            handler=handler,
            task_root=task_root,
            bootstrap=bootstrap,
            settings=settings,
        )
        return launch_agent(env, wait_ready=wait_ready, entry=entry)

    return start
