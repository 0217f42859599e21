"""Durable executions run by the gateway (build step 6), end to end on loopback.

Invoke starts an execution; the gateway's runner invokes the handler through a real agent
and awslambdaric, on the real aws-durable-execution-sdk-python 3.0.0 (handlers/durable_fns.py),
fires its timers from the JetStream timer stream and wakes it on callbacks, until it ends.
The processes are stack.py's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.durable.stack import (
    DurableStack,
    StartStack,
    durable_client,
    history,
    wait_for_end,
    wait_for_event,
)
from tests.integration.gateway.conftest import LambdaClient

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
