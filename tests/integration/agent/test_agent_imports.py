"""The agent starts on every cold start: its import path is the standard library and kappa.agent."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("kopf", "kubernetes", "pydantic", "aiohttp", "prometheus_client", "uuid", "yaml")


def test_agent_imports_none_of_the_heavy_packages() -> None:
    probe = (
        "import sys, json; import kappa.agent.app, kappa.cli; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    modules = set(json.loads(result.stdout))
    loaded = sorted(name for name in modules if name.split(".")[0] in HEAVY)
    assert loaded == []


def test_agent_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kappa", "agent", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0
    assert "Lambda Runtime API" in result.stdout
