"""Slots forked from a zygote: the real agent, the real zygote and real awslambdaric runtimes."""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import Agent, StartAgent, python_bootstrap

HANDLERS = Path(__file__).parent / "handlers"
SLOTS = 4
SLOW = {"sleep": 0.5}

ZYGOTE_HANDLERS = """\
import os
import time

INIT_PID = os.getpid()  # module-level init: runs in each slot's own process


def environment(event, context):
    time.sleep(event.get("sleep", 0))  # so that calls made together reach different slots
    return {"pid": os.getpid(), "init_pid": INIT_PID, "ppid": os.getppid(),
            "env": dict(os.environ)}
"""


@pytest.fixture
def agent_with(start_agent: StartAgent, task_root: Path, tmp_path: Path) -> StartAgent:
    for source in HANDLERS.glob("*.py"):
        shutil.copy(source, task_root / source.name)
    (task_root / "zyg.py").write_text(ZYGOTE_HANDLERS)
    bootstrap = python_bootstrap(tmp_path)

    def start(handler: str, *, zygote: str = "on", **settings: str | int | float) -> Agent:
        return start_agent(handler=handler, bootstrap=bootstrap, zygote=zygote, **settings)

    return start


def zygote_pid(agent: Agent) -> int:
    return int(agent.wait_for(r"zygote ready in [\d.]+ ms \(pid (\d+)\)").group(1))


def test_four_slots_serve_side_by_side_each_a_child_of_the_zygote(
    agent_with: StartAgent, tmp_path: Path
) -> None:
    agent = agent_with("app.rendezvous", slots=SLOTS, timeout_seconds=60)
    zygote = zygote_pid(agent)
    event = {"dir": str(tmp_path / "arrived"), "count": SLOTS}
    (tmp_path / "arrived").mkdir()
    with ThreadPoolExecutor(SLOTS) as pool:
        replies = list(pool.map(lambda _: agent.invoke(event, timeout=60), range(SLOTS)))
    results = [reply.json() for reply in replies]
    assert [r["met"] for r in results] == [SLOTS] * SLOTS  # type: ignore[index]
    pids = {r["pid"] for r in results}  # type: ignore[index]
    assert len(pids) == SLOTS
    for pid in pids:
        # Forked, then in a session of its own (so a timeout kills only its group).
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[1]) == zygote  # parent
        assert int(stat[3]) == pid  # session id


def test_each_slot_has_its_own_init_and_the_environment_of_an_execd_runtime(
    agent_with: StartAgent,
) -> None:
    forked = agent_with("zyg.environment", slots=2)
    zygote = zygote_pid(forked)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: forked.invoke(SLOW, timeout=30), range(2)))
    results = [reply.json() for reply in replies]
    assert all(r["init_pid"] == r["pid"] for r in results)  # type: ignore[index]
    assert {r["ppid"] for r in results} == {zygote}  # type: ignore[index]
    ports = {forked.runtime_api_port(slot) for slot in range(2)}
    assert {r["env"]["AWS_LAMBDA_RUNTIME_API"] for r in results} == {  # type: ignore[index]
        f"127.0.0.1:{port}" for port in ports
    }
    exec_d = agent_with("zyg.environment", zygote="off")
    reference = exec_d.invoke({}).json()["env"]  # type: ignore[index]
    per_slot_or_call = ("AWS_LAMBDA_RUNTIME_API", "_X_AMZN_TRACE_ID")
    expected = {k: v for k, v in reference.items() if k not in per_slot_or_call}  # type: ignore[attr-defined]
    for result in results:
        env = {k: v for k, v in result["env"].items() if k not in per_slot_or_call}  # type: ignore[index]
        assert env == expected  # nothing of the zygote's (no _KAPPA_ZYGOTE_FD), nothing missing


def test_a_crashing_slot_is_replaced_from_the_zygote_and_the_others_keep_theirs(
    agent_with: StartAgent,
) -> None:
    agent = agent_with("zyg.environment", slots=2)
    zygote = zygote_pid(agent)
    with ThreadPoolExecutor(2) as pool:
        before = [r.json() for r in pool.map(lambda _: agent.invoke(SLOW, timeout=30), range(2))]
    victim, other = (r["pid"] for r in before)  # type: ignore[index]
    os.kill(victim, 9)
    # Calls made before the agent learns of the death could be handed to the dead
    # process (Runtime.ExitError, as with exec'd runtimes): wait for the fresh start.
    deadline = time.monotonic() + 20  # a hang guard
    while (
        "kappa_agent_runtime_starts_total 3.0" not in agent.request("GET", "/metrics").body.decode()
    ):
        assert time.monotonic() < deadline, "the killed slot was not restarted"
        time.sleep(0.02)
    # The killed slot gets a fresh child of the zygote; the other keeps its process.
    with ThreadPoolExecutor(2) as pool:
        after = [r.json() for r in pool.map(lambda _: agent.invoke(SLOW, timeout=30), range(2))]
    pids = {r["pid"] for r in after}  # type: ignore[index]
    assert other in pids
    assert victim not in pids
    assert len(pids) == 2
    assert {r["ppid"] for r in after} == {zygote}  # type: ignore[index]
    status = json.loads(agent.request("GET", "/status").body)
    assert status["state"] == "ready"


def test_a_slots_init_error_is_reported_as_without_a_zygote(agent_with: StartAgent) -> None:
    agent = agent_with("broken.handler", slots=SLOTS, wait_ready=False)
    assert agent.exit_status() == 1
    message = agent.termination_message()
    assert message["errorType"] == "Runtime.ImportModuleError"
    assert "zygote ready in" in agent.output()


def test_a_bootstrap_without_a_zygote_falls_back_to_execd_runtimes(
    start_agent: StartAgent, task_root: Path, tmp_path: Path
) -> None:
    shutil.copy(HANDLERS / "app.py", task_root / "app.py")
    plain = tmp_path / "plain-bootstrap"
    plain.write_text((python_bootstrap(tmp_path).read_text()).replace("--zygote", "--nothing"))
    plain.chmod(0o755)
    agent = start_agent(handler="app.echo", bootstrap=plain, zygote="on", slots=2)
    agent.wait_for("no zygote")
    assert agent.invoke({"a": 1}).json()["event"] == {"a": 1}  # type: ignore[index]


def test_a_zygote_that_dies_takes_its_children_and_slots_start_from_scratch(
    agent_with: StartAgent,
) -> None:
    agent = agent_with("zyg.environment", slots=2)
    zygote = zygote_pid(agent)
    with ThreadPoolExecutor(2) as pool:
        before = {r.json()["pid"] for r in pool.map(lambda _: agent.invoke(SLOW), range(2))}  # type: ignore[index]
    os.kill(zygote, 9)
    deadline = time.monotonic() + 20  # a hang guard
    while (
        "kappa_agent_runtime_starts_total 4.0" not in agent.request("GET", "/metrics").body.decode()
    ):
        assert time.monotonic() < deadline, "the slots were not restarted"
        time.sleep(0.02)
    for pid in before:  # killed with the zygote, not left running unsupervised
        assert not Path(f"/proc/{pid}").exists() or " Z " in Path(f"/proc/{pid}/stat").read_text()
    with ThreadPoolExecutor(2) as pool:
        after = [r.json() for r in pool.map(lambda _: agent.invoke(SLOW), range(2))]
    assert {r["ppid"] for r in after} == {agent.process.pid}  # type: ignore[index]
    assert json.loads(agent.request("GET", "/status").body)["state"] == "ready"
