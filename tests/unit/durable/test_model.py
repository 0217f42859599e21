"""The durable API's shapes: read strictly from the wire, written back unchanged."""

from typing import Any

import pytest

from kappa.durable.fields import FieldError
from kappa.durable.model import (
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    Timestamps,
    parse_operations,
    parse_updates,
)

OP_ID = "a" * 64  # the SDK's ids: a blake2b hex digest
ERROR = {
    "ErrorMessage": "boom",
    "ErrorType": "ValueError",
    "ErrorData": '{"k": 1}',
    "StackTrace": ['  File "handler.py", line 3', "ValueError: boom"],
}


# What the SDK's primitives send (docs/internals/durable.md, "What each primitive sends").
@pytest.mark.parametrize(
    "wire",
    [
        pytest.param({"Id": OP_ID, "Type": "STEP", "SubType": "Step", "Action": "START",
                      "Name": "charge card", "ParentId": "p-1"}, id="step-start"),
        pytest.param({"Id": OP_ID, "Type": "STEP", "SubType": "Step", "Action": "SUCCEED",
                      "Payload": '{"paid": true}'}, id="step-succeed"),
        pytest.param({"Id": OP_ID, "Type": "STEP", "Action": "FAIL", "Error": ERROR}, id="step-fail"),
        pytest.param({"Id": OP_ID, "Type": "STEP", "Action": "RETRY", "Error": {"ErrorMessage": "x"},
                      "StepOptions": {"NextAttemptDelaySeconds": 31_622_400}}, id="step-retry"),
        pytest.param({"Id": OP_ID, "Type": "WAIT", "SubType": "Wait", "Action": "START",
                      "WaitOptions": {"WaitSeconds": 1}}, id="wait-start"),
        pytest.param({"Id": OP_ID, "Type": "WAIT", "Action": "CANCEL"}, id="wait-cancel"),
        pytest.param({"Id": OP_ID, "Type": "CALLBACK", "Action": "START",
                      "CallbackOptions": {"TimeoutSeconds": 0, "HeartbeatTimeoutSeconds": 99_999_999}},
                     id="callback-start"),
        pytest.param({"Id": OP_ID, "Type": "CONTEXT", "SubType": "Map", "Action": "SUCCEED",
                      "ContextOptions": {"ReplayChildren": True}}, id="context-replay-children"),
        pytest.param({"Id": OP_ID, "Type": "CHAINED_INVOKE", "Action": "START", "Payload": "{}",
                      "ChainedInvokeOptions": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:other:3",
                                               "TenantId": "tenant-1", "XAmznTraceId": "Root=1-abc"}},
                     id="chained-invoke"),
        pytest.param({"Id": "x", "Type": "EXECUTION", "Action": "SUCCEED", "Payload": ""},
                     id="execution-succeed-empty-payload"),
        pytest.param({"Id": "x", "Type": "EXECUTION", "Action": "FAIL", "Error": {}},
                     id="execution-fail-empty-error"),
    ],
)  # fmt: skip
def test_an_update_round_trips(wire: dict[str, Any]) -> None:
    update = OperationUpdate.from_wire(wire, "Updates[0]")
    assert update.to_wire() == wire


def test_an_update_reads_into_typed_fields() -> None:
    update = OperationUpdate.from_wire(
        {"Id": OP_ID, "Type": "STEP", "Action": "RETRY", "Error": ERROR,
         "StepOptions": {"NextAttemptDelaySeconds": 5}},
        "Updates[0]",
    )  # fmt: skip
    assert update.type is OperationType.STEP
    assert update.action is OperationAction.RETRY
    assert update.step_options is not None
    assert update.step_options.next_attempt_delay_seconds == 5
    assert update.error == ErrorObject(
        message="boom", type="ValueError", data='{"k": 1}', stack_trace=tuple(ERROR["StackTrace"])
    )


def test_members_the_model_does_not_know_are_ignored() -> None:
    update = OperationUpdate.from_wire(
        {"Id": "a", "Type": "WAIT", "Action": "START", "Future": 1,
         "WaitOptions": {"WaitSeconds": 3, "Jitter": True}},
        "Updates[0]",
    )  # fmt: skip
    assert update.to_wire() == {"Id": "a", "Type": "WAIT", "Action": "START",
                                "WaitOptions": {"WaitSeconds": 3}}  # fmt: skip


def test_absent_updates_are_a_refresh_and_nulls_are_absent() -> None:
    assert parse_updates(None) == ()
    assert parse_updates([]) == ()
    (update,) = parse_updates([{"Id": "a", "Type": "STEP", "Action": "START", "Name": None}])
    assert update.name is None


