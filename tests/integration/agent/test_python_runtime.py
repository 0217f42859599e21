"""The agent with the python runtime: real awslambdaric processes, handlers in a tmp task root."""

from __future__ import annotations

import base64
import json
import re
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    AGENT_ENTRY,
    FUNCTION_ARN,
    LAUNCHER_ENTRY,
    ROUNDING_MS,
    Agent,
    StartAgent,
    epoch_ms,
    python_bootstrap,
)

HANDLERS = Path(__file__).parent / "handlers"
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>\d+\.\d\d) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: 256 MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(?:\tInit Duration: (?P<init>\d+\.\d\d) ms)?(?:\tStatus: (?P<status>\w+))?"
    r"(?:\tError Type: (?P<error_type>\S+))?$"
)


@pytest.fixture(params=["off", "on", "launcher"], ids=["exec", "zygote", "launcher"])
def python_agent(
    start_agent: StartAgent, task_root: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> StartAgent:
    """Start an agent running handlers/*.py with the python runtime's bootstrap.

    Every test runs three times: runtimes exec'd one per slot by the agent, forked from a
    zygote, and exec'd by the pod image's launcher before the agent's imports.
    """
    for source in HANDLERS.glob("*.py"):
        shutil.copy(source, task_root / source.name)
    bootstrap = python_bootstrap(tmp_path)
    launcher = request.param == "launcher"

    def start(handler: str = "app.echo", **settings: str | int | float) -> Agent:
        settings.setdefault("zygote", "off" if launcher else request.param)
        entry = LAUNCHER_ENTRY if launcher else AGENT_ENTRY
        agent = start_agent(handler=handler, bootstrap=bootstrap, entry=entry, **settings)
        if settings["zygote"] == "on" and agent.process.poll() is None:
            agent.wait_for(r"zygote ready in")  # not the fallback to exec'd runtimes
        if launcher:  # not the fallback to today's order
            agent.wait_for(r"slot 0: runtime started before the agent")
        return agent

    return start


def reports(agent: Agent, request_id: str) -> list[re.Match[str]]:
    agent.wait_for(f"^REPORT RequestId: {request_id}\t")
    return [
        match
        for line in agent.output().splitlines()
        if (match := REPORT.match(line)) and match["id"] == request_id
    ]


def test_event_in_result_out(python_agent: StartAgent, task_root: Path) -> None:
    agent = python_agent()
    reply = agent.invoke({"hello": "world"}, headers={"X-Kappa-Request-Id": "req-1"})
    assert reply.status == 200
    assert "x-amz-function-error" not in reply.headers
    assert reply.headers["x-kappa-request-id"] == "req-1"
    result = reply.json()
    assert isinstance(result, dict)
    assert result["event"] == {"hello": "world"}
    assert result["request_id"] == "req-1"
    assert result["function_arn"] == FUNCTION_ARN
    assert result["function_name"] == "demo"
    assert result["memory_limit_in_mb"] == "256"
    assert result["runtime_api"].startswith("127.0.0.1:")
    assert result["kappa_vars"] == []  # the agent's own settings stay with the agent
    assert result["cwd"] == str(task_root)
    # The runtime's stdout reaches the agent's apart from the reply: wait for the line.
    agent.wait_for(re.escape("echo handler got {'hello': 'world'}"))


def test_empty_payload_is_an_empty_object(python_agent: StartAgent) -> None:
    agent = python_agent()
    result = agent.invoke(raw=b"").json()
    assert isinstance(result, dict)
    assert result["event"] == {}


def test_request_id_is_made_when_not_given(python_agent: StartAgent) -> None:
    agent = python_agent()
    reply = agent.invoke({})
    request_id = reply.headers["x-kappa-request-id"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", request_id
    )
    result = reply.json()
    assert isinstance(result, dict)
    assert result["request_id"] == request_id


def test_handler_exception_is_lambdas_error_json(python_agent: StartAgent) -> None:
    agent = python_agent("app.fail")
    reply = agent.invoke({"why": "testing"}, headers={"X-Kappa-Request-Id": "req-err"})
    assert reply.status == 200
    assert reply.headers["x-amz-function-error"] == "Unhandled"
    error = reply.json()
    assert isinstance(error, dict)
    assert set(error) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad thing: testing"
    assert error["requestId"] == "req-err"
    assert any("raise ValueError" in frame for frame in error["stackTrace"])
    # The runtime's own error lines are part of the invocation's log.
    assert "[ERROR] ValueError: bad thing: testing" in reply.log_tail
    # The runtime survives a handler error and serves the next invocation.
    assert agent.invoke({"why": "again"}).headers["x-amz-function-error"] == "Unhandled"


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        pytest.param(
            "broken.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'broken': No module named 'module_that_does_not_exist'",
            id="import-error",
        ),
        pytest.param(
            "app.nope",
            "Runtime.HandlerNotFound",
            "Handler 'nope' missing on module 'app'",
            id="missing-handler",
        ),
        pytest.param(
            "nosuchmodule.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'nosuchmodule': No module named 'nosuchmodule'",
            id="missing-module",
        ),
    ],
)
def test_init_error_ends_the_agent_with_the_message_in_the_termination_log(
    python_agent: StartAgent, handler: str, error_type: str, message: str
) -> None:
    agent = python_agent(handler, wait_ready=False)
    assert agent.exit_status() == 1
    assert agent.termination_message() == {"errorType": error_type, "errorMessage": message}
    agent.wait_for(re.escape(f"{error_type}: {message}"))  # printed apart from the reply


