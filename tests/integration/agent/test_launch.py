"""The pod image's launcher (`python -m kappa.agent.launch`): runtimes before the agent.

On a plain pod it binds each slot's Runtime API and starts each runtime before the
agent's imports; the agent then serves them as its own. Elsewhere (a zygote, code to
fetch, runtimes it cannot start) it leaves today's order. Either way the agent's
answers, Init Duration and init errors are today's (test_python_runtime.py runs its
whole table under the launcher too).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    AGENT_ENTRY,
    LAUNCHER_ENTRY,
    Agent,
    StartAgent,
    python_bootstrap,
)

HANDLERS = Path(__file__).parent / "handlers"
EARLY_PID = r"runtime started before the agent \(pid (\d+)\)"


@pytest.fixture
def bootstrap(task_root: Path, tmp_path: Path) -> Path:
    for source in HANDLERS.glob("*.py"):
        shutil.copy(source, task_root / source.name)
    return python_bootstrap(tmp_path)


def early_slots(agent: Agent) -> list[str]:
    return [line for line in agent.output().splitlines() if "runtime started before" in line]


def test_every_slot_takes_the_runtime_the_launcher_started(
    start_agent: StartAgent, bootstrap: Path
) -> None:
    agent = start_agent(
        handler="app.echo", bootstrap=bootstrap, entry=LAUNCHER_ENTRY, slots=2, zygote="off"
    )
    early_pids = {int(agent.wait_for(rf"slot {slot}: {EARLY_PID}").group(1)) for slot in (0, 1)}
    ports = {agent.runtime_api_port(slot) for slot in (0, 1)}
    first = agent.invoke({"n": 1})
    assert first.status == 200
    answer = first.json()
    assert isinstance(answer, dict)
    assert answer["event"] == {"n": 1}
    assert float(first.headers["x-kappa-init-duration-ms"]) > 0
    # The runtime that answered is one the launcher started, on the port it was given
    # before the agent served it, with the agent's own variables kept from it.
    assert answer["pid"] in early_pids
    assert int(answer["runtime_api"].rsplit(":", 1)[1]) in ports
    assert answer["kappa_vars"] == []
    assert len(early_pids) == len(ports) == 2


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"zygote": "on"}, id="zygote"),
        pytest.param({"zygote": "on", "slots": 2}, id="zygote-two-slots"),
    ],
)
def test_a_zygote_pod_keeps_todays_order(
    start_agent: StartAgent, bootstrap: Path, settings: dict[str, str | int]
) -> None:
    agent = start_agent(handler="app.echo", bootstrap=bootstrap, entry=LAUNCHER_ENTRY, **settings)
    agent.wait_for("zygote ready in")
    answer = agent.invoke({"n": 2}).json()
    assert isinstance(answer, dict)
    assert answer["event"] == {"n": 2}
    assert early_slots(agent) == []


def test_an_unstartable_runtime_falls_back_to_todays_order_and_error(
    start_agent: StartAgent, tmp_path: Path
) -> None:
    """The launcher cannot exec it: the agent execs it as today and reports the same error."""
    not_executable = tmp_path / "bootstrap"
    not_executable.write_text("#!/bin/sh\n")
    messages = []
    for entry in (AGENT_ENTRY, LAUNCHER_ENTRY):
        agent = start_agent(bootstrap=not_executable, wait_ready=False, entry=entry)
        assert agent.exit_status() == 1
        assert early_slots(agent) == []
        messages.append(agent.termination_message())
    assert messages[0] == messages[1]
    assert messages[0]["errorType"] == "Runtime.InvalidEntrypoint"


@pytest.mark.parametrize(
    ("script", "error_type", "message"),
    [
        pytest.param(
            "exit 3", "Runtime.ExitError", "Runtime exited with error: exit status 3", id="exit"
        ),
        pytest.param(
            "exit 0", "Runtime.ExitError", "Runtime exited without providing a reason", id="exit-0"
        ),
        pytest.param(
            "kill -9 $$",
            "Runtime.ExitError",
            "Runtime exited with error: signal: killed",
            id="killed",
        ),
    ],
)
def test_a_runtime_ending_at_start_is_the_same_init_error_in_both_orders(
    start_agent: StartAgent, tmp_path: Path, script: str, error_type: str, message: str
) -> None:
    bootstrap = tmp_path / "dies"
    bootstrap.write_text(f"#!/bin/sh\necho starting\n{script}\n")
    bootstrap.chmod(0o755)
    for entry in (AGENT_ENTRY, LAUNCHER_ENTRY):
        agent = start_agent(bootstrap=bootstrap, wait_ready=False, entry=entry)
        assert agent.exit_status() == 1
        assert agent.termination_message() == {"errorType": error_type, "errorMessage": message}
        agent.wait_for("^starting$")  # its output before the agent started is not lost
        assert len(early_slots(agent)) == (1 if entry == LAUNCHER_ENTRY else 0)
        status = agent.process.returncode
        assert status == 1
