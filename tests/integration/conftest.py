"""Every test under tests/integration runs real processes: `-m integration` selects this tier."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import AGENT_ENTRY, LISTENING, Agent, LaunchAgent

_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_DIR):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def launch_agent(tmp_path: Path) -> Iterator[LaunchAgent]:
    """Run `python -m kappa agent` in tmp_path; each is stopped (its pipe closed) after the test.

    `env` is the agent's whole environment (agent_harness.pod_environment) but
    KAPPA_TERMINATION_LOG: every agent gets a termination log of its own. `entry`: the
    module run, today's `kappa agent` or the pod image's launcher (LAUNCHER_ENTRY).
    The agent is returned listening, and ready unless `wait_ready` is false.
    """
    started: list[Agent] = []

    def launch(
        env: Mapping[str, str],
        *,
        wait_ready: bool = True,
        timeout: float = 20,
        entry: tuple[str, ...] = AGENT_ENTRY,
    ) -> Agent:
        termination_log = tmp_path / f"termination-log-{len(started)}"
        process = subprocess.Popen(
            [sys.executable, "-m", *entry],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**env, "KAPPA_TERMINATION_LOG": str(termination_log)},
            cwd=tmp_path,
        )
        agent = Agent(process, termination_log)
        started.append(agent)
        agent.start_reading()
        agent.port = int(agent.wait_for(LISTENING.pattern, timeout).group(1))
        if wait_ready:
            agent.wait_for("kappa-agent: ready", timeout)
        return agent

    yield launch
    for agent in started:
        agent.stop()
