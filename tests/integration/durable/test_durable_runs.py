"""Durable executions run by the gateway (build step 6), end to end on loopback.

Invoke starts an execution; the gateway's runner invokes the handler through a real agent
and awslambdaric, on the real aws-durable-execution-sdk-python 3.0.0 (handlers/durable_fns.py),
fires its timers from the JetStream timer stream and wakes it on callbacks, until it ends.
The processes are stack.py's.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.durable.stack import (
    HANG_GUARD,
    DurableStack,
    StartStack,
    durable_client,
    history,
    wait_for_end,
    wait_for_event,
    wait_until,
)
from tests.integration.gateway.conftest import LambdaClient
from tests.integration.gateway.test_aws_cli import AWS, cli_environment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ORDER = {"orders": "durable_fns.order"}
WAIT_SECONDS = 3  # the issue's 30 s wait, shortened


def start_order(client: Any, name: str, order: int = 7) -> str:
    """An Event Invoke of the order handler: the new execution's ARN."""
    answer = client.invoke(
        FunctionName="orders",
        InvocationType="Event",
        DurableExecutionName=name,
        Payload=json.dumps({"order": order, "wait": WAIT_SECONDS}).encode(),
    )
    assert answer["StatusCode"] == 202
    arn = answer["DurableExecutionArn"]
    assert f"/durable-execution/{name}/" in arn
    return str(arn)


def approve(client: Any, arn: str) -> None:
    """Complete the execution's callback, its id read from the history."""
    started = wait_for_event(client, arn, "CallbackStarted")
    callback_id = started[0]["CallbackStartedDetails"]["CallbackId"]
    client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"approved")


def assert_order_succeeded(stack: DurableStack, client: Any, arn: str) -> None:
    """The execution SUCCEEDED with every step's result, each step run once."""
    ended = wait_for_end(client, arn)
    assert ended["Status"] == "SUCCEEDED", (ended, history(client, arn))
    assert json.loads(ended["Result"]) == {
        "order": 7, "steps": ["reserved", "charged", "shipped"], "approval": "approved",
    }  # fmt: skip
    assert [stack.runs(step) for step in ("reserve", "charge", "ship", "submit")] == [1, 1, 1, 1]
    # Replayed: one invocation up to the wait, one up to the callback, one to the end.
    assert stack.runs("invocation") >= 3
    completed = [e for e in history(client, arn) if e["EventType"] == "InvocationCompleted"]
    assert len(completed) == stack.runs("invocation")


