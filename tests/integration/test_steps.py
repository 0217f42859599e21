"""The numbered steps of `make up` and the first-run check (e2e/local/steps.sh), run for
real with bash: a step says when it is done and how long it took, keeps its output in
its log, says every tick that it still runs, and a failed step shows its log's path,
its last lines and how to run it again, then ends the script with the step's status."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

STEPS = Path(__file__).resolve().parents[2] / "e2e/local/steps.sh"


def run_steps(tmp_path: Path, script: str, tick: int = 30) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "STEP_LOGS": str(tmp_path / "logs"), "STEP_TICK": str(tick)}
    program = f"set -euo pipefail; . {STEPS}; STEP_TOTAL=2; STEP_RERUN='make up'\n{script}"
    return subprocess.run(
        ["bash", "-c", program], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_step_that_succeeds_is_numbered_timed_and_logged(tmp_path: Path) -> None:
    result = run_steps(tmp_path, "step one 'the first' 'first run: long' -- echo hello")
    assert result.returncode == 0
    assert "[1/2] the first (first run: long) ...\n" in result.stderr
    # The elapsed time is whatever the machine took: its shape is asserted, not its value.
    assert re.search(r"^\[1/2\] the first \.\.\. done in \d+s$", result.stderr, re.M)
    assert "hello" not in result.stderr + result.stdout
    assert "hello\n" in (tmp_path / "logs/one.log").read_text()


def test_a_failed_step_shows_its_log_its_last_lines_and_how_to_rerun(tmp_path: Path) -> None:
    script = (
        "step ok 'fine' -- true\n"
        "step broken 'the broken one' -- bash -c 'echo first; echo last words >&2; exit 3'\n"
        "echo not reached"
    )
    result = run_steps(tmp_path, script)
    assert result.returncode == 3
    assert re.search(
        r"^\[2/2\] the broken one \.\.\. FAILED after \d+s \(exit status 3\)$", result.stderr, re.M
    )
    assert f"log: {tmp_path / 'logs/broken.log'}" in result.stderr
    assert "  | last words\n" in result.stderr
    assert "this step alone: bash -c echo first; echo last words >&2; exit 3" in result.stderr
    assert "everything again: make up" in result.stderr
    assert "not reached" not in result.stdout


def test_a_long_step_says_what_it_is_at(tmp_path: Path) -> None:
    script = "step slow 'a slow one' -- bash -c 'echo building part 1; sleep 2.5'"
    result = run_steps(tmp_path, script, tick=1)
    assert result.returncode == 0
    assert "a slow one: still running after" in result.stderr
    assert "(at: building part 1)" in result.stderr