def _update(**changes: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {"Id": "op-1", "Type": "STEP", "Action": "START"}
    wire.update(changes)
    return {key: value for key, value in wire.items() if value is not ...}


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        pytest.param({"Id": "a"}, "Updates must be a list.", id="not-a-list"),
        pytest.param(["x"], "Updates[0] must be an object.", id="not-an-object"),
        pytest.param([_update(Id=...)], "Updates[0].Id is required.", id="id-missing"),
        pytest.param([_update(Id="")], "Updates[0].Id must be 1 to 64 characters long (it is 0).", id="id-empty"),
        pytest.param([_update(Id="a" * 65)], "Updates[0].Id must be 1 to 64 characters long (it is 65).",
                     id="id-too-long"),
        pytest.param([_update(Id="a/b")], "Updates[0].Id must match [a-zA-Z0-9_-]+.", id="id-slash"),
        pytest.param([_update(Id="a\nb")], "Updates[0].Id must match [a-zA-Z0-9_-]+.", id="id-newline"),
        pytest.param([_update(Id=7)], "Updates[0].Id must be a string.", id="id-number"),
        pytest.param([_update(ParentId="é")], "Updates[0].ParentId must match [a-zA-Z0-9_-]+.",
                     id="parent-not-ascii"),
        pytest.param([_update(Name="a\tb")], "Updates[0].Name must match [\\x20-\\x7E]+.", id="name-tab"),
        pytest.param([_update(Name="n" * 257)], "Updates[0].Name must be 1 to 256 characters long (it is 257).",
                     id="name-too-long"),
        pytest.param([_update(SubType="s" * 33)], "Updates[0].SubType must be 1 to 32 characters long (it is 33).",
                     id="subtype-too-long"),
        pytest.param([_update(Type=...)], "Updates[0].Type is required.", id="type-missing"),
        pytest.param([_update(Type="TIMER")],
                     "Updates[0].Type must be one of EXECUTION, CONTEXT, STEP, WAIT, CALLBACK, CHAINED_INVOKE.",
                     id="type-unknown"),
        pytest.param([_update(Action="start")],
                     "Updates[0].Action must be one of START, SUCCEED, FAIL, RETRY, CANCEL.", id="action-case"),
        pytest.param([_update(Action=["START"])],
                     "Updates[0].Action must be one of START, SUCCEED, FAIL, RETRY, CANCEL.", id="action-list"),
        pytest.param([_update(Payload="p" * 6_291_457)],
                     "Updates[0].Payload must be 0 to 6291456 characters long (it is 6291457).", id="payload-over-6mib"),
        pytest.param([_update(Payload={"a": 1})], "Updates[0].Payload must be a string.", id="payload-object"),
        pytest.param([_update(Error="boom")], "Updates[0].Error must be an object.", id="error-string"),
        pytest.param([_update(Error={"StackTrace": "line"})], "Updates[0].Error.StackTrace must be a list.",
                     id="stack-not-list"),
        pytest.param([_update(Error={"StackTrace": ["a", 3]})], "Updates[0].Error.StackTrace[1] must be a string.",
                     id="stack-entry-number"),
        pytest.param([_update(Error={"ErrorMessage": 3})], "Updates[0].Error.ErrorMessage must be a string.",
                     id="error-message-number"),
        pytest.param([_update(StepOptions={"NextAttemptDelaySeconds": 0})],
                     "Updates[0].StepOptions.NextAttemptDelaySeconds must be a whole number from 1 to 31622400.",
                     id="delay-zero"),
        pytest.param([_update(StepOptions={"NextAttemptDelaySeconds": 31_622_401})],
                     "Updates[0].StepOptions.NextAttemptDelaySeconds must be a whole number from 1 to 31622400.",
                     id="delay-over-a-year"),
        pytest.param([_update(StepOptions={"NextAttemptDelaySeconds": 1.5})],
                     "Updates[0].StepOptions.NextAttemptDelaySeconds must be a whole number from 1 to 31622400.",
                     id="delay-fraction"),
        pytest.param([_update(StepOptions={"NextAttemptDelaySeconds": True})],
                     "Updates[0].StepOptions.NextAttemptDelaySeconds must be a whole number from 1 to 31622400.",
                     id="delay-boolean"),
        pytest.param([_update(StepOptions={"NextAttemptDelaySeconds": "5"})],
                     "Updates[0].StepOptions.NextAttemptDelaySeconds must be a whole number from 1 to 31622400.",
                     id="delay-string"),
        pytest.param([_update(StepOptions=[])], "Updates[0].StepOptions must be an object.", id="options-list"),
        pytest.param([_update(WaitOptions={"WaitSeconds": 0})],
                     "Updates[0].WaitOptions.WaitSeconds must be a whole number from 1 to 31622400.", id="wait-zero"),
        pytest.param([_update(CallbackOptions={"TimeoutSeconds": -1})],
                     "Updates[0].CallbackOptions.TimeoutSeconds must be a whole number from 0 to 99999999.",
                     id="callback-timeout-negative"),
        pytest.param([_update(CallbackOptions={"HeartbeatTimeoutSeconds": 100_000_000})],
                     "Updates[0].CallbackOptions.HeartbeatTimeoutSeconds must be a whole number from 0 to 99999999.",
                     id="heartbeat-too-long"),
        pytest.param([_update(ContextOptions={"ReplayChildren": "yes"})],
                     "Updates[0].ContextOptions.ReplayChildren must be true or false.", id="replay-string"),
        pytest.param([_update(ChainedInvokeOptions={})],
                     "Updates[0].ChainedInvokeOptions.FunctionName is required.", id="invoke-no-function"),
        pytest.param([_update(ChainedInvokeOptions={"FunctionName": "a b"})],
                     "Updates[0].ChainedInvokeOptions.FunctionName must match", id="invoke-bad-function"),
        pytest.param([_update(ChainedInvokeOptions={"FunctionName": "f", "TenantId": "t\n"})],
                     "Updates[0].ChainedInvokeOptions.TenantId must match", id="invoke-bad-tenant"),
        pytest.param([_update(), _update(Id="")], "Updates[1].Id must be 1 to 64", id="second-update-named"),
    ],
)  # fmt: skip
def test_each_bad_update_is_refused_naming_its_field(updates: object, message: str) -> None:
    with pytest.raises(FieldError) as refused:
        parse_updates(updates)
    assert str(refused.value).startswith(message)
    assert refused.value.field == message.split(" ", maxsplit=1)[0]


