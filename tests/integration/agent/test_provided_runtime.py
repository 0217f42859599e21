"""The agent with the `provided` runtime: `$LAMBDA_TASK_ROOT/bootstrap` is the runtime.

Two real bootstraps: a script speaking the Runtime API with nothing but urllib,
and a Go binary built with AWS's aws-lambda-go.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    AGENT_ENTRY,
    FUNCTION_ARN,
    LAUNCHER_ENTRY,
    StartAgent,
    epoch_ms,
)

# Init errors are the same whichever order starts the runtime: the agent's, or the pod
# image's launcher's (before the agent's imports; kappa.agent.launch).
BOTH_ORDERS = pytest.mark.parametrize(
    "entry", [AGENT_ENTRY, LAUNCHER_ENTRY], ids=["agent-order", "launcher-order"]
)

GO_FUNCTION = Path(__file__).parent / "gofn"

SCRIPT_BOOTSTRAP = f"""#!{sys.executable}
# A custom runtime: Lambda's Runtime API loop with the standard library only.
import json, os, sys, urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"

def post(path, body, headers=None):
    request = urllib.request.Request(API + path, data=body, headers=headers or {{}}, method="POST")
    with urllib.request.urlopen(request) as response:
        response.read()

if os.environ["_HANDLER"] == "fail-init":
    error = {{"errorMessage": "cannot start", "errorType": "Custom.InitFailed"}}
    post("/init/error", json.dumps(error).encode(),
         {{"Lambda-Runtime-Function-Error-Type": "Custom.InitFailed"}})
    sys.exit(1)

