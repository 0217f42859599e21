"""The summary record: derived from the decider's states, written and read back strictly."""

import json
from dataclasses import replace
from typing import Any

import pytest

from kappa.durable.decider import CheckpointCall, Decision, Refusal, checkpoint, invoke, start
from kappa.durable.decider import stop as stop_execution
from kappa.durable.execution import Execution
from kappa.durable.fields import FieldError
from kappa.durable.model import (
    ExecutionStatus,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)
from kappa.durable.summary import (
    SUMMARY_MAX_BYTES,
    Identity,
    decode,
    encode,
    summarise,
)

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000
ARN = "arn:aws:lambda:us-east-1:team:function:orders:$LATEST/durable-execution/n1/ex1"
IDENTITY = Identity(ARN, "ex1", "$LATEST", "c2hhMjU2")
A = OperationAction
K = OperationType


def _committed(decision: Decision | Refusal, state: Execution) -> Execution:
    assert isinstance(decision, Decision), decision
    return decision.commit(state.sequence + 1)


def _started(timeout_s: int | None = 3600) -> Execution:
    state = _committed(start("ex1", '{"n":1}', timeout_s, T0), Execution())
    return _committed(invoke(state, "inv1", T0 + 1), state)


def _checkpoint(state: Execution, *updates: OperationUpdate, now: int = T0 + 10) -> Execution:
    call = CheckpointCall("inv1", state.fields.token_sequence, None, updates)
    return _committed(checkpoint(state, call, now, lambda op: f"cb-{op}"), state)


def test_a_new_execution_is_running_and_wakes_at_its_deadline() -> None:
    state = _started()
    summary = summarise(IDENTITY, state)
    assert summary.identity == IDENTITY
    assert summary.status is ExecutionStatus.RUNNING
    assert (summary.start_ms, summary.end_ms) == (T0, None)
    assert summary.invocation == "inv1"
    assert summary.log_sequence == state.sequence == 2
    assert summary.next_wakeup_ms == T0 + 3_600_000
    assert summary.current is None
    assert summary.failed_invocations == 0


def test_the_earliest_live_timer_is_the_next_wakeup() -> None:
    state = _checkpoint(
        _started(),
        OperationUpdate("w", K.WAIT, A.START, name="wait-30s", wait_options=WaitOptions(30)),
        OperationUpdate("s", K.STEP, A.RETRY, name="charge", step_options=StepOptions(5)),
    )
    summary = summarise(IDENTITY, state)
    assert summary.next_wakeup_ms == T0 + 10 + 5_000  # the step's retry, before the wait
    assert summary.current == (K.STEP, "charge", OperationStatus.PENDING)


def test_a_wait_without_a_deadline_and_an_operation_without_a_name() -> None:
    state = _checkpoint(
        _started(timeout_s=None),
        OperationUpdate("w", K.WAIT, A.START, wait_options=WaitOptions(30)),
    )
    summary = summarise(IDENTITY, state)
    assert summary.next_wakeup_ms == T0 + 10 + 30_000
    assert summary.current == (K.WAIT, None, OperationStatus.STARTED)


def test_an_ended_execution_has_no_wakeup() -> None:
    running = _checkpoint(
        _started(), OperationUpdate("w", K.WAIT, A.START, wait_options=WaitOptions(30))
    )
    ended = _committed(stop_execution(running, None, T0 + 20), running)
    summary = summarise(IDENTITY, ended)
    assert summary.status is ExecutionStatus.STOPPED
    assert summary.end_ms == T0 + 20
    assert summary.next_wakeup_ms is None


def test_a_succeeded_step_leaves_only_the_deadline() -> None:
    state = _checkpoint(_started(), OperationUpdate("s", K.STEP, A.SUCCEED, payload="1"))
    summary = summarise(IDENTITY, state)
    assert summary.next_wakeup_ms == T0 + 3_600_000
    assert summary.current == (K.STEP, None, OperationStatus.SUCCEEDED)


@pytest.mark.parametrize(
    "state",
    [
        pytest.param(_started(), id="new"),
        pytest.param(
            _checkpoint(
                _started(),
                OperationUpdate("w", K.WAIT, A.START, name="w 30", wait_options=WaitOptions(3)),
            ),
            id="waiting",
        ),
    ],
)
def test_round_trip(state: Execution) -> None:
    summary = summarise(IDENTITY, state)
    assert decode(encode(summary)) == summary


def _wire(**changes: Any) -> bytes:
    wire = json.loads(encode(summarise(IDENTITY, _started())))
    for key, value in changes.items():
        if value is None:
            wire.pop(key, None)
        else:
            wire[key] = value
    return json.dumps(wire).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(b"[", "summary", id="not-json"),
        pytest.param(b"[]", "summary", id="not-an-object"),
        pytest.param(b" " * (SUMMARY_MAX_BYTES + 1), "summary", id="too-large"),
        pytest.param(_wire(v=2), "summary.v", id="version"),
        pytest.param(_wire(arn=None), "summary.arn", id="arn-missing"),
        pytest.param(_wire(arn="a b"), "summary.arn", id="arn-space"),
        pytest.param(_wire(id="x" * 65), "summary.id", id="id-long"),
        pytest.param(_wire(version="latest"), "summary.version", id="version-bad"),
        pytest.param(_wire(inputHash="é"), "summary.inputHash", id="hash"),
        pytest.param(_wire(status="DONE"), "summary.status", id="status"),
        pytest.param(_wire(start=-1), "summary.start", id="start-negative"),
        pytest.param(_wire(start=True), "summary.start", id="start-bool"),
        pytest.param(_wire(sequence=2**64), "summary.sequence", id="sequence-huge"),
        pytest.param(_wire(end="soon"), "summary.end", id="end"),
        pytest.param(_wire(invocation="a.b"), "summary.invocation", id="invocation"),
        pytest.param(_wire(nextWakeUp=1.5), "summary.nextWakeUp", id="wakeup"),
        pytest.param(_wire(current=[]), "summary.current", id="current"),
        pytest.param(_wire(current={"type": "STEP"}), "summary.current.status", id="cur-status"),
        pytest.param(
            _wire(current={"type": "X", "status": "STARTED"}), "summary.current.type", id="type"
        ),
        pytest.param(
            _wire(current={"type": "STEP", "status": "STARTED", "name": "\n"}),
            "summary.current.name",
            id="cur-name",
        ),
        pytest.param(_wire(failedInvocations=None), "summary.failedInvocations", id="failed"),
    ],
)
def test_hostile_summaries_are_refused_naming_the_field(body: bytes, field: str) -> None:
    with pytest.raises(FieldError) as refused:
        decode(body)
    assert refused.value.field == field


def test_an_oversized_summary_is_not_written() -> None:
    summary = summarise(IDENTITY, _started())
    huge = replace(summary, arn="a" * SUMMARY_MAX_BYTES)
    with pytest.raises(ValueError, match="at most"):
        encode(huge)
