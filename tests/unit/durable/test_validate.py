"""The checkpoint update rules: every rule accepts what the testing package accepts and
refuses the rest with a message naming the update."""

import pytest

from kappa.durable.model import (
    PAYLOAD_MAX,
    ChainedInvokeOptions,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepOptions,
)
from kappa.durable.validate import ERROR_OBJECT_MAX, UpdateRefused, validate_updates

A = OperationAction
S = OperationStatus
T = OperationType


def op(op_id: str, kind: OperationType, status: OperationStatus, **more: str | None) -> Operation:
    return Operation(id=op_id, type=kind, status=status, start_ms=1_000, **more)  # type: ignore[arg-type]


def up(op_id: str, kind: OperationType, action: OperationAction, **more: object) -> OperationUpdate:
    return OperationUpdate(id=op_id, type=kind, action=action, **more)  # type: ignore[arg-type]


STORED = {
    o.id: o
    for o in (
        op("ctx", T.CONTEXT, S.STARTED, name="c", sub_type="Map"),
        op("done-ctx", T.CONTEXT, S.SUCCEEDED),
        op("step", T.STEP, S.STARTED, name="s", sub_type="Step", parent_id="ctx"),
        op("ready", T.STEP, S.READY),
        op("pending", T.STEP, S.PENDING),
        op("won", T.STEP, S.SUCCEEDED),
        op("wait", T.WAIT, S.STARTED),
        op("waited", T.WAIT, S.SUCCEEDED),
        op("cb", T.CALLBACK, S.STARTED),
        op("inv", T.CHAINED_INVOKE, S.STARTED),
        op("exec", T.EXECUTION, S.STARTED),
    )
}
BIG_ERROR = ErrorObject(message="x" * ERROR_OBJECT_MAX)
OPTIONS = StepOptions(next_attempt_delay_seconds=5)
INVOKE = ChainedInvokeOptions(function_name="other")


ACCEPTED = [
    pytest.param([], id="empty-refresh"),
    pytest.param([up("n", T.STEP, A.START)], id="step-start-new"),
    pytest.param([up("n", T.STEP, A.START), up("n", T.STEP, A.SUCCEED)], id="step-start-succeed"),
    pytest.param(
        [up("n", T.CONTEXT, A.START), up("n", T.CONTEXT, A.FAIL)], id="context-start-fail"
    ),
    pytest.param([up("ready", T.STEP, A.START)], id="step-start-ready"),
    pytest.param([up("n", T.STEP, A.SUCCEED)], id="step-succeed-new"),
    pytest.param([up("step", T.STEP, A.SUCCEED, payload="1")], id="step-succeed-started"),
    pytest.param([up("ready", T.STEP, A.FAIL, error=ErrorObject("e"))], id="step-fail-ready"),
    pytest.param([up("step", T.STEP, A.RETRY, step_options=OPTIONS, payload="s")], id="step-retry"),
    pytest.param([up("n", T.STEP, A.RETRY)], id="step-retry-new-unchecked"),
    pytest.param([up("n", T.STEP, A.FAIL, payload="p")], id="step-fail-new-unchecked"),
    pytest.param([up("ctx", T.CONTEXT, A.SUCCEED, payload="r")], id="context-succeed"),
    pytest.param([up("n", T.CONTEXT, A.SUCCEED)], id="context-succeed-new"),
    pytest.param([up("n", T.WAIT, A.START)], id="wait-start"),
    pytest.param([up("wait", T.WAIT, A.CANCEL)], id="wait-cancel"),
    pytest.param([up("n", T.CALLBACK, A.START)], id="callback-start"),
    pytest.param([up("n", T.CHAINED_INVOKE, A.START, chained_invoke_options=INVOKE)], id="invoke"),
    pytest.param([up("step", T.STEP, A.SUCCEED), up("x", T.EXECUTION, A.SUCCEED)], id="exec-last"),
    pytest.param([up("x", T.EXECUTION, A.FAIL, error=ErrorObject("e"))], id="exec-fail"),
    pytest.param([up("n", T.STEP, A.START, parent_id="ctx")], id="parent-stored"),
    pytest.param([up("n", T.STEP, A.START, parent_id="done-ctx")], id="parent-ended-context"),
    pytest.param(
        [up("p", T.CONTEXT, A.START), up("n", T.WAIT, A.START, parent_id="p")],
        id="parent-started-in-batch",
    ),
    pytest.param(
        [up("step", T.STEP, A.SUCCEED, name="s", sub_type="Step", parent_id="ctx")],
        id="metadata-equal",
    ),
    pytest.param([up("n", T.STEP, A.SUCCEED, payload="x" * PAYLOAD_MAX)], id="payload-at-bound"),
    pytest.param(
        [up("n", T.STEP, A.FAIL, error=ErrorObject(message="x" * (ERROR_OBJECT_MAX - 20)))],
        id="error-at-bound",
    ),
]


