"""The durable API's answers against botocore's own Lambda model: each rendered answer
has only members the model knows, with their types and required members, and botocore's
rest-json parser reads back the values rendered."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import HeadersDict
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape, StructureShape
from botocore.parsers import create_parser

from kappa.durable.decider import Failed, FunctionError, Succeeded, stop
from kappa.durable.execution import TimerKind
from kappa.durable.history import HistoryPage, HistoryRequest, history_page
from kappa.durable.model import (
    CallbackDetails,
    ErrorObject,
    Operation,
    OperationStatus,
    OperationType,
    StepDetails,
    Timestamps,
    WaitDetails,
)
from kappa.durable.tokens import INVALID_CHECKPOINT_TOKEN, InvalidTokenError
from kappa.gateway import durable_shapes
from kappa.invocation.errors import GatewayError, invalid_parameter
from tests.unit.durable.runs import SCENARIOS, Run, begun

MODEL = ServiceModel(Loader().load_service_model("lambda", "service-2"), "lambda")
ARN = "arn:aws:lambda:us-east-1:team:function:orders:$LATEST/durable-execution/order-7/id-1"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:team:function:orders:$LATEST"
START_MS = 1_764_000_000_250
ERROR = ErrorObject(message="boom", type="ValueError", data="{}", stack_trace=("line 1",))


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "long": (int,), "boolean": (bool,),
    "timestamp": (int, float), "blob": (str,),
}  # fmt: skip


def conforms(value: Any, shape: Shape, where: str = "") -> None:
    """``value`` has only the shape's members, each of its type, and every required one."""
    if isinstance(shape, StructureShape):
        assert isinstance(value, dict), where
        assert set(value) <= set(shape.members), (
            f"{where}: unknown {set(value) - set(shape.members)}"
        )
        missing = set(shape.required_members) - set(value)
        assert not missing, f"{where}: missing {missing}"
        for key, item in value.items():
            conforms(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list":
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            conforms(item, shape.member, f"{where}[{i}]")  # type: ignore[attr-defined]
    else:
        assert isinstance(value, _TYPES[shape.type_name]), where
        assert not (shape.type_name != "boolean" and isinstance(value, bool)), where
        enum = getattr(shape, "enum", None)
        if enum:
            assert value in enum, where
        if shape.type_name == "string":
            assert shape.metadata.get("min", 0) <= len(value) <= shape.metadata.get("max", 10**9), (
                where
            )


def parsed(operation: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
    """What boto3 returns for ``body``, after checking it against the operation's output shape."""
    output = MODEL.operation_model(operation).output_shape
    assert output is not None
    conforms(body, output)
    response = {
        "status_code": status,
        "headers": HeadersDict({}),
        "body": json.dumps(body).encode(),
    }
    result: dict[str, Any] = create_parser("rest-json").parse(response, output)
    result.pop("ResponseMetadata")
    return result


OPERATIONS = (
    Operation(id="exec", type=OperationType.EXECUTION, status=OperationStatus.STARTED,
              start_ms=START_MS, name="order-7"),
    Operation(id="a" * 64, type=OperationType.STEP, status=OperationStatus.PENDING, start_ms=START_MS + 1,
              parent_id="exec", sub_type="Step", name="charge",
              step_details=StepDetails(attempt=1, next_attempt_ms=START_MS + 5_500, error=ERROR)),
    Operation(id="w", type=OperationType.WAIT, status=OperationStatus.SUCCEEDED, start_ms=START_MS,
              end_ms=START_MS + 30_000, wait_details=WaitDetails(scheduled_end_ms=START_MS + 30_000)),
    Operation(id="cb", type=OperationType.CALLBACK, status=OperationStatus.SUCCEEDED, start_ms=START_MS,
              callback_details=CallbackDetails(callback_id="AQID+/8=", result='"ok"')),
)  # fmt: skip
WIRE = [operation.to_wire(Timestamps.SECONDS) for operation in OPERATIONS]


def test_the_checkpoint_answer_carries_the_next_token_and_the_operations_in_seconds() -> None:
    result = parsed("CheckpointDurableExecution", 200,
                    durable_shapes.checkpoint_answer(WIRE, "AAAA", next_marker="m-2"))  # fmt: skip
    assert result["CheckpointToken"] == "AAAA"
    assert result["NewExecutionState"]["NextMarker"] == "m-2"
    execution, step, wait, callback = result["NewExecutionState"]["Operations"]
    assert execution == {"Id": "exec", "Name": "order-7", "Type": "EXECUTION",
                         "StartTimestamp": at(START_MS), "Status": "STARTED"}  # fmt: skip
    assert step["StepDetails"] == {
        "Attempt": 1,
        "NextAttemptTimestamp": at(START_MS + 5_500),
        "Error": {"ErrorMessage": "boom", "ErrorType": "ValueError", "ErrorData": "{}",
                  "StackTrace": ["line 1"]},
    }  # fmt: skip
    assert (step["ParentId"], step["SubType"]) == ("exec", "Step")
    assert (
        wait["EndTimestamp"]
        == wait["WaitDetails"]["ScheduledEndTimestamp"]
        == at(START_MS + 30_000)
    )
    assert callback["CallbackDetails"] == {"CallbackId": "AQID+/8=", "Result": '"ok"'}


def test_an_answer_without_a_token_ends_the_invocation() -> None:
    body = durable_shapes.checkpoint_answer([], None)
    assert body == {"NewExecutionState": {"Operations": []}}
    assert "CheckpointToken" not in parsed("CheckpointDurableExecution", 200, body)


@pytest.mark.parametrize(
    "marker", [pytest.param(None, id="last-page"), pytest.param("7:1000", id="more")]
)
def test_the_state_answer_is_a_page_of_operations(marker: str | None) -> None:
    result = parsed("GetDurableExecutionState", 200, durable_shapes.state_answer(WIRE[:2], marker))
    assert [op["Id"] for op in result["Operations"]] == ["exec", "a" * 64]
    assert result.get("NextMarker") == marker


@dataclass(frozen=True)
class Facts:
    arn: str = ARN
    name: str = "order-7"
    function_arn: str = FUNCTION_ARN
    version: str = "$LATEST"
    status: str = "RUNNING"
    start_ms: int = START_MS
    end_ms: int | None = None
    input_payload: str | None = '{"order": 7}'
    result: str | None = None
    error: dict[str, Any] | None = None
    trace_id: str | None = None
    retention_days: int = 14
    timeout_seconds: int = 86_400


@pytest.mark.parametrize(
    ("facts", "include", "expected"),
    [
        pytest.param(Facts(), True,
                     {"Status": "RUNNING", "InputPayload": '{"order": 7}', "ExecutionDataIncluded": True,
                      "ExpectedExecutionTimeoutTimestamp": at(START_MS + 86_400_000)},
                     id="running"),
        pytest.param(Facts(status="SUCCEEDED", end_ms=START_MS + 9_000, result='"done"', trace_id="Root=1-a"),
                     True,
                     {"Status": "SUCCEEDED", "InputPayload": '{"order": 7}', "Result": '"done"',
                      "EndTimestamp": at(START_MS + 9_000), "ExecutionDataIncluded": True,
                      "TraceHeader": {"XAmznTraceId": "Root=1-a"}},
                     id="succeeded"),
        pytest.param(Facts(status="FAILED", end_ms=START_MS + 1, error=ERROR.to_wire()), True,
                     {"Status": "FAILED", "InputPayload": '{"order": 7}', "EndTimestamp": at(START_MS + 1),
                      "ExecutionDataIncluded": True, "Error": ERROR.to_wire()},
                     id="failed"),
        pytest.param(Facts(status="FAILED", end_ms=START_MS + 1, error=ERROR.to_wire(), result="r"), False,
                     {"Status": "FAILED", "EndTimestamp": at(START_MS + 1), "ExecutionDataIncluded": False},
                     id="without-data"),
    ],
)  # fmt: skip
def test_get_durable_execution(
    facts: Facts,
    include: bool,  # noqa: FBT001 - a table's column
    expected: dict[str, Any],
) -> None:
    answer = durable_shapes.execution_answer(facts, include_data=include)
    result = parsed("GetDurableExecution", 200, answer)
    assert result == {
        "DurableExecutionArn": ARN, "DurableExecutionName": "order-7", "FunctionArn": FUNCTION_ARN,
        "StartTimestamp": at(START_MS), "Version": "$LATEST",
        "DurableConfig": {"RetentionPeriodInDays": 14, "ExecutionTimeout": 86_400},
        **expected,
    }  # fmt: skip


def test_the_list_answer_holds_each_executions_summary() -> None:
    page = [
        Facts(),
        Facts(name="order-8", status="STOPPED", end_ms=START_MS + 2, input_payload="x"),
    ]
    result = parsed(
        "ListDurableExecutionsByFunction", 200, durable_shapes.list_answer(page, "next")
    )
    assert result == {
        "DurableExecutions": [
            {"DurableExecutionArn": ARN, "DurableExecutionName": "order-7", "FunctionArn": FUNCTION_ARN,
             "Status": "RUNNING", "StartTimestamp": at(START_MS)},
            {"DurableExecutionArn": ARN, "DurableExecutionName": "order-8", "FunctionArn": FUNCTION_ARN,
             "Status": "STOPPED", "StartTimestamp": at(START_MS), "EndTimestamp": at(START_MS + 2)},
        ],
        "NextMarker": "next",
    }  # fmt: skip


def ended_run(scenario: Callable[[Run], None]) -> Run:
    run = begun(timeout_s=120)
    scenario(run)
    run.end(FunctionError(ERROR), "req-1")
    run.invoke()
    run.end(Succeeded('"done"'))
    return run


ENDINGS: tuple[Callable[[Run], None], ...] = (
    lambda run: run.fire(TimerKind.EXECUTION_TIMEOUT, None),
    lambda run: run.add(stop(run.state, ERROR, run.tick())),
    lambda run: run.end(Failed(ERROR)),
)


@pytest.mark.parametrize(
    "include", [pytest.param(True, id="with-data"), pytest.param(False, id="without")]
)
def test_every_history_event_is_the_models_event(include: bool) -> None:  # noqa: FBT001
    runs = [ended_run(scenario) for scenario in SCENARIOS]
    for ending in ENDINGS:
        run = begun()
        ending(run)
        runs.append(run)
    seen: set[str] = set()
    for run in runs:
        page = history_page(run.log, ARN, HistoryRequest(include_data=include))
        assert isinstance(page, HistoryPage)
        result = parsed(
            "GetDurableExecutionHistory", 200, durable_shapes.history_answer(page.wire_events())
        )
        assert [e["EventId"] for e in result["Events"]] == [e.event_id for e in page.events]
        assert [e["EventTimestamp"] for e in result["Events"]] == [
            at(e.timestamp_ms) for e in page.events
        ]
        seen |= {e["EventType"] for e in result["Events"]}
    event_types = MODEL.shape_for("EventType").enum  # type: ignore[attr-defined]
    assert set(event_types) - seen == {
        "ChainedInvokeStarted",
        "ExecutionPaused",
        "ExecutionResumed",
    }


def test_the_history_answer_carries_the_next_marker_back() -> None:
    run = ended_run(SCENARIOS[0])
    page = history_page(run.log, ARN, HistoryRequest(max_items=2, reverse=True))
    assert isinstance(page, HistoryPage)
    assert page.next_marker is not None
    body = durable_shapes.history_answer(page.wire_events(), page.next_marker)
    result = parsed("GetDurableExecutionHistory", 200, body)
    assert result["NextMarker"] == page.next_marker
    assert [e["EventType"] for e in result["Events"]] == [
        "ExecutionSucceeded",
        "InvocationCompleted",
    ]
    assert (
        result["Events"][1]["InvocationCompletedDetails"]["EndTimestamp"]
        == result["Events"][1]["EventTimestamp"]
    )


def test_stop_and_callback_answers() -> None:
    stopped = parsed("StopDurableExecution", 200, durable_shapes.stop_answer(START_MS))
    assert stopped == {"StopTimestamp": at(START_MS)}
    for operation in ("SendDurableExecutionCallbackSuccess", "SendDurableExecutionCallbackFailure",
                      "SendDurableExecutionCallbackHeartbeat"):  # fmt: skip
        assert parsed(operation, 200, durable_shapes.callback_answer()) == {}


def test_epoch_seconds_keep_the_milliseconds() -> None:
    assert durable_shapes.epoch_seconds(1_500) == 1.5
    assert at(START_MS) == datetime(2025, 11, 24, 16, 0, 0, 250_000, UTC)


def parsed_error(operation: str, error: GatewayError) -> dict[str, Any]:
    """What botocore makes of an error answer, as its endpoint does (modelled members joined)."""
    status, headers, body = error.render()
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    parser = create_parser("rest-json")
    result: dict[str, Any] = parser.parse(response, MODEL.operation_model(operation).output_shape)
    error_shape = MODEL.shape_for_error_code(result["Error"]["Code"])
    assert error_shape is not None
    assert error_shape.name in {e.name for e in MODEL.operation_model(operation).error_shapes}
    conforms(json.loads(body), error_shape)
    result.update(parser.parse(response, error_shape))
    return result


@pytest.mark.parametrize(
    ("operation", "error", "status", "code", "message"),
    [
        pytest.param("CheckpointDurableExecution",
                     invalid_parameter(str(InvalidTokenError(INVALID_CHECKPOINT_TOKEN))),
                     400, "InvalidParameterValueException", "Invalid checkpoint token", id="stale-token"),
        pytest.param("GetDurableExecution", durable_shapes.execution_not_found(ARN),
                     404, "ResourceNotFoundException", f"Durable execution not found: {ARN}", id="not-found"),
        pytest.param("SendDurableExecutionCallbackSuccess", durable_shapes.callback_not_found(),
                     404, "ResourceNotFoundException", "Callback not found", id="callback-not-found"),
        pytest.param("SendDurableExecutionCallbackHeartbeat", durable_shapes.callback_timed_out(),
                     400, "CallbackTimeoutException", "The callback timed out", id="callback-timed-out"),
        pytest.param("Invoke", durable_shapes.execution_already_started("order-7"),
                     409, "DurableExecutionAlreadyStartedException", "A durable execution named 'order-7'",
                     id="already-started"),
    ],
)  # fmt: skip
def test_each_error_is_the_exception_the_model_names(
    operation: str, error: GatewayError, status: int, code: str, message: str
) -> None:
    result = parsed_error(operation, error)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == status
    assert result["Error"]["Code"] == code
    assert result["Error"]["Message"].startswith(message)
    assert result["Type"] == "User"


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        pytest.param({"StopTimestamp": 1, "Extra": 1}, "unknown", id="unknown-member"),
        pytest.param({}, "missing", id="missing-required"),
        pytest.param({"StopTimestamp": "2025-01-01"}, ".StopTimestamp", id="timestamp-as-text"),
        pytest.param({"StopTimestamp": True}, ".StopTimestamp", id="timestamp-as-boolean"),
    ],
)
def test_the_model_check_catches_what_botocore_would_silently_drop(
    body: dict[str, Any], fault: str
) -> None:
    with pytest.raises(AssertionError, match=fault):
        parsed("StopDurableExecution", 200, body)
