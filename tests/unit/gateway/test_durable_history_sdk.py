"""The history answer read by the SDK's own testing package, as its cloud runner reads it.

``DurableFunctionCloudTestRunner`` (aws-durable-execution-sdk-python-testing 1.4.0) builds
its result from GetDurableExecutionHistory: boto3 parses the answer, the package's
``GetDurableExecutionHistoryResponse.from_dict`` reads the events and
``events_to_operations`` turns them back into operations; it finds callback ids with
``_get_callback_id_from_events``, once an InvocationCompleted follows the
CallbackStarted. The package is a pinned dev dependency (``pyproject.toml``,
``constraints.txt``); a venv made before the pin skips this module until ``make venv``.
"""

from typing import Any

import aws_durable_execution_sdk_python_testing.model as testing_model
import aws_durable_execution_sdk_python_testing.runner as testing_runner
import pytest

from kappa.durable.decider import Pending, Succeeded
from kappa.durable.history import HistoryPage, HistoryRequest, history_page
from kappa.durable.model import CallbackOptions, Operation, OperationStatus, OperationType
from kappa.gateway import durable_shapes
from tests.unit.durable.runs import SCENARIOS, A, K, Run, begun, step_retried, upd
from tests.unit.gateway.lambda_model import operation, parsed, problems

pytestmark = pytest.mark.unit


ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:1/durable-execution/order/e1"
# The package reads no ChainedInvokeStopped (its table has a ChainedInvokeCancelled the
# model lacks); the decider writes no stopped chained invoke yet.
READABLE = [scenario for scenario in SCENARIOS if scenario.__name__ != "chained_invoke_stopped"]


def read_by_the_package(run: Run) -> Any:
    """The package's ``GetDurableExecutionHistoryResponse`` of the run's whole history."""
    page = history_page(run.log, ARN, HistoryRequest())
    assert isinstance(page, HistoryPage)
    body = durable_shapes.history_answer(page.wire_events(), page.next_marker)
    assert problems(body, operation("GetDurableExecutionHistory").output_shape) == []
    return testing_model.GetDurableExecutionHistoryResponse.from_dict(
        parsed("GetDurableExecutionHistory", body)
    )


def read_as(held: Operation) -> str:
    """The status the package reads: a STEP waiting for its retry reads as its last attempt."""
    if held.type is OperationType.STEP and held.status is OperationStatus.PENDING:
        failed = held.step_details is not None and held.step_details.error is not None
        return "FAILED" if failed else "SUCCEEDED"
    return held.status.value


def ended(scenario: Any) -> Run:
    run = begun()
    scenario(run)
    run.end(Succeeded('"done"'))
    return run


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.__name__) for s in READABLE])
def test_the_package_reads_each_operation_back_as_the_log_holds_it(scenario: Any) -> None:
    run = ended(scenario)
    operations = testing_model.events_to_operations(read_by_the_package(run).events)
    by_id = {op.operation_id: op for op in operations}
    for operation_id, held in run.state.operations.items():
        found = by_id.pop(operation_id)
        assert found.operation_type.value == held.type.value
        assert found.status.value == read_as(held)
        assert (found.name, found.parent_id, found.sub_type) == (
            held.name,
            held.parent_id,
            held.sub_type,
        )
    assert by_id == {}


def test_the_package_reads_a_retried_steps_attempts_and_result() -> None:
    run = ended(step_retried)
    step = {
        op.operation_id: op
        for op in testing_model.events_to_operations(read_by_the_package(run).events)
    }["s"]
    assert (step.step_details.attempt, step.step_details.result) == (2, "8")
    assert step.step_details.error.message == "boom"


def test_the_cloud_runner_finds_the_callback_id_once_its_invocation_completed() -> None:
    run = begun()
    run.send(upd(K.CALLBACK, A.START, "c", callback_options=CallbackOptions(60)))
    events = read_by_the_package(run).events
    assert testing_runner._get_callback_id_from_events(events) is None  # noqa: SLF001
    run.end(Pending())
    events = read_by_the_package(run).events
    assert testing_runner._get_callback_id_from_events(events) == "cbc"  # noqa: SLF001
