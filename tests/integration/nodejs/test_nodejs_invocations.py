"""The nodejs20/nodejs22 runtimes under the real agent: events in, results and Lambda's errors out.

Every test runs once per runtime (the `node_runtime` fixture), with the node
release and the aws-lambda-ric build of that runtime's image, and the handlers
of handlers/ as the function's code.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    FUNCTION_ARN,
    ROUNDING_MS,
    Reply,
    StartAgent,
    epoch_ms,
)
from tests.integration.nodejs.harness import NodeRuntime

# The first test of a session may wait minutes for the runtime's build (a
# fixture); the time limit is on the test itself.
pytestmark = pytest.mark.timeout(60, func_only=True)

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def result_of(reply: Reply) -> dict[str, object]:
    assert reply.status == 200, reply.body
    assert reply.function_error is None, reply.body
    result = reply.json()
    assert isinstance(result, dict)
    return result


def function_error_of(reply: Reply) -> dict[str, object]:
    assert reply.status == 200
    assert reply.function_error == "Unhandled"
    error = reply.json()
    assert isinstance(error, dict)
    return error


def test_async_handler_gets_the_event_and_lambdas_context(
    start_agent: StartAgent, node_runtime: NodeRuntime, task_root: Path
) -> None:
    agent = start_agent("app.echo")
    reply = agent.invoke({"hello": "world"}, headers={"X-Kappa-Request-Id": "req-1"})
    result = result_of(reply)
    assert reply.headers["x-kappa-request-id"] == "req-1"
    assert result["event"] == {"hello": "world"}
    assert result["node"] == f"v{node_runtime.version}"
    assert result["awsRequestId"] == "req-1"
    assert result["functionName"] == "demo"
    assert result["functionVersion"] == "$LATEST"
    assert result["invokedFunctionArn"] == FUNCTION_ARN
    assert result["memoryLimitInMB"] == "256"
    assert result["logGroupName"] == "/aws/lambda/demo"
    assert result["logStreamName"] == "demo-pod"
    assert result["callbackWaitsForEmptyEventLoop"] is True
    assert result["clientContext"] is None
    assert result["identity"] is None
    assert result["cwd"] == str(task_root)
    env = result["env"]
    assert isinstance(env, dict)
    assert env["handler"] == "app.echo"
    assert env["taskRoot"] == str(task_root)
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["runtimeApi"])
    assert env["kappa"] == []  # the agent's own settings stay with the agent
    # As Lambda's bootstrap: layers, then the runtime, then the task on NODE_PATH.
    major = node_runtime.version.split(".")[0]
    assert env["nodePath"].split(":")[:2] == [
        f"/opt/nodejs/node{major}/node_modules",
        "/opt/nodejs/node_modules",
    ]
    assert env["nodePath"].endswith(f":{task_root}")


def test_bootstrap_sizes_the_heap_from_the_memory_size(start_agent: StartAgent) -> None:
    result = result_of(start_agent("app.echo").invoke({}))
    # Lambda's bootstrap: new space = memory / 10, semi-space half of it, old space the rest.
    assert result["execArgv"] == [
        "--expose-gc",
        "--max-http-header-size",
        "81920",
        "--max-semi-space-size=12",
        "--max-old-space-size=231",
    ]


def test_exec_wrapper_starts_the_runtime(start_agent: StartAgent, task_root: Path) -> None:
    wrapper = task_root / "wrapper.sh"
    wrapper.write_text('#!/bin/sh\nexport WRAPPED_BY="$0"\nexec "$@"\n')
    wrapper.chmod(0o755)
    agent = start_agent("app.echo", env={"AWS_LAMBDA_EXEC_WRAPPER": str(wrapper)})
    env = result_of(agent.invoke({}))["env"]
    assert isinstance(env, dict)
    assert env["wrappedBy"] == str(wrapper)


def test_request_ids_are_made_when_not_given(start_agent: StartAgent) -> None:
    reply = start_agent("app.echo").invoke({})
    request_id = reply.headers["x-kappa-request-id"]
    assert UUID4.fullmatch(request_id)
    assert result_of(reply)["awsRequestId"] == request_id


def test_one_runtime_serves_invocation_after_invocation(start_agent: StartAgent) -> None:
    agent = start_agent("app.sleeps")
    replies = [agent.invoke({"ms": 1}) for _ in range(5)]
    pids = {result_of(reply)["pid"] for reply in replies}
    assert len(pids) == 1  # a warm runtime: no process per invocation
    assert (
        agent.output_through(replies[-1]).count("Init Duration") == 1
    )  # only the first REPORT is a cold start


def test_callback_handler(start_agent: StartAgent) -> None:
    result = result_of(start_agent("app.callback").invoke({"n": 1}))
    assert result == {"via": "callback", "event": {"n": 1}}


def test_callback_error_is_a_function_error(start_agent: StartAgent) -> None:
    error = function_error_of(start_agent("app.callbackError").invoke({}))
    assert error["errorType"] == "RangeError"
    assert error["errorMessage"] == "out of range"


def test_callback_response_waits_for_the_event_loop_by_default(start_agent: StartAgent) -> None:
    reply = start_agent("app.waitsForEventLoop").invoke({})
    assert reply.json() == "done"
    # The timer set before the callback ran inside this invocation.
    tail = reply.log_tail
    assert tail.index("\tINFO\ttimer fired") < tail.index("END RequestId:")


def test_callback_need_not_wait_for_the_event_loop(start_agent: StartAgent) -> None:
    reply = start_agent("app.doesNotWait").invoke({})
    assert reply.json() == "done"
    assert "timer fired" not in reply.log_tail  # 1.5 s later, after the response


def test_undefined_result_is_null(start_agent: StartAgent) -> None:
    reply = start_agent("app.nothing").invoke({})
    assert reply.function_error is None
    assert reply.body == b"null"


def test_nested_handler_path(start_agent: StartAgent) -> None:
    reply = start_agent("app.nested.deeper.handler").invoke({})
    assert reply.json() == "nested"


@pytest.mark.parametrize(
    ("handler", "module", "kind"),
    [
        ("esm.handler", "mjs", "esm"),  # .mjs, with top-level await
        ("esmpkg/index.handler", "esm-js", "esm"),  # .js in a "type": "module" package
        ("cjs.handler", "cjs", "cjs"),  # .cjs
    ],
)
def test_module_kinds(start_agent: StartAgent, handler: str, module: str, kind: str) -> None:
    result = result_of(start_agent(handler).invoke({"k": kind}))
    assert result["module"] == module
    assert result["event"] == {"k": kind}
    assert result[kind] is True


def test_es_module_gets_the_context(start_agent: StartAgent) -> None:
    reply = start_agent("esm.handler").invoke({}, headers={"X-Kappa-Request-Id": "esm-1"})
    result = result_of(reply)
    assert result["awsRequestId"] == "esm-1"
    assert result["loadedAt"] == "init"


def test_thrown_error_is_lambdas_error_json(start_agent: StartAgent) -> None:
    error = function_error_of(start_agent("app.throws").invoke({}))
    assert set(error) == {"errorType", "errorMessage", "trace"}
    assert error["errorType"] == "TypeError"
    assert error["errorMessage"] == "bad input"
    trace = error["trace"]
    assert isinstance(trace, list)
    assert trace[0] == "TypeError: bad input"
    assert "app.js" in trace[1]


def test_error_type_is_the_errors_name(start_agent: StartAgent) -> None:
    error = function_error_of(start_agent("app.throwsCustom").invoke({}))
    assert error["errorType"] == "ValidationError"
    assert error["errorMessage"] == "field x is required"


def test_rejection_with_a_non_error(start_agent: StartAgent) -> None:
    error = function_error_of(start_agent("app.rejectsWithString").invoke({}))
    assert error == {"errorType": "string", "errorMessage": "plain string", "trace": []}


def test_runtime_keeps_serving_after_a_function_error(start_agent: StartAgent) -> None:
    agent = start_agent("app.throws")
    replies = [agent.invoke({}) for _ in range(3)]
    for reply in replies:
        function_error_of(reply)
    assert agent.output_through(replies[-1]).count("Init Duration") == 1


def test_client_context_and_identity(start_agent: StartAgent) -> None:
    client_context = {
        "client": {"installation_id": "install-1", "app_title": "demo app"},
        "custom": {"tenant": "t-7"},
        "env": {"platform": "linux"},
    }
    identity = {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    headers = {
        "X-Amz-Client-Context": base64.b64encode(json.dumps(client_context).encode()).decode(),
        "X-Amz-Cognito-Identity": json.dumps(identity),
    }
    result = result_of(start_agent("app.echo").invoke({}, headers=headers))
    assert result["clientContext"] == client_context
    assert result["identity"] == identity


def test_trace_id_reaches_the_environment(start_agent: StartAgent) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    agent = start_agent("app.echo")
    env = result_of(agent.invoke({}, headers={"X-Amzn-Trace-Id": trace}))["env"]
    assert isinstance(env, dict)
    # The caller's trace and decision; the parent is the agent's own span (docs/tracing.md).
    seen = re.fullmatch(
        r"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=([0-9a-f]{16});Sampled=1",
        env["traceId"],
    )
    assert seen is not None, env["traceId"]
    assert seen[1] != "53995c3f42cd8ad8"
    # None sent: the agent starts a trace of its own, as Lambda always hands one over.
    fresh = result_of(agent.invoke({}))["env"]
    assert isinstance(fresh, dict)
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", fresh["traceId"]
    ), fresh["traceId"]


def test_remaining_time_counts_down_from_the_timeout(start_agent: StartAgent) -> None:
    agent = start_agent("app.remaining", timeout_seconds=5)
    sent = epoch_ms()
    result = result_of(agent.invoke({}))
    answered = epoch_ms()
    first, second = result["first"], result["second"]
    first_at, second_at = result["firstAt"], result["secondAt"]
    assert isinstance(first, int)
    assert isinstance(second, int)
    assert isinstance(first_at, int)
    assert isinstance(second_at, int)
    # The deadline is 5 s after the agent took the call, which was between these two;
    # both readings count down to it.
    deadline = first_at + first
    assert sent + 5000 - ROUNDING_MS <= deadline <= answered + 5000 + ROUNDING_MS
    assert abs(second_at + second - deadline) <= ROUNDING_MS
    assert first - second >= 300 - ROUNDING_MS  # the handler slept 300 ms between them


def test_remaining_time_follows_the_callers_deadline(start_agent: StartAgent) -> None:
    agent = start_agent("app.remaining", timeout_seconds=30)
    deadline_ms = epoch_ms() + 2000
    result = result_of(agent.invoke({}, headers={"X-Kappa-Deadline-Ms": str(deadline_ms)}))
    first, first_at = result["first"], result["firstAt"]
    assert isinstance(first, int)
    assert isinstance(first_at, int)
    assert abs(first_at + first - deadline_ms) <= ROUNDING_MS


def test_console_output_is_in_the_invocation_log_tail(start_agent: StartAgent) -> None:
    agent = start_agent("app.logs")
    reply = agent.invoke({"n": 7}, headers={"X-Kappa-Request-Id": "log-1"})
    assert reply.json() == "logged"
    lines = reply.log_tail.splitlines()
    assert lines[0] == "START RequestId: log-1 Version: $LATEST"
    # Lambda's Node log format: ISO time, request id, level, message.
    logged = [line.split("\t") for line in lines[1:5]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t) for t, *_ in logged)
    assert [fields[1:] for fields in logged] == [
        ["log-1", "INFO", "hello from node 7"],
        ["log-1", "INFO", "info line"],
        ["log-1", "WARN", "warn line"],
        ["log-1", "ERROR", "error line"],
    ]
    assert lines[5] == "END RequestId: log-1"
    assert lines[6].startswith("REPORT RequestId: log-1\tDuration: ")
    agent.wait_for(re.escape("\tlog-1\tINFO\thello from node 7"))  # and in the pod's log


def test_log_tail_holds_only_its_own_invocation(start_agent: StartAgent) -> None:
    agent = start_agent("app.logs")
    agent.invoke({"n": 1}, headers={"X-Kappa-Request-Id": "first"})
    tail = agent.invoke({"n": 2}, headers={"X-Kappa-Request-Id": "second"}).log_tail
    assert "hello from node 2" in tail
    assert "first" not in tail


def test_timeout_replaces_the_runtime(start_agent: StartAgent) -> None:
    agent = start_agent("app.sleeps", timeout_seconds=1)
    before = result_of(agent.invoke({"ms": 1}))["pid"]
    reply = agent.invoke({"ms": 5000}, headers={"X-Kappa-Request-Id": "slow"})
    error = function_error_of(reply)
    assert error["errorType"] == "Sandbox.Timedout"
    # The time the agent cut it off, at least the timeout (as Lambda: "3.01 seconds").
    assert re.search(r" slow Task timed out after 1\.\d\d seconds$", str(error["errorMessage"]))
    after = result_of(agent.invoke({"ms": 1}))["pid"]
    assert after != before  # a fresh node process


def test_response_over_6_mb_is_a_function_error_and_the_runtime_carries_on(
    start_agent: StartAgent,
) -> None:
    agent = start_agent("app.big")
    error = function_error_of(agent.invoke({"bytes": 7 * 1024 * 1024}))
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert agent.invoke({"bytes": 3}).json() == "xxx"


def test_slots_run_invocations_side_by_side(start_agent: StartAgent, tmp_path: Path) -> None:
    # Each call waits inside its handler until both have arrived: only side by side do
    # they meet (one after the other, the first would wait alone until its guard).
    agent = start_agent("app.rendezvous", slots=2, timeout_seconds=60)
    (tmp_path / "arrived").mkdir()
    event = {"dir": str(tmp_path / "arrived"), "count": 2}
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: agent.invoke(event, timeout=60), range(2)))
    results = [result_of(reply) for reply in replies]
    assert [r["met"] for r in results] == [2, 2]
    assert len({r["pid"] for r in results}) == 2  # one node process per slot


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="the-bootstraps-flags-only"),
        pytest.param({"NODE_OPTIONS": "--no-deprecation"}, id="with-NODE_OPTIONS"),
    ],
)
def test_the_handler_gets_what_the_bootstraps_v8_flags_give(
    start_agent: StartAgent, node_runtime: NodeRuntime, task_root: Path, env: dict[str, str]
) -> None:
    """The entry sets V8's flags to their defaults while the client loads (README.md, "Start"):
    the handler still sees exactly what a plain node with the bootstrap's flags has."""
    result = result_of(start_agent("v8probe.handler", env=env).invoke({}))
    flags = result.pop("execArgv")
    assert isinstance(flags, list)
    assert "--expose-gc" in flags
    assert "--max-old-space-size=231" in flags
    node = node_runtime.bootstrap.parent.parent / "lang/bin/node"
    script = f"require({json.dumps(str(task_root / 'v8probe.js'))}).probe()"
    script += ".then((r) => console.log(JSON.stringify(r)))"
    plain = subprocess.run(
        [str(node), *flags, "-e", script],
        capture_output=True,
        check=True,
        timeout=30,
        env={**env, "PATH": "/usr/bin:/bin"},
    )
    expected = json.loads(plain.stdout)
    # A plain `node -e` has require.main undefined, as the runtime's ES-module-like entry.
    assert result == expected
    assert result["gc"] == "function"
    assert result["contextGc"] == "function"
    assert result["requireMain"] == "undefined"
