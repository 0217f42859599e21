"""Fixtures: the java17 runtime as its image has it, under the real agent."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    Agent,
    LaunchAgent,
    StartAgent,
    pod_environment,
)
from tests.integration.java.harness import JavaRuntime, build_java_runtime, compile_handlers


@pytest.fixture(scope="session")
def java_runtime() -> JavaRuntime:
    """Debian's Java 17 and the runtime client, installed under $KAPPA_CACHE/java/ once."""
    cache = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa")) / "java"
    try:
        return build_java_runtime(cache)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def compiled_task(java_runtime: JavaRuntime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handlers compiled once per session, laid out as a Lambda Java zip."""
    try:
        return compile_handlers(java_runtime, tmp_path_factory.mktemp("java-build"))
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def task_root(compiled_task: Path, tmp_path: Path) -> Path:
    """This test's copy of the compiled handlers, as a Function's code would be."""
    root = tmp_path / "task"
    shutil.copytree(compiled_task, root)
    return root


@pytest.fixture
def start_agent(
    launch_agent: LaunchAgent, java_runtime: JavaRuntime, task_root: Path, tmp_path: Path
) -> StartAgent:
    """Start agents running `handler` with the java17 runtime; all are stopped at the end."""

    def start(
        handler: str,
        *,
        wait_ready: bool = True,
        env: Mapping[str, str] | None = None,
        **settings: str | int | float,
    ) -> Agent:
        """`settings` are the agent's KAPPA_* variables; `env` more of the pod's environment."""
        pod_env = pod_environment(
            path="/usr/local/bin:/usr/bin:/bin",
            home=tmp_path,
            runtime="java17",
            handler=handler,
            task_root=task_root,
            bootstrap=java_runtime.bootstrap,
            settings=settings,
        )
        pod_env["AWS_EXECUTION_ENV"] = "AWS_Lambda_java17"
        pod_env.update(env or {})
        return launch_agent(pod_env, wait_ready=wait_ready, timeout=60)

    return start