def test_init_timeout_is_an_init_error(start_agent: StartAgent, tmp_path: Path) -> None:
    bootstrap = tmp_path / "never-ready"
    bootstrap.write_text("#!/bin/sh\nexec sleep 30\n")
    bootstrap.chmod(0o755)
    agent = start_agent(bootstrap=bootstrap, init_timeout_seconds=0.5, wait_ready=False)
    assert agent.exit_status() == 1
    assert agent.termination_message() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "Runtime init timed out after 0.50 seconds",
    }


def test_status_and_readiness(python_agent: StartAgent) -> None:
    agent = python_agent(slots=2)
    assert agent.request("GET", "/readyz").status == 200
    assert agent.request("GET", "/healthz").status == 200
    status = json.loads(agent.request("GET", "/status").body)
    assert status == {
        "state": "ready",
        "slots": 2,
        "busy": 0,
        "error": None,
        "function": FUNCTION_ARN,
    }


def test_timeout_ends_the_invocation_and_a_fresh_runtime_serves_the_next(
    python_agent: StartAgent,
) -> None:
    agent = python_agent("app.sleepy", timeout_seconds=1)
    first = agent.invoke({"seconds": 0})
    first_pid = first.json()["pid"]  # type: ignore[index]
    # The handler would sleep far past the hang guard of the call (30 s): an answer at all
    # means the agent's timeout ended it.
    reply = agent.invoke({"seconds": 600}, headers={"X-Kappa-Request-Id": "req-slow"}, timeout=30)
    assert reply.headers["x-amz-function-error"] == "Unhandled"
    error = reply.json()
    assert isinstance(error, dict)
    assert error["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z req-slow Task timed out after 1\.0\d seconds",
        error["errorMessage"],
    )
    assert error["errorMessage"] in reply.log_tail
    (report,) = reports(agent, "req-slow")
    assert report["status"] == "timeout"
    next_reply = agent.invoke({"seconds": 0})
    assert "x-amz-function-error" not in next_reply.headers
    assert next_reply.json()["pid"] != first_pid  # type: ignore[index]
    assert "x-kappa-init-duration-ms" in next_reply.headers  # a cold start of the new runtime


def test_client_context_reaches_the_handler(python_agent: StartAgent) -> None:
    agent = python_agent()
    context = {
        "client": {"installation_id": "install-1", "app_title": "demo"},
        "custom": {"tenant": "blue"},
        "env": {"locale": "en"},
    }
    header = base64.b64encode(json.dumps(context).encode()).decode()
    result = agent.invoke({}, headers={"X-Amz-Client-Context": header}).json()
    assert isinstance(result, dict)
    assert result["client_context"] == {
        "custom": {"tenant": "blue"},
        "env": {"locale": "en"},
        "installation_id": "install-1",
    }


