"""The real durable execution SDK (aws-durable-execution-sdk-python 3.0.0) against the gateway.

The handler runs in this process, wrapped by the SDK's ``durable_execution``, with the
event the service's ``invoke`` builds and a boto3 client pointed at the gateway; the
test plays the invoker (the gateway does it in build step 6): it claims each invocation,
runs the handler, and hands its answer to ``invocation_ended``. The handler runs two
steps and waits for a callback that the test completes through
``send_durable_execution_callback_success``; the second invocation replays the steps
from their checkpoints (each step's effect happens once) and the execution SUCCEEDS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aws_durable_execution_sdk_python import DurableContext, durable_execution

from kappa.durable import decider
from kappa.durable.model import ErrorObject
from tests.integration.durable.test_durable_api import (
    Invoker,
    StartDurable,
    invoker,
    start_durable,
)
from tests.integration.gateway.conftest import LambdaClient, lambda_client, start_gateway

pytestmark = pytest.mark.integration

__all__ = ["invoker", "lambda_client", "start_durable", "start_gateway"]


@dataclass
class Context:
    """The Lambda context the SDK reads (the runtime gives it in a real invocation)."""

    aws_request_id: str
    function_name: str = "orders"
    log_group_name: str | None = None
    log_stream_name: str | None = None
    memory_limit_in_mb: str | None = None
    function_version: str | None = None
    invoked_function_arn: str | None = None
    tenant_id: str | None = None
    client_context: Any | None = None
    identity: Any | None = None

    def get_remaining_time_in_millis(self) -> int:
        return 60_000

    def log(self, msg: str) -> None:
        del msg


def answer_of(output: dict[str, Any]) -> decider.InvocationAnswer:
    """The handler's answer, as the invoker hands it to the decider."""
    status = output["Status"]
    if status == "SUCCEEDED":
        return decider.Succeeded(output.get("Result"))
    if status == "FAILED":
        return decider.Failed(ErrorObject.from_wire(output.get("Error") or {}, "Error"))
    assert status == "PENDING", output
    return decider.Pending()


def test_the_sdk_runs_steps_and_a_callback_through_the_gateway(
    start_durable: StartDurable, invoker: Invoker, lambda_client: LambdaClient
) -> None:
    client = lambda_client(start_durable())
    effects: list[str] = []
    callback_ids: list[str] = []

    def charge(_step: Any) -> str:
        effects.append("charge")
        return "charged"

    def ship(_step: Any) -> str:
        effects.append("ship")
        return "shipped"

    def submit(callback_id: str, _context: Any) -> None:
        callback_ids.append(callback_id)

    @durable_execution(boto3_client=client)
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        charged = context.step(charge, name="charge")
        shipped = context.step(ship, name="ship")
        approval = context.wait_for_callback(submit, name="approval")
        return {"order": event["order"], "steps": [charged, shipped], "approval": approval}

    arn = invoker.start("order-sdk", payload='{"order": 7}')

    def run_once() -> dict[str, Any]:
        invocation = invoker.run(invoker.service.invoke(arn))
        output = handler(invocation.event, Context(aws_request_id=invocation.invocation))
        invoker.run(invoker.service.invocation_ended(arn, invocation.invocation, answer_of(output)))
        return dict(output)

    first = run_once()
    assert first["Status"] == "PENDING"
    assert effects == ["charge", "ship"]
    assert len(callback_ids) == 1
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"

    # The SDK hands a callback's result to the handler as sent (its default serdes for
    # callbacks passes it through).
    client.send_durable_execution_callback_success(CallbackId=callback_ids[0], Result=b"approved")
    second = run_once()
    assert second["Status"] == "SUCCEEDED", second
    assert effects == ["charge", "ship"]  # replayed from their checkpoints, not run again
    found = client.get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=True)
    assert found["Status"] == "SUCCEEDED"
    assert json.loads(found["Result"]) == {
        "order": 7, "steps": ["charged", "shipped"], "approval": "approved",
    }  # fmt: skip