def test_the_issue_scenario_steps_a_wait_and_a_callback_end_succeeded_with_each_step_once(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack(ORDER)
    client = durable_client(lambda_client, stack)
    arn = start_order(client, "order-7")
    approve(client, arn)
    assert_order_succeeded(stack, client, arn)
    events = [e["EventType"] for e in history(client, arn)]
    assert events.index("WaitSucceeded") < events.index("CallbackStarted")


def test_a_map_over_20_items_with_one_retried_item_gives_the_results_in_order(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack({"squares": "durable_fns.squares"})
    client = durable_client(lambda_client, stack)
    answer = client.invoke(FunctionName="squares", InvocationType="Event", Payload=b'{"count": 20}')
    arn = answer["DurableExecutionArn"]
    ended = wait_for_end(client, arn)
    assert ended["Status"] == "SUCCEEDED", (ended, history(client, arn))
    assert json.loads(ended["Result"]) == [item * item for item in range(20)]
    flaky = 7  # handlers/durable_fns.py's FLAKY_ITEM
    assert stack.runs(f"item-{flaky}") == 2  # the failed attempt and its retry
    assert [stack.runs(f"item-{item}") for item in range(20) if item != flaky] == [1] * 19
    retried = [
        e for e in history(client, arn)
        if e["EventType"] == "StepFailed" and e.get("Name") == f"square-{flaky}"
    ]  # fmt: skip
    assert len(retried) == 1
    assert "fails on its first attempt" in str(retried[0])


@pytest.mark.parametrize("outage", ["gateway-killed", "nats-restarted"])
def test_an_execution_outlives_a_killed_gateway_or_a_restarted_nats_during_its_wait(
    durable_stack: StartStack, lambda_client: LambdaClient, outage: str
) -> None:
    stack = durable_stack(ORDER)
    client = durable_client(lambda_client, stack)
    arn = start_order(client, f"order-{outage}")
    wait_for_event(client, arn, "WaitStarted")
    # The invocation that started the wait has ended (PENDING): the execution only waits.
    # (A gateway killed in the middle of an invocation is another case: its invocation
    # holds the execution until its lease ends, the Function's timeout and 30 s.)
    wait_for_event(client, arn, "InvocationCompleted")
    if outage == "gateway-killed":
        stack.kill_gateway()  # the wait's timer: on the stream, naked by it until due
        stack.start_gateway()  # the same NATS: the timer is delivered to the new one
    else:
        stack.nats.restart()  # the gateway stays up and reconnects
    approve(client, arn)
    assert_order_succeeded(stack, client, arn)


def test_a_request_response_invoke_returns_the_result_and_a_name_reused_with_other_input_is_409(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack({"greet": "durable_fns.greet", "refuse": "durable_fns.refuse"})
    client = durable_client(lambda_client, stack)
    answer = client.invoke(
        FunctionName="greet", DurableExecutionName="hello-1", Payload=b'{"name": "ada"}'
    )
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"hello": "ADA"}
    arn = answer["DurableExecutionArn"]
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "SUCCEEDED"

    # The same name and input again: the same execution, its result again.
    again = client.invoke(
        FunctionName="greet", DurableExecutionName="hello-1", Payload=b'{"name": "ada"}'
    )
    assert (again["DurableExecutionArn"], json.loads(again["Payload"].read())) == (
        arn, {"hello": "ADA"},
    )  # fmt: skip
    # The same name, another input: refused, for both invocation types.
    for invocation_type in ("RequestResponse", "Event"):
        with pytest.raises(ClientError) as refused:
            client.invoke(
                FunctionName="greet",
                InvocationType=invocation_type,
                DurableExecutionName="hello-1",
                Payload=b'{"name": "bob"}',
            )
        response = refused.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
        assert response["Error"]["Code"] == "DurableExecutionAlreadyStartedException"

    failed = client.invoke(FunctionName="refuse", Payload=b'{"order": 9}')
    assert (failed["StatusCode"], failed["FunctionError"]) == (200, "Unhandled")
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "no order 9"
    status = client.get_durable_execution(DurableExecutionArn=failed["DurableExecutionArn"])
    assert status["Status"] == "FAILED"


@pytest.mark.parametrize(
    ("payload", "name", "says"),
    [
        pytest.param(b"\xff\xfe", "fine", "Could not parse request body into json", id="not-json"),
        pytest.param(b"{}", "no/slashes", "DurableExecutionName", id="slash-in-name"),
        pytest.param(b"{}", "n" * 65, "DurableExecutionName", id="name-too-long"),
    ],
)
def test_a_hostile_durable_invoke_is_a_4xx_and_the_gateway_keeps_serving(
    durable_stack: StartStack, lambda_client: LambdaClient, payload: bytes, name: str, says: str
) -> None:
    stack = durable_stack({"greet": "durable_fns.greet"})
    client = durable_client(lambda_client, stack)
    reply = stack.gateway.request(
        "POST",
        "/2015-03-31/functions/greet/invocations",
        payload,
        {"X-Amz-Invocation-Type": "Event", "X-Amz-Durable-Execution-Name": name},
    )
    assert 400 <= reply.status < 500, reply.body
    assert says in reply.body.decode()
    answer = client.invoke(FunctionName="greet", Payload=b'{"name": "ada"}')
    assert json.loads(answer["Payload"].read()) == {"hello": "ADA"}


def test_parallel_wait_for_condition_and_a_large_child_context_replay_to_success(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack({"primitives": "durable_fns.primitives"})
    client = durable_client(lambda_client, stack)
    answer = client.invoke(FunctionName="primitives", InvocationType="Event", Payload=b"{}")
    arn = answer["DurableExecutionArn"]
    ended = wait_for_end(client, arn)
    assert ended["Status"] == "SUCCEEDED", (ended, history(client, arn))
    assert json.loads(ended["Result"]) == {"branches": [0, 10, 20], "polled": 3, "large": 300_000}
    assert [stack.runs(f"branch-{n}") for n in range(3)] == [1, 1, 1]
    assert stack.runs("poll") == 3  # three polls, one a second, each checkpointed
    # The large context was rebuilt on replay from its children's checkpoints, not rerun.
    assert stack.runs("large-part") == 1
    assert stack.runs("invocation") >= 4  # the polls' two delays and the last wait
    large = [
        e for e in history(client, arn)
        if e["EventType"] == "ContextSucceeded" and e.get("Name") == "large"
    ]  # fmt: skip
    assert len(large) == 1


def test_a_pod_killed_in_the_middle_of_a_step_runs_that_step_again_and_the_execution_succeeds(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack({"gated": "durable_fns.gated"})
    client = durable_client(lambda_client, stack)
    arn = client.invoke(FunctionName="gated", InvocationType="Event", Payload=b"{}")[
        "DurableExecutionArn"
    ]
    wait_until(lambda: stack.runs("held") == 1, "the held step never started")
    stack.replace_pod("gated")  # the invocation is lost: a failed one, invoked again later
    (stack.effects / "gate").touch()
    ended = wait_for_end(client, arn)
    assert ended["Status"] == "SUCCEEDED", (ended, history(client, arn))
    assert json.loads(ended["Result"]) == ["done", "released"]
    # The SDK's at-least-once: the step killed before its result was checkpointed runs
    # again; the one before it is replayed from its checkpoint.
    assert (stack.runs("before"), stack.runs("held")) == (1, 2)
    completed = [e for e in history(client, arn) if e["EventType"] == "InvocationCompleted"]
    assert [("Error" in e["InvocationCompletedDetails"]) for e in completed] == [True, False]


def test_a_gateway_killed_in_the_middle_of_an_invocation_hands_the_execution_on_after_its_lease(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    timeout = 5  # the invocation's lease: 5 s and 30 s (decider.invocation_lease_ms)
    stack = durable_stack({"gated": "durable_fns.gated"}, timeout=timeout)
    client = durable_client(lambda_client, stack)
    arn = client.invoke(FunctionName="gated", InvocationType="Event", Payload=b"{}")[
        "DurableExecutionArn"
    ]
    wait_until(lambda: stack.runs("held") == 1, "the held step never started")
    stack.kill_gateway()  # with the wake in its hand and the invocation running
    # The held step's START checkpoint finds no gateway: the SDK gives the invocation up
    # (the agent's REPORT line), its answer goes nowhere either.
    stack.agents["gated"].wait_for("^REPORT RequestId", timeout=HANG_GUARD)
    stack.start_gateway()
    (stack.effects / "gate").touch()
    # The new gateway finds the invocation still holding the execution; once its lease is
    # over, it counts it lost and invokes again: the held step runs again (at least once).
    ended = wait_for_end(client, arn, timeout=HANG_GUARD + timeout + 30)
    assert ended["Status"] == "SUCCEEDED", (ended, history(client, arn))
    assert json.loads(ended["Result"]) == ["done", "released"]
    assert (stack.runs("before"), stack.runs("held"), stack.runs("invocation")) == (1, 2, 2)
    completed = [
        e["InvocationCompletedDetails"] for e in history(client, arn)
        if e["EventType"] == "InvocationCompleted"
    ]  # fmt: skip
    assert [d.get("Error", {}).get("Payload", {}).get("ErrorType") for d in completed] == [
        "Kappa.InvocationLost", None,
    ]  # fmt: skip


def test_two_gateway_replicas_share_executions_checkpoints_on_one_callbacks_on_the_other(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack(ORDER)
    other = lambda_client(stack.replica(), retries=3)
    client = durable_client(lambda_client, stack)  # the pods' checkpoints go here too
    arns = [start_order(other if n % 2 else client, f"order-{n}") for n in range(4)]
    for n, arn in enumerate(arns):
        approve(client if n % 2 else other, arn)
    for arn in arns:
        ended = wait_for_end(client, arn)
        assert ended["Status"] == "SUCCEEDED", (ended, history(client, arn))
        assert json.loads(ended["Result"])["approval"] == "approved"
    assert [stack.runs(step) for step in ("reserve", "charge", "ship", "submit")] == [4] * 4


def test_a_stopped_execution_ends_stopped_and_its_synchronous_caller_gets_the_error(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack(ORDER)
    client = durable_client(lambda_client, stack)
    arn = start_order(client, "order-stopped")
    wait_for_event(client, arn, "CallbackStarted")
    stopped = client.stop_durable_execution(
        DurableExecutionArn=arn, Error={"ErrorType": "Cancelled", "ErrorMessage": "by the shop"}
    )
    assert "StopTimestamp" in stopped
    ended = wait_for_end(client, arn)
    assert ended["Status"] == "STOPPED"
    assert ended["Error"]["ErrorMessage"] == "by the shop"
    # Its callback is gone with it, and the same name and input answer its end.
    callback_id = wait_for_event(client, arn, "CallbackStarted")[0]["CallbackStartedDetails"][
        "CallbackId"
    ]
    with pytest.raises(ClientError) as gone:
        client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"late")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    again = client.invoke(
        FunctionName="orders",
        DurableExecutionName="order-stopped",
        Payload=json.dumps({"order": 7, "wait": WAIT_SECONDS}).encode(),
    )
    assert (again["DurableExecutionArn"], again["FunctionError"]) == (arn, "Unhandled")
    assert json.loads(again["Payload"].read())["errorMessage"] == "by the shop"
    assert stack.runs("submit") == 1


def test_a_callback_times_out_without_heartbeats_and_lives_on_with_them(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack({"deadline": "durable_fns.deadline"})
    client = durable_client(lambda_client, stack)

    def start(name: str, heartbeat: int) -> str:
        payload = json.dumps({"timeout": 30, "heartbeat": heartbeat}).encode()
        answer = client.invoke(
            FunctionName="deadline", InvocationType="Event", DurableExecutionName=name,
            Payload=payload,
        )  # fmt: skip
        return str(answer["DurableExecutionArn"])

    silent = start("silent", heartbeat=2)
    ended = wait_for_end(client, silent)
    assert ended["Status"] == "SUCCEEDED", (ended, history(client, silent))
    assert "timedOut" in json.loads(ended["Result"])
    assert wait_for_event(client, silent, "CallbackTimedOut")

    beating = start("beating", heartbeat=5)
    callback_id = wait_for_event(client, beating, "CallbackStarted")[0]["CallbackStartedDetails"][
        "CallbackId"
    ]
    # Heartbeats past the heartbeat timeout, one a second: the callback stays open.
    for _ in range(8):
        client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
        time.sleep(1)
    assert client.get_durable_execution(DurableExecutionArn=beating)["Status"] == "RUNNING"
    client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"yes")
    ended = wait_for_end(client, beating)
    assert json.loads(ended["Result"]) == {"answer": "yes"}, history(client, beating)


def test_the_aws_cli_starts_an_execution_and_completes_its_callback(
    durable_stack: StartStack, lambda_client: LambdaClient, tmp_path: Path
) -> None:
    stack = durable_stack(ORDER)
    client = durable_client(lambda_client, stack)

    def aws(*args: str) -> dict[str, Any]:
        result = subprocess.run(
            [str(AWS), "lambda", *args, "--endpoint-url", stack.gateway.url],
            capture_output=True, text=True, env=cli_environment(tmp_path), check=False,
            timeout=HANG_GUARD,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        answer: dict[str, Any] = json.loads(result.stdout or "{}")
        return answer

    payload = json.dumps({"order": 7, "wait": WAIT_SECONDS})
    started = aws(
        "invoke", "--function-name", "orders", "--invocation-type", "Event",
        "--durable-execution-name", "order-cli", "--payload", payload, str(tmp_path / "out"),
    )  # fmt: skip
    assert started["StatusCode"] == 202
    arn = started["DurableExecutionArn"]
    wait_for_event(client, arn, "CallbackStarted")
    events = aws("get-durable-execution-history", "--durable-execution-arn", arn)["Events"]
    (callback_id,) = [
        e["CallbackStartedDetails"]["CallbackId"] for e in events
        if e["EventType"] == "CallbackStarted"
    ]  # fmt: skip
    aws("send-durable-execution-callback-success", "--callback-id", callback_id,
        "--result", "approved")  # fmt: skip
    assert_order_succeeded(stack, client, arn)
    assert aws("get-durable-execution", "--durable-execution-arn", arn)["Status"] == "SUCCEEDED"


def test_an_execution_past_its_execution_timeout_ends_timed_out_during_its_wait(
    durable_stack: StartStack, lambda_client: LambdaClient
) -> None:
    stack = durable_stack(ORDER, execution_timeout=3)
    client = durable_client(lambda_client, stack)
    answer = client.invoke(
        FunctionName="orders",
        DurableExecutionName="too-slow",
        Payload=json.dumps({"order": 7, "wait": 60}).encode(),
    )  # RequestResponse: the caller waits for the end, which the timeout brings
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "ExecutionTimedOut"
    ended = wait_for_end(client, answer["DurableExecutionArn"])
    assert ended["Status"] == "TIMED_OUT"
    assert [stack.runs(step) for step in ("reserve", "charge", "ship", "submit")] == [1, 1, 1, 0]
