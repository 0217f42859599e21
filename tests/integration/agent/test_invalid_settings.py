"""A bad setting ends the agent at start, with every bad variable in the termination log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import AGENT_ENTRY, LAUNCHER_ENTRY, pod_environment


@pytest.mark.parametrize("entry", [AGENT_ENTRY, LAUNCHER_ENTRY], ids=["agent", "launcher"])
def test_bad_settings_reach_the_termination_log(tmp_path: Path, entry: tuple[str, ...]) -> None:
    termination_log = tmp_path / "termination-log"
    env = pod_environment(
        path="/usr/bin:/bin",
        home=tmp_path,
        runtime="python3.11",
        handler="app.echo",
        task_root=tmp_path,
        settings={"slots": "two", "header_timeout_seconds": "0"},
    )
    result = subprocess.run(
        [sys.executable, "-m", *entry],
        env={**env, "KAPPA_TERMINATION_LOG": str(termination_log)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    message = json.loads(termination_log.read_text())
    assert message["errorType"] == "Kappa.InvalidSettings"
    assert "KAPPA_SLOTS='two'" in message["errorMessage"]
    assert "KAPPA_HEADER_TIMEOUT_SECONDS='0'" in message["errorMessage"]