OPERATION_MS = {
    "Id": OP_ID,
    "ParentId": "parent",
    "Name": "charge",
    "Type": "STEP",
    "SubType": "Step",
    "StartTimestamp": 1_764_000_000_123,
    "EndTimestamp": 1_764_000_005_000,
    "Status": "PENDING",
    "StepDetails": {"Attempt": 2, "NextAttemptTimestamp": 1_764_000_065_500, "Error": ERROR},
}


@pytest.mark.parametrize(
    ("wire", "unit"),
    [
        pytest.param(OPERATION_MS, Timestamps.MILLISECONDS, id="step-event-ms"),
        pytest.param({**OPERATION_MS, "StartTimestamp": 1_764_000_000.123, "EndTimestamp": 1_764_000_005.0,
                      "StepDetails": {"Attempt": 0, "NextAttemptTimestamp": 1_764_000_065.5}},
                     Timestamps.SECONDS, id="step-answer-seconds"),
        pytest.param({"Id": "exec", "Type": "EXECUTION", "StartTimestamp": 1, "Status": "STARTED",
                      "ExecutionDetails": {"InputPayload": '{"order": 7}'}}, Timestamps.MILLISECONDS,
                     id="execution"),
        pytest.param({"Id": "c", "Type": "CONTEXT", "SubType": "Map", "StartTimestamp": 0, "Status": "SUCCEEDED",
                      "ContextDetails": {"ReplayChildren": False, "Result": "[1, 2]"}}, Timestamps.MILLISECONDS,
                     id="context"),
        pytest.param({"Id": "w", "Type": "WAIT", "StartTimestamp": 10, "Status": "STARTED",
                      "WaitDetails": {"ScheduledEndTimestamp": 30_010}}, Timestamps.MILLISECONDS, id="wait"),
        pytest.param({"Id": "cb", "Type": "CALLBACK", "StartTimestamp": 10, "Status": "TIMED_OUT",
                      "CallbackDetails": {"CallbackId": "AQID+/==", "Error": {"ErrorType": "Callback.Timeout"}}},
                     Timestamps.MILLISECONDS, id="callback"),
        pytest.param({"Id": "ci", "Type": "CHAINED_INVOKE", "StartTimestamp": 10, "Status": "FAILED",
                      "ChainedInvokeDetails": {"Error": {"ErrorType": "Kappa.ChainedInvokeUnsupported"}}},
                     Timestamps.MILLISECONDS, id="chained-invoke"),
    ],
)  # fmt: skip
def test_an_operation_round_trips_in_its_unit(wire: dict[str, Any], unit: Timestamps) -> None:
    (operation,) = parse_operations([wire], "Operations", unit)
    assert operation.to_wire(unit) == wire