def test_bad_client_context_is_refused(python_agent: StartAgent) -> None:
    agent = python_agent()
    reply = agent.invoke({}, headers={"X-Amz-Client-Context": "not base64 json!"})
    assert reply.status == 400
    assert reply.json() == {
        "errorMessage": "Client context must be a valid Base64-encoded JSON object.",
        "errorType": "InvalidRequestContentException",
    }


def test_remaining_time_follows_the_timeout(python_agent: StartAgent) -> None:
    agent = python_agent(timeout_seconds=7)
    sent = epoch_ms()
    result = agent.invoke({}).json()
    answered = epoch_ms()
    assert isinstance(result, dict)
    # The deadline is 7 s after the agent took the call, which was between these two.
    deadline = result["now_ms"] + result["remaining_ms"]
    assert sent + 7000 - ROUNDING_MS <= deadline <= answered + 7000 + ROUNDING_MS


def test_remaining_time_follows_the_gateways_deadline(python_agent: StartAgent) -> None:
    agent = python_agent(timeout_seconds=60)
    deadline_ms = epoch_ms() + 2000
    result = agent.invoke({}, headers={"X-Kappa-Deadline-Ms": str(deadline_ms)}).json()
    assert isinstance(result, dict)
    assert abs(result["now_ms"] + result["remaining_ms"] - deadline_ms) <= ROUNDING_MS


def test_report_lines_with_init_duration_on_the_first_invocation_only(
    python_agent: StartAgent,
) -> None:
    agent = python_agent()
    first = agent.invoke({}, headers={"X-Kappa-Request-Id": "req-first"})
    second = agent.invoke({}, headers={"X-Kappa-Request-Id": "req-second"})
    assert float(first.headers["x-kappa-init-duration-ms"]) > 0
    assert "x-kappa-init-duration-ms" not in second.headers
    (first_report,) = reports(agent, "req-first")
    (second_report,) = reports(agent, "req-second")
    assert first_report["init"] is not None
    assert float(first_report["init"]) == pytest.approx(
        float(first.headers["x-kappa-init-duration-ms"])
    )
    assert second_report["init"] is None
    for report in (first_report, second_report):
        assert report["status"] is None
        assert int(report["billed"]) >= float(report["duration"])
        assert int(report["billed"]) - float(report["duration"]) < 1
        assert int(report["used"]) > 5  # a Python process's resident memory
    lines = agent.output().splitlines()
    start = lines.index("START RequestId: req-first Version: $LATEST")
    end = lines.index("END RequestId: req-first")
    assert start < end
    assert lines[end + 1].startswith("REPORT RequestId: req-first\t")


def test_log_result_is_the_last_4_kb_of_the_invocations_log(python_agent: StartAgent) -> None:
    agent = python_agent("app.noisy")
    reply = agent.invoke({"lines": 200}, headers={"X-Kappa-Request-Id": "req-noisy"})
    tail = base64.b64decode(reply.headers["x-amz-log-result"])
    assert len(tail) == 4096
    text = tail.decode()
    assert "line 00199 " in text
    assert "line 00000 " not in text
    assert "START RequestId" not in text  # dropped: more than 4 KB ago
    assert text.endswith("\n")
    assert "END RequestId: req-noisy\nREPORT RequestId: req-noisy\t" in text


def test_short_log_result_holds_the_whole_invocation(python_agent: StartAgent) -> None:
    agent = python_agent()
    tail = agent.invoke({"n": 1}, headers={"X-Kappa-Request-Id": "req-short"}).log_tail
    assert tail.startswith("START RequestId: req-short Version: $LATEST\n")
    assert "echo handler got {'n': 1}\n" in tail
    assert "\nEND RequestId: req-short\nREPORT RequestId: req-short\t" in tail