while True:
    with urllib.request.urlopen(API + "/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline_ms = int(response.headers["Lambda-Runtime-Deadline-Ms"])
        arn = response.headers["Lambda-Runtime-Invoked-Function-Arn"]
        event = json.loads(response.read())
    print("script bootstrap got", event, flush=True)
    if event.get("fail"):
        post("/invocation/" + request_id + "/error", b"it failed",
             {{"Lambda-Runtime-Function-Error-Type": "Custom.Failure"}})
    else:
        reply = {{"echo": event, "request_id": request_id, "deadline_ms": deadline_ms, "arn": arn}}
        post("/invocation/" + request_id + "/response", json.dumps(reply).encode())
"""


def install_bootstrap(task_root: Path, source: str | Path) -> None:
    target = task_root / "bootstrap"
    if isinstance(source, Path):
        shutil.copy(source, target)
    else:
        target.write_text(source)
    target.chmod(0o755)


def test_script_bootstrap_events_in_results_out(start_agent: StartAgent, task_root: Path) -> None:
    install_bootstrap(task_root, SCRIPT_BOOTSTRAP)
    agent = start_agent(runtime="provided", handler="echo", timeout_seconds=5)
    before_ms = time.time_ns() // 1_000_000
    reply = agent.invoke({"n": 1}, headers={"X-Kappa-Request-Id": "req-sh"})
    assert reply.status == 200
    assert "x-amz-function-error" not in reply.headers
    result = reply.json()
    assert isinstance(result, dict)
    assert result["echo"] == {"n": 1}
    assert result["request_id"] == "req-sh"
    assert result["arn"] == FUNCTION_ARN
    assert before_ms + 4000 < result["deadline_ms"] <= before_ms + 6000
    assert "script bootstrap got {'n': 1}" in reply.log_tail
    agent.wait_for("^REPORT RequestId: req-sh\t.*\tInit Duration: ")


def test_script_bootstrap_error_is_typed_by_its_header(
    start_agent: StartAgent, task_root: Path
) -> None:
    install_bootstrap(task_root, SCRIPT_BOOTSTRAP)
    agent = start_agent(runtime="provided", handler="echo")
    reply = agent.invoke({"fail": True})
    assert reply.headers["x-amz-function-error"] == "Unhandled"
    assert reply.json() == {"errorMessage": "it failed", "errorType": "Custom.Failure"}


@BOTH_ORDERS
def test_script_bootstrap_init_error(
    start_agent: StartAgent, task_root: Path, entry: tuple[str, ...]
) -> None:
    install_bootstrap(task_root, SCRIPT_BOOTSTRAP)
    agent = start_agent(runtime="provided", handler="fail-init", wait_ready=False, entry=entry)
    assert agent.exit_status() == 1
    assert agent.termination_message() == {
        "errorType": "Custom.InitFailed",
        "errorMessage": "cannot start",
    }


@BOTH_ORDERS
def test_missing_bootstrap_is_an_invalid_entrypoint(
    start_agent: StartAgent, task_root: Path, entry: tuple[str, ...]
) -> None:
    agent = start_agent(runtime="provided", wait_ready=False, entry=entry)
    assert agent.exit_status() == 1
    assert agent.termination_message() == {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": f"Couldn't find valid bootstrap(s): [{task_root / 'bootstrap'}]",
    }


@pytest.fixture(scope="module")
def go_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go function in gofn/, built with aws-lambda-go (from the Go module proxy)."""
    if shutil.which("go") is None:
        pytest.fail(
            "go is needed to build the aws-lambda-go function in tests/integration/agent/gofn"
        )
    binary = tmp_path_factory.mktemp("gofn") / "bootstrap"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    subprocess.run(
        ["go", "build", "-trimpath", "-o", str(binary), "."],
        cwd=GO_FUNCTION,
        env=env,
        check=True,
        timeout=600,
    )
    return binary


@pytest.mark.timeout(900)
def test_go_function_events_in_results_out(
    go_bootstrap: Path, start_agent: StartAgent, task_root: Path
) -> None:
    install_bootstrap(task_root, go_bootstrap)
    agent = start_agent(runtime="provided", timeout_seconds=4)
    context = {"custom": {"tenant": "blue"}, "client": {}, "env": {}}
    sent = epoch_ms()
    reply = agent.invoke(
        {"message": "hi"},
        headers={
            "X-Kappa-Request-Id": "req-go",
            "X-Amz-Client-Context": base64.b64encode(json.dumps(context).encode()).decode(),
        },
    )
    answered = epoch_ms()
    assert reply.status == 200
    assert "x-amz-function-error" not in reply.headers
    result = reply.json()
    assert isinstance(result, dict)
    assert result["message"] == "hi"
    assert result["request_id"] == "req-go"
    assert result["function_arn"] == FUNCTION_ARN
    assert result["function_name"] == "demo"
    # The deadline is 4 s after the agent took the call, which was between these two
    # (the Runtime API passes it in whole milliseconds).
    assert sent + 4000 - 1 <= result["deadline_ms"] <= answered + 4000 + 1
    assert 0 < result["remaining_ms"] <= 4000
    assert result["custom"] == {"tenant": "blue"}
    assert 'go handler got "hi"' in reply.log_tail
    assert "x-kappa-init-duration-ms" in reply.headers


@pytest.mark.timeout(900)
def test_go_function_error(go_bootstrap: Path, start_agent: StartAgent, task_root: Path) -> None:
    install_bootstrap(task_root, go_bootstrap)
    agent = start_agent(runtime="provided")
    reply = agent.invoke({"message": "x", "fail": True})
    assert reply.headers["x-amz-function-error"] == "Unhandled"
    error = reply.json()
    assert isinstance(error, dict)
    assert error["errorMessage"] == "go handler failed on purpose"
    assert error["errorType"] == "errorString"


@pytest.mark.timeout(900)
def test_go_function_timeout_and_fresh_runtime(
    go_bootstrap: Path, start_agent: StartAgent, task_root: Path
) -> None:
    install_bootstrap(task_root, go_bootstrap)
    agent = start_agent(runtime="provided", timeout_seconds=1, slots=2)
    first = agent.invoke({"sleep_ms": 3000})
    error = first.json()
    assert isinstance(error, dict)
    assert error["errorType"] == "Sandbox.Timedout"
    # The time the agent cut it off, at least the timeout (as Lambda: "3.01 seconds").
    assert re.search(r" Task timed out after 1\.\d\d seconds$", error["errorMessage"])
    second = agent.invoke({"message": "after"})
    result = second.json()
    assert isinstance(result, dict)
    assert result["message"] == "after"