@pytest.mark.parametrize("updates", ACCEPTED)
def test_accepted(updates: list[OperationUpdate]) -> None:
    assert validate_updates(STORED, updates) is None


REFUSED = [
    pytest.param(
        [up("x", T.EXECUTION, A.SUCCEED), up("n", T.STEP, A.START)],
        0,
        "x",
        "the EXECUTION update must be the last",
        id="exec-not-last",
    ),
    pytest.param(
        [up("n", T.STEP, A.START), up("x", T.EXECUTION, A.SUCCEED), up("x", T.EXECUTION, A.FAIL)],
        2,
        "x",
        "a batch holds at most one EXECUTION update",
        id="exec-twice",
    ),
    pytest.param(
        [up("n", T.STEP, A.START), up("n", T.STEP, A.START)],
        1,
        "n",
        "the id is updated twice in the batch (START, then START)",
        id="duplicate-start",
    ),
    pytest.param(
        [up("n", T.WAIT, A.START), up("n", T.WAIT, A.CANCEL)],
        1,
        "n",
        "the id is updated twice in the batch (START, then CANCEL)",
        id="duplicate-wait",
    ),
    pytest.param(
        [up("step", T.STEP, A.RETRY, step_options=OPTIONS), up("step", T.STEP, A.SUCCEED)],
        1,
        "step",
        "the id is updated twice in the batch (RETRY, then SUCCEED)",
        id="duplicate-close",
    ),
    pytest.param(
        [up("n", T.STEP, A.START, parent_id="nobody")],
        0,
        "n",
        "ParentId nobody names no operation",
        id="parent-missing",
    ),
    pytest.param(
        [up("n", T.STEP, A.START, parent_id="step")],
        0,
        "n",
        "ParentId step names a STEP, not a CONTEXT",
        id="parent-stored-step",
    ),
    pytest.param(
        [up("p", T.WAIT, A.START), up("n", T.STEP, A.START, parent_id="p")],
        1,
        "n",
        "ParentId p names a WAIT, not a CONTEXT",
        id="parent-batch-wait",
    ),
    pytest.param(
        [up("n", T.STEP, A.START, parent_id="p"), up("p", T.CONTEXT, A.START)],
        0,
        "n",
        "ParentId p names no operation",
        id="parent-started-later",
    ),
    pytest.param(
        [up("step", T.WAIT, A.CANCEL)],
        0,
        "step",
        "Type WAIT differs from the stored operation's (STEP)",
        id="type-differs",
    ),
    pytest.param(
        [up("step", T.STEP, A.SUCCEED, sub_type="WaitForCondition")],
        0,
        "step",
        "SubType WaitForCondition differs from the stored operation's (Step)",
        id="subtype-differs",
    ),
    pytest.param(
        [up("step", T.STEP, A.SUCCEED, name="t")],
        0,
        "step",
        "Name t differs from the stored operation's (s)",
        id="name-differs",
    ),
    pytest.param(
        [up("step", T.STEP, A.SUCCEED, parent_id="done-ctx")],
        0,
        "step",
        "ParentId done-ctx differs from the stored operation's (ctx)",
        id="parent-differs",
    ),
    pytest.param(
        [up("n", T.STEP, A.FAIL, error=BIG_ERROR)],
        0,
        "n",
        f"Error is {ERROR_OBJECT_MAX + 20} bytes as JSON, over {ERROR_OBJECT_MAX}",
        id="error-too-big",
    ),
    pytest.param(
        [up("n", T.STEP, A.SUCCEED, payload="x" * (PAYLOAD_MAX + 1))],
        0,
        "n",
        f"Payload is {PAYLOAD_MAX + 1} characters, over {PAYLOAD_MAX}",
        id="payload-too-big",
    ),
    pytest.param(
        [up("n", T.WAIT, A.SUCCEED)], 0, "n", "WAIT takes no SUCCEED action", id="wait-succeed"
    ),
    pytest.param(
        [up("n", T.STEP, A.CANCEL)], 0, "n", "STEP takes no CANCEL action", id="step-cancel"
    ),
    pytest.param(
        [up("n", T.CONTEXT, A.RETRY)], 0, "n", "CONTEXT takes no RETRY action", id="ctx-retry"
    ),
    pytest.param(
        [up("cb", T.CALLBACK, A.SUCCEED)],
        0,
        "cb",
        "CALLBACK takes no SUCCEED action",
        id="cb-succeed",
    ),
    pytest.param(
        [up("inv", T.CHAINED_INVOKE, A.FAIL)],
        0,
        "inv",
        "CHAINED_INVOKE takes no FAIL action",
        id="inv-fail",
    ),
    pytest.param(
        [up("x", T.EXECUTION, A.START)], 0, "x", "EXECUTION takes no START action", id="exec-start"
    ),
    pytest.param(
        [up("step", T.STEP, A.START)],
        0,
        "step",
        "STEP START is not allowed on an operation STARTED",
        id="step-start-started",
    ),
    pytest.param(
        [up("pending", T.STEP, A.START)],
        0,
        "pending",
        "STEP START is not allowed on an operation PENDING",
        id="step-start-pending",
    ),
    pytest.param(
        [up("won", T.STEP, A.SUCCEED)],
        0,
        "won",
        "STEP SUCCEED is not allowed on an operation SUCCEEDED",
        id="step-succeed-twice",
    ),
    pytest.param(
        [up("pending", T.STEP, A.RETRY, step_options=OPTIONS)],
        0,
        "pending",
        "STEP RETRY is not allowed on an operation PENDING",
        id="step-retry-pending",
    ),
    pytest.param(
        [up("ctx", T.CONTEXT, A.START)],
        0,
        "ctx",
        "CONTEXT START is not allowed on an operation STARTED",
        id="ctx-start-twice",
    ),
    pytest.param(
        [up("done-ctx", T.CONTEXT, A.FAIL)],
        0,
        "done-ctx",
        "CONTEXT FAIL is not allowed on an operation SUCCEEDED",
        id="ctx-close-ended",
    ),
    pytest.param(
        [up("wait", T.WAIT, A.START)],
        0,
        "wait",
        "WAIT START is not allowed on an operation STARTED",
        id="wait-start-twice",
    ),
    pytest.param(
        [up("n", T.WAIT, A.CANCEL)],
        0,
        "n",
        "WAIT CANCEL is not allowed on an operation not stored",
        id="wait-cancel-absent",
    ),
    pytest.param(
        [up("waited", T.WAIT, A.CANCEL)],
        0,
        "waited",
        "WAIT CANCEL is not allowed on an operation SUCCEEDED",
        id="wait-cancel-ended",
    ),
    pytest.param(
        [up("cb", T.CALLBACK, A.START)],
        0,
        "cb",
        "CALLBACK START is not allowed on an operation STARTED",
        id="cb-start-twice",
    ),
    pytest.param(
        [up("inv", T.CHAINED_INVOKE, A.START, chained_invoke_options=INVOKE)],
        0,
        "inv",
        "CHAINED_INVOKE START is not allowed on an operation STARTED",
        id="inv-start-twice",
    ),
    pytest.param(
        [up("n", T.CHAINED_INVOKE, A.START)],
        0,
        "n",
        "CHAINED_INVOKE START needs ChainedInvokeOptions",
        id="inv-no-options",
    ),
    pytest.param(
        [up("step", T.STEP, A.FAIL, payload="p")],
        0,
        "step",
        "FAIL carries no Payload",
        id="step-fail-payload",
    ),
    pytest.param(
        [up("step", T.STEP, A.SUCCEED, error=ErrorObject("e"))],
        0,
        "step",
        "SUCCEED carries no Error",
        id="step-succeed-error",
    ),
    pytest.param(
        [up("n", T.CONTEXT, A.FAIL, payload="p")],
        0,
        "n",
        "FAIL carries no Payload",
        id="ctx-fail-payload",
    ),
    pytest.param(
        [up("ctx", T.CONTEXT, A.SUCCEED, error=ErrorObject("e"))],
        0,
        "ctx",
        "SUCCEED carries no Error",
        id="ctx-succeed-error",
    ),
    pytest.param(
        [up("x", T.EXECUTION, A.FAIL, payload="p")],
        0,
        "x",
        "FAIL carries no Payload",
        id="exec-fail-payload",
    ),
    pytest.param(
        [up("x", T.EXECUTION, A.SUCCEED, error=ErrorObject("e"))],
        0,
        "x",
        "SUCCEED carries no Error",
        id="exec-succeed-error",
    ),
    pytest.param(
        [up("step", T.STEP, A.RETRY)], 0, "step", "RETRY needs StepOptions", id="retry-no-options"
    ),
    pytest.param(
        [up("ready", T.STEP, A.RETRY, step_options=OPTIONS, payload="p", error=ErrorObject("e"))],
        0,
        "ready",
        "RETRY carries an Error or a Payload, not both",
        id="retry-both",
    ),
    pytest.param(
        [up("n", T.STEP, A.START), up("won", T.STEP, A.SUCCEED)],
        1,
        "won",
        "STEP SUCCEED is not allowed on an operation SUCCEEDED",
        id="names-the-second-update",
    ),
]


@pytest.mark.parametrize(("updates", "index", "op_id", "problem"), REFUSED)
def test_refused(updates: list[OperationUpdate], index: int, op_id: str, problem: str) -> None:
    refused = validate_updates(STORED, updates)
    assert refused == UpdateRefused(index, op_id, problem)
    assert refused is not None
    assert refused.message == f"Updates[{index}] (Id {op_id}): {problem}"