def test_timestamps_are_held_in_ms_and_written_in_either_unit() -> None:
    operation = Operation.from_wire(OPERATION_MS, "Operations[0]", Timestamps.MILLISECONDS)
    assert operation.start_ms == 1_764_000_000_123
    assert operation.status is OperationStatus.PENDING
    assert operation.step_details == StepDetails(
        attempt=2, next_attempt_ms=1_764_000_065_500, error=ErrorObject.from_wire(ERROR, "Error")
    )
    seconds = operation.to_wire(Timestamps.SECONDS)
    assert seconds["StartTimestamp"] == 1_764_000_000.123
    assert seconds["EndTimestamp"] == 1_764_000_005
    assert seconds["StepDetails"]["NextAttemptTimestamp"] == 1_764_000_065.5
    assert Operation.from_wire(seconds, "Operations[0]", Timestamps.SECONDS) == operation


def _operation(**changes: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {"Id": "op", "Type": "STEP", "StartTimestamp": 1, "Status": "STARTED"}
    wire.update(changes)
    return {key: value for key, value in wire.items() if value is not ...}


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        pytest.param(_operation(StartTimestamp=...), "Operations[0].StartTimestamp is required.",
                     id="start-missing"),
        pytest.param(_operation(StartTimestamp=-1), "Operations[0].StartTimestamp must be an epoch timestamp from",
                     id="start-negative"),
        pytest.param(_operation(StartTimestamp=253_402_300_800_000),
                     "Operations[0].StartTimestamp must be an epoch timestamp from", id="start-after-9999"),
        pytest.param(_operation(StartTimestamp="2025-01-01"),
                     "Operations[0].StartTimestamp must be an epoch timestamp (a number).", id="start-iso"),
        pytest.param(_operation(StartTimestamp=True),
                     "Operations[0].StartTimestamp must be an epoch timestamp (a number).", id="start-boolean"),
        pytest.param(_operation(StartTimestamp=float("nan")),
                     "Operations[0].StartTimestamp must be an epoch timestamp (a number).", id="start-nan"),
        pytest.param(_operation(EndTimestamp=float("inf")),
                     "Operations[0].EndTimestamp must be an epoch timestamp (a number).", id="end-infinite"),
        pytest.param(_operation(Status="DONE"), "Operations[0].Status must be one of STARTED, PENDING", id="status"),
        pytest.param(_operation(StepDetails={"Attempt": -1}),
                     "Operations[0].StepDetails.Attempt must be a whole number from 0", id="attempt-negative"),
        pytest.param(_operation(WaitDetails={"ScheduledEndTimestamp": "soon"}),
                     "Operations[0].WaitDetails.ScheduledEndTimestamp must be an epoch timestamp", id="wait-end"),
        pytest.param(_operation(CallbackDetails={"CallbackId": "not base64!"}),
                     "Operations[0].CallbackDetails.CallbackId must match", id="callback-id-alphabet"),
        pytest.param(_operation(CallbackDetails={"CallbackId": "A" * 1025}),
                     "Operations[0].CallbackDetails.CallbackId must be 1 to 1024", id="callback-id-long"),
        pytest.param(_operation(ContextDetails={"Error": []}),
                     "Operations[0].ContextDetails.Error must be an object.", id="context-error"),
        pytest.param(_operation(ExecutionDetails={"InputPayload": 1}),
                     "Operations[0].ExecutionDetails.InputPayload must be a string.", id="input-number"),
    ],
)  # fmt: skip
def test_each_bad_operation_is_refused_naming_its_field(wire: dict[str, Any], message: str) -> None:
    with pytest.raises(FieldError) as refused:
        parse_operations([wire], "Operations", Timestamps.MILLISECONDS)
    assert str(refused.value).startswith(message)
    assert refused.value.field == message.split(" ", maxsplit=1)[0]


def test_the_enums_are_the_models() -> None:
    assert [s.value for s in ExecutionStatus] == [
        "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED", "DELETING", "PAUSING", "PAUSED",
    ]  # fmt: skip
    assert Timestamps.SECONDS.render(1_500) == 1.5
    assert Timestamps.MILLISECONDS.render(1_500) == 1_500