def test_response_over_6_mb_is_lambdas_size_error(python_agent: StartAgent) -> None:
    agent = python_agent("app.big")
    fits = agent.invoke({"size": 6 * 1024 * 1024})  # the JSON string's quotes fit in the 100 spare
    assert "x-amz-function-error" not in fits.headers
    assert len(fits.body) == 6 * 1024 * 1024 + 2
    reply = agent.invoke({"size": 7 * 1024 * 1024})
    assert reply.status == 200
    assert reply.headers["x-amz-function-error"] == "Unhandled"
    assert reply.json() == {
        "errorMessage": (
            "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
        ),
        "errorType": "Function.ResponseSizeTooLarge",
    }
    # awslambdaric exits on the 413; a fresh runtime takes the next invocation.
    again = agent.invoke({"size": 10})
    assert again.body == b'"xxxxxxxxxx"'


def test_runtime_crash_is_an_exit_error_and_the_runtime_is_replaced(
    python_agent: StartAgent,
) -> None:
    agent = python_agent("app.crash")
    reply = agent.invoke({}, headers={"X-Kappa-Request-Id": "req-crash"})
    assert reply.headers["x-amz-function-error"] == "Unhandled"
    assert reply.json() == {
        "errorMessage": "RequestId: req-crash Error: Runtime exited with error: exit status 3",
        "errorType": "Runtime.ExitError",
    }
    assert "crashing now" in reply.log_tail
    (report,) = reports(agent, "req-crash")
    assert (report["status"], report["error_type"]) == ("error", "Runtime.ExitError")
    assert agent.invoke({}).headers["x-amz-function-error"] == "Unhandled"  # served again


def test_two_slots_serve_two_invocations_at_once(python_agent: StartAgent, tmp_path: Path) -> None:
    # Each call waits inside its handler until both have arrived: only side by side do
    # they meet (one after the other, the first would wait alone until its guard).
    agent = python_agent("app.rendezvous", slots=2, timeout_seconds=60)
    event = {"dir": str(tmp_path / "arrived"), "count": 2}
    (tmp_path / "arrived").mkdir()
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: agent.invoke(event, timeout=60), range(2)))
    assert all(reply.status == 200 for reply in replies)
    results = [reply.json() for reply in replies]
    assert [r["met"] for r in results] == [2, 2]  # type: ignore[index]
    assert len({r["pid"] for r in results}) == 2  # type: ignore[index]


def test_a_call_beyond_the_slots_is_refused(python_agent: StartAgent) -> None:
    agent = python_agent("app.sleepy")
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(agent.invoke, {"seconds": 1})
        deadline = time.monotonic() + 30  # a hang guard
        while json.loads(agent.request("GET", "/status").body)["busy"] == 0:
            assert time.monotonic() < deadline, "the first call never took the slot"
            time.sleep(0.01)
        refused = agent.invoke({"seconds": 0})
        assert busy.result().status == 200
    assert refused.status == 429
    assert refused.json() == {
        "errorMessage": "every slot of this pod is busy",
        "errorType": "Kappa.NoFreeSlot",
    }


def test_sigterm_lets_the_invocation_in_flight_finish(python_agent: StartAgent) -> None:
    agent = python_agent("app.sleepy")
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(agent.invoke, {"seconds": 1})
        agent.wait_for("^START RequestId")
        agent.process.send_signal(signal.SIGTERM)
        reply = in_flight.result()
    assert reply.status == 200
    assert "x-amz-function-error" not in reply.headers
    assert agent.exit_status() == 0


def test_metrics(python_agent: StartAgent) -> None:
    agent = python_agent()
    agent.invoke({})
    text = agent.request("GET", "/metrics").body.decode()
    assert 'kappa_agent_invocations_total{outcome="success"} 1.0' in text
    assert 'kappa_agent_invocations_total{outcome="timeout"} 0.0' in text
    assert "kappa_agent_invocation_duration_seconds_count 1.0" in text
    assert "kappa_agent_init_duration_seconds_count 1.0" in text
    assert "kappa_agent_slots 1.0" in text
