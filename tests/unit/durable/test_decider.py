"""The decider: the design's two tables and the invocation's answers, row by row."""

from dataclasses import replace

import pytest

from kappa.durable.decider import (
    CALLBACK_TIMEOUT,
    INVALID_PARAMETER,
    INVOCATION_LOST,
    RESOURCE_NOT_FOUND,
    ArmTimer,
    CallbackFailure,
    CallbackHeartbeat,
    CallbackOutcome,
    CallbackSuccess,
    CheckpointCall,
    Decision,
    Ended,
    Failed,
    FunctionError,
    InvocationAnswer,
    Pending,
    Purge,
    Refusal,
    Succeeded,
    Throttled,
    Timer,
    Wake,
    callback,
    checkpoint,
    fire,
    invocation_ended,
    invocation_lease_ms,
    invoke,
    start,
    stop,
)
from kappa.durable.execution import IDEMPOTENCY_MS, Execution, InvocationRecord, TimerKind
from kappa.durable.model import (
    CallbackDetails,
    CallbackOptions,
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    StepOptions,
    WaitDetails,
    WaitOptions,
)
from kappa.durable.timing import BACKOFF_CAP_MS, INVOCATION_ATTEMPTS
from kappa.durable.tokens import INVALID_CHECKPOINT_TOKEN

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000
INV = "inv-1"
OP = "op"
BOOM = ErrorObject(message="boom", type="ValueError")

S = OperationStatus
A = OperationAction
K = OperationType


def mint(operation: str) -> str:
    return f"cb-{operation}"


def decided(result: Decision | Refusal) -> Decision:
    assert isinstance(result, Decision), result
    return result


def running(timeout_s: int | None = None) -> Execution:
    """A started execution whose invocation ``INV`` is in flight, at log sequence 2."""
    state = start("exec", "{}", timeout_s, T0).commit(1)
    return decided(invoke(state, INV, T0)).commit(2)


def with_op(state: Execution, operation: Operation) -> Execution:
    return replace(
        state,
        operations={**state.operations, operation.id: operation},
        touched={**state.touched, operation.id: state.sequence},
    )


def op(type_: OperationType, status: OperationStatus, **details: object) -> Operation:
    return Operation(id=OP, type=type_, status=status, start_ms=T0 - 1, **details)  # type: ignore[arg-type]


def call(state: Execution, *updates: OperationUpdate, client: str | None = "c1") -> CheckpointCall:
    return CheckpointCall(INV, state.fields.token_sequence, client, tuple(updates))


def update(type_: OperationType, action: OperationAction, **rest: object) -> OperationUpdate:
    return OperationUpdate(id=OP, type=type_, action=action, **rest)  # type: ignore[arg-type]


NOW = T0 + 10_000


@pytest.mark.parametrize(
    ("prior", "upd", "status", "timer"),
    [
        pytest.param(None, update(K.STEP, A.START), S.STARTED, None, id="step-start-absent"),
        pytest.param(S.READY, update(K.STEP, A.START), S.STARTED, None, id="step-start-ready"),
        pytest.param(
            None,
            update(K.STEP, A.SUCCEED, payload="1"),
            S.SUCCEEDED,
            None,
            id="step-succeed-absent",
        ),
        pytest.param(
            S.STARTED,
            update(K.STEP, A.SUCCEED, payload="1"),
            S.SUCCEEDED,
            None,
            id="step-succeed-started",
        ),
        pytest.param(
            S.READY,
            update(K.STEP, A.SUCCEED, payload="1"),
            S.SUCCEEDED,
            None,
            id="step-succeed-ready",
        ),
        pytest.param(
            None, update(K.STEP, A.FAIL, error=BOOM), S.FAILED, None, id="step-fail-absent"
        ),
        pytest.param(
            S.STARTED, update(K.STEP, A.FAIL, error=BOOM), S.FAILED, None, id="step-fail-started"
        ),
        pytest.param(
            S.READY, update(K.STEP, A.FAIL, error=BOOM), S.FAILED, None, id="step-fail-ready"
        ),
        pytest.param(
            S.STARTED,
            update(K.STEP, A.RETRY, error=BOOM, step_options=StepOptions(7)),
            S.PENDING,
            (TimerKind.RETRY, NOW + 7000),
            id="step-retry-started",
        ),
        pytest.param(
            None,
            update(K.STEP, A.RETRY, step_options=StepOptions(2)),
            S.PENDING,
            (TimerKind.RETRY, NOW + 2000),
            id="step-retry-absent",
        ),
        pytest.param(
            S.READY,
            update(K.STEP, A.RETRY, step_options=StepOptions(2)),
            S.PENDING,
            (TimerKind.RETRY, NOW + 2000),
            id="step-retry-ready",
        ),
        pytest.param(
            None,
            update(K.WAIT, A.START, wait_options=WaitOptions(30)),
            S.STARTED,
            (TimerKind.WAIT, NOW + 30_000),
            id="wait-start",
        ),
        pytest.param(S.STARTED, update(K.WAIT, A.CANCEL), S.CANCELLED, None, id="wait-cancel"),
        pytest.param(
            None,
            update(K.CALLBACK, A.START, callback_options=CallbackOptions(60, 0)),
            S.STARTED,
            (TimerKind.CALLBACK_TIMEOUT, NOW + 60_000),
            id="callback-start",
        ),
        pytest.param(None, update(K.CONTEXT, A.START), S.STARTED, None, id="context-start"),
        pytest.param(
            S.STARTED,
            update(K.CONTEXT, A.SUCCEED, payload="r"),
            S.SUCCEEDED,
            None,
            id="context-succeed",
        ),
        pytest.param(
            S.STARTED, update(K.CONTEXT, A.FAIL, error=BOOM), S.FAILED, None, id="context-fail"
        ),
        pytest.param(
            None, update(K.CHAINED_INVOKE, A.START), S.FAILED, None, id="chained-invoke-unsupported"
        ),
    ],
)
def test_update_rows(
    prior: OperationStatus | None,
    upd: OperationUpdate,
    status: OperationStatus,
    timer: tuple[TimerKind, int] | None,
) -> None:
    state = running()
    if prior is not None:
        state = with_op(state, op(upd.type, prior))
    decision = decided(checkpoint(state, call(state, upd), NOW, mint))
    after = decision.commit(3)
    assert after.operations[OP].status is status
    assert after.touched[OP] == 3
    assert decision.answer is not None
    assert decision.answer.token_sequence == state.fields.token_sequence + 1
    assert OP in {o.id for o in decision.answer.operations}
    arms = [a.timer for a in decision.actions if isinstance(a, ArmTimer)]
    if timer is None:
        assert arms == []
    else:
        assert (arms[0].kind, arms[0].due_ms, arms[0].generation) == (*timer, 1)


@pytest.mark.parametrize(
    ("prior", "upd"),
    [
        pytest.param(S.STARTED, update(K.STEP, A.START), id="step-start-started"),
        pytest.param(S.SUCCEEDED, update(K.STEP, A.SUCCEED), id="step-succeed-succeeded"),
        pytest.param(S.PENDING, update(K.STEP, A.RETRY), id="step-retry-pending"),
        pytest.param(S.STARTED, update(K.WAIT, A.START), id="wait-start-twice"),
        pytest.param(None, update(K.WAIT, A.CANCEL), id="wait-cancel-absent"),
        pytest.param(S.SUCCEEDED, update(K.WAIT, A.CANCEL), id="wait-cancel-succeeded"),
        pytest.param(S.STARTED, update(K.CALLBACK, A.START), id="callback-start-twice"),
        pytest.param(None, update(K.CONTEXT, A.SUCCEED), id="context-succeed-absent"),
        pytest.param(S.SUCCEEDED, update(K.CONTEXT, A.FAIL), id="context-fail-succeeded"),
        pytest.param(S.STARTED, update(K.CHAINED_INVOKE, A.START), id="chained-start-twice"),
    ],
)
def test_update_refused_in_other_states(
    prior: OperationStatus | None, upd: OperationUpdate
) -> None:
    state = running()
    if prior is not None:
        state = with_op(state, op(upd.type, prior))
    refusal = checkpoint(state, call(state, upd), NOW, mint)
    assert isinstance(refusal, Refusal)
    assert refusal.type == INVALID_PARAMETER


def test_step_keeps_counting_attempts_and_the_ready_start_time() -> None:
    state = with_op(running(), op(K.STEP, S.READY, step_details=StepDetails(attempt=2)))
    after = decided(checkpoint(state, call(state, update(K.STEP, A.START)), NOW, mint)).commit(3)
    assert after.operations[OP].start_ms == T0 - 1
    after = decided(
        checkpoint(after, call(after, update(K.STEP, A.SUCCEED, payload="7")), NOW, mint)
    ).commit(4)
    details = after.operations[OP].step_details
    assert details == StepDetails(attempt=3, result="7")


def test_callback_start_mints_its_id_and_arms_both_timers() -> None:
    state = running()
    upd = update(K.CALLBACK, A.START, callback_options=CallbackOptions(60, 5))
    decision = decided(checkpoint(state, call(state, upd), NOW, mint))
    after = decision.commit(3)
    assert after.operations[OP].callback_details == CallbackDetails(callback_id="cb-op")
    kinds = {a.timer.kind: a.timer.due_ms for a in decision.actions if isinstance(a, ArmTimer)}
    assert kinds == {TimerKind.CALLBACK_TIMEOUT: NOW + 60_000, TimerKind.HEARTBEAT: NOW + 5000}


@pytest.mark.parametrize(
    ("action", "status", "result", "error"),
    [
        pytest.param(A.SUCCEED, ExecutionStatus.SUCCEEDED, "done", None, id="succeed"),
        pytest.param(A.FAIL, ExecutionStatus.FAILED, None, BOOM, id="fail"),
    ],
)
def test_execution_update_ends_it_and_answers_no_token(
    action: OperationAction, status: ExecutionStatus, result: str | None, error: ErrorObject | None
) -> None:
    state = running()
    upd = OperationUpdate(id="exec", type=K.EXECUTION, action=action, payload=result, error=error)
    decision = decided(checkpoint(state, call(state, upd), NOW, mint))
    after = decision.commit(3)
    assert decision.answer is not None
    assert decision.answer.token_sequence is None
    assert Ended(status) in decision.actions
    assert (after.fields.status, after.fields.result, after.fields.error) == (status, result, error)
    assert after.operations["exec"].status.value == status.value
    # The invocation's next checkpoint is answered with no token either.
    again = decided(checkpoint(after, call(after, client="c2"), NOW, mint))
    assert again.entry is None
    assert again.answer is not None
    assert again.answer.token_sequence is None


def test_tokens_of_another_invocation_or_sequence_are_refused_with_the_exact_message() -> None:
    state = running()
    other = CheckpointCall("inv-0", 0, "c", ())
    stale = CheckpointCall(INV, state.fields.token_sequence + 1, "c", ())
    for bad in (other, stale):
        assert checkpoint(state, bad, NOW, mint) == Refusal(
            INVALID_PARAMETER, INVALID_CHECKPOINT_TOKEN
        )


def test_a_retried_checkpoint_gets_the_cached_answer_within_fifteen_minutes() -> None:
    state = running()
    first_call = call(state, update(K.STEP, A.SUCCEED, payload="1"))
    first = decided(checkpoint(state, first_call, NOW, mint))
    after = first.commit(3)
    retry = decided(checkpoint(after, first_call, NOW + 1000, mint))
    assert retry.entry is None
    assert retry.answer == first.answer
    late = checkpoint(after, first_call, NOW + IDEMPOTENCY_MS, mint)
    assert late == Refusal(INVALID_PARAMETER, INVALID_CHECKPOINT_TOKEN)
    other_client = replace(first_call, client_token="c9")  # noqa: S106 - a ClientToken
    assert checkpoint(after, other_client, NOW, mint) == Refusal(
        INVALID_PARAMETER, INVALID_CHECKPOINT_TOKEN
    )


def test_due_timers_are_applied_at_a_checkpoint_before_the_answer() -> None:
    state = running()
    wait = replace(op(K.WAIT, S.STARTED, wait_details=WaitDetails(NOW - 1)), id="w")
    retry = replace(op(K.STEP, S.PENDING, step_details=StepDetails(1, NOW)), id="r")
    later = replace(op(K.WAIT, S.STARTED, wait_details=WaitDetails(NOW + 1)), id="later")
    for operation in (wait, retry, later):
        state = with_op(state, operation)
    state = replace(state, fields=replace(state.fields, seen=state.sequence))
    decision = decided(checkpoint(state, call(state), NOW, mint))
    assert decision.answer is not None
    answered = {o.id: o.status for o in decision.answer.operations}
    assert answered == {"w": S.SUCCEEDED, "r": S.READY}
    after = decision.commit(3)
    assert after.operations["later"].status is S.STARTED


def test_the_execution_timeout_while_invoking_ends_it_at_the_next_checkpoint() -> None:
    state = running(timeout_s=60)
    upd = update(K.STEP, A.START)
    decision = decided(checkpoint(state, call(state, upd), T0 + 60_000, mint))
    assert decision.answer is not None
    assert decision.answer.token_sequence is None
    assert Ended(ExecutionStatus.TIMED_OUT) in decision.actions
    assert OP not in decision.commit(3).operations
    timer = Timer(TimerKind.EXECUTION_TIMEOUT, None, T0 + 60_000, 1)
    fired = fire(state, timer, T0 + 60_000)
    assert fired.commit(3).fields.status is ExecutionStatus.TIMED_OUT
    assert Ended(ExecutionStatus.TIMED_OUT) in fired.actions


def test_start_arms_the_execution_timeout_and_wakes() -> None:
    decision = start("exec", '{"a":1}', 900, T0)
    timer = Timer(TimerKind.EXECUTION_TIMEOUT, None, T0 + 900_000, 1)
    assert decision.actions == (ArmTimer(timer), Wake())
    state = decision.commit(1)
    assert state.operations["exec"].type is K.EXECUTION
    assert state.fields.invocation is None


@pytest.mark.parametrize(
    ("kind", "operation", "status"),
    [
        pytest.param(TimerKind.WAIT, op(K.WAIT, S.STARTED), S.SUCCEEDED, id="wait"),
        pytest.param(TimerKind.RETRY, op(K.STEP, S.PENDING), S.READY, id="retry"),
        pytest.param(
            TimerKind.CALLBACK_TIMEOUT, op(K.CALLBACK, S.STARTED), S.TIMED_OUT, id="cb-timeout"
        ),
        pytest.param(TimerKind.HEARTBEAT, op(K.CALLBACK, S.STARTED), S.TIMED_OUT, id="heartbeat"),
    ],
)
@pytest.mark.parametrize("in_flight", [True, False], ids=["in-flight", "idle"])
def test_due_timer_rows(
    kind: TimerKind,
    operation: Operation,
    status: OperationStatus,
    in_flight: bool,  # noqa: FBT001 - a parameter of the table
) -> None:
    state = with_op(running(), operation)
    if not in_flight:
        state = replace(state, fields=replace(state.fields, invocation=None))
    state = replace(state, timers={f"{kind.value}/{OP}": 3})
    decision = fire(state, Timer(kind, OP, NOW, 3), NOW)
    after = decision.commit(3)
    assert after.operations[OP].status is status
    if in_flight:
        assert after.fields.reinvoke_pending
        assert decision.actions == ()
    else:
        assert decision.actions == (Wake(),)
    if status is S.TIMED_OUT:
        details = after.operations[OP].callback_details
        assert details is not None
        assert details.error is not None
        expected = (
            "Callback.Timeout" if kind is TimerKind.CALLBACK_TIMEOUT else "Callback.Heartbeat"
        )
        assert details.error.type == expected


@pytest.mark.parametrize(
    ("generation", "operation"),
    [
        pytest.param(2, op(K.WAIT, S.STARTED), id="old-generation"),
        pytest.param(3, op(K.WAIT, S.CANCELLED), id="operation-moved-on"),
        pytest.param(3, None, id="operation-absent"),
    ],
)
def test_stale_timers_are_a_no_op(generation: int, operation: Operation | None) -> None:
    state = running()
    if operation is not None:
        state = with_op(state, operation)
    state = replace(state, timers={f"wait/{OP}": 3})
    decision = fire(state, Timer(TimerKind.WAIT, OP, NOW, generation), NOW)
    assert decision == Decision(state)


def ended(status: ExecutionStatus) -> tuple[ArmTimer | Ended, ...]:
    """The actions of an execution's end at NOW: its expire timer (14 days), then Ended."""
    return (ArmTimer(Timer(TimerKind.EXPIRE, None, NOW + 14 * 86_400_000, 1)), Ended(status))


def test_expire_purges_an_ended_execution_only() -> None:
    state = replace(running(), timers={"expire/": 1})
    timer = Timer(TimerKind.EXPIRE, None, NOW, 1)
    assert fire(state, timer, NOW).actions == ()
    stopped = stop(state, None, NOW)
    armed = [a.timer for a in stopped.actions if isinstance(a, ArmTimer)]
    # The end arms the expire timer at the retention's end (14 days by default).
    assert armed == [Timer(TimerKind.EXPIRE, None, NOW + 14 * 86_400_000, 2)]
    ended = stopped.commit(3)
    assert fire(ended, armed[0], NOW).actions == (Purge(),)
    assert fire(ended, timer, NOW).actions == ()  # the older generation is stale


def test_the_retention_given_at_start_times_the_expire_timer() -> None:
    begun = start("ex", "{}", None, NOW, retention_days=3).commit(1)
    ended = stop(begun, None, NOW + 5)
    armed = [a.timer.due_ms for a in ended.actions if isinstance(a, ArmTimer)]
    assert armed == [NOW + 5 + 3 * 86_400_000]
    assert ended.commit(2).fields.retention_days == 3


def test_an_invocation_in_flight_keeps_its_claim_within_its_lease() -> None:
    claimed = invoke(start("ex", "{}", None, NOW).commit(1), "inv-a", NOW).commit(2)  # type: ignore[union-attr]
    lease = invocation_lease_ms(10)
    assert lease == 40_000
    held = invoke(claimed, "inv-b", NOW + lease - 1, lease)
    assert held == Decision(claimed)  # nothing appended: inv-a still holds it


def test_an_invocation_past_its_lease_is_lost_and_counted_failed() -> None:
    claimed = invoke(start("ex", "{}", None, NOW).commit(1), "inv-a", NOW).commit(2)  # type: ignore[union-attr]
    lease = invocation_lease_ms(10)
    taken = invoke(claimed, "inv-b", NOW + lease, lease)
    assert isinstance(taken, Decision)
    state = taken.commit(3)
    assert state.fields.invocation == "inv-b"
    assert state.fields.failed_invocations == 1
    assert taken.actions == ()  # the claim is the invocation the failure asked for
    # The lost invocation ran: its end is recorded for the history, with the error.
    assert taken.entry is not None
    assert taken.entry.invocation == InvocationRecord(NOW, NOW + lease, "inv-a", INVOCATION_LOST)


def test_an_invocation_lost_for_the_last_allowed_time_fails_the_execution() -> None:
    claimed = invoke(start("ex", "{}", None, NOW).commit(1), "inv-a", NOW).commit(2)  # type: ignore[union-attr]
    worn = replace(claimed, fields=replace(claimed.fields, failed_invocations=4))
    taken = invoke(worn, "inv-b", NOW + 10**9, 1000)
    assert isinstance(taken, Decision)
    state = taken.commit(3)
    assert state.fields.status is ExecutionStatus.FAILED
    assert state.fields.invocation is None
    assert any(isinstance(a, Ended) for a in taken.actions)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        pytest.param(CallbackSuccess("yes"), S.SUCCEEDED, id="success"),
        pytest.param(CallbackFailure(BOOM), S.FAILED, id="failure"),
    ],
)
def test_callback_completions(outcome: CallbackOutcome, status: OperationStatus) -> None:
    state = replace(
        with_op(running(), op(K.CALLBACK, S.STARTED, callback_details=CallbackDetails("cb-op"))),
    )
    state = replace(state, fields=replace(state.fields, invocation=None))
    decision = decided(callback(state, OP, outcome, NOW))
    after = decision.commit(3)
    assert after.operations[OP].status is status
    details = after.operations[OP].callback_details
    assert details is not None
    assert (details.callback_id, details.result, details.error) == (
        "cb-op",
        "yes" if status is S.SUCCEEDED else None,
        BOOM if status is S.FAILED else None,
    )
    assert decision.actions == (Wake(),)


def test_a_heartbeat_moves_the_heartbeat_deadline() -> None:
    state = running()
    upd = update(K.CALLBACK, A.START, callback_options=CallbackOptions(0, 5))
    state = decided(checkpoint(state, call(state, upd), NOW, mint)).commit(3)
    decision = decided(callback(state, OP, CallbackHeartbeat(), NOW + 4000))
    assert decision.actions == (ArmTimer(Timer(TimerKind.HEARTBEAT, OP, NOW + 9000, 2)),)
    after = decision.commit(4)
    assert after.operations[OP].status is S.STARTED
    assert fire(after, Timer(TimerKind.HEARTBEAT, OP, NOW + 5000, 1), NOW + 5000) == Decision(after)


@pytest.mark.parametrize(
    ("status", "running_", "expected"),
    [
        pytest.param(S.TIMED_OUT, True, CALLBACK_TIMEOUT, id="timed-out"),
        pytest.param(S.SUCCEEDED, True, RESOURCE_NOT_FOUND, id="succeeded"),
        pytest.param(S.FAILED, True, RESOURCE_NOT_FOUND, id="failed"),
        pytest.param(S.STARTED, False, RESOURCE_NOT_FOUND, id="execution-ended"),
        pytest.param(None, True, RESOURCE_NOT_FOUND, id="absent"),
    ],
)
@pytest.mark.parametrize(
    "outcome",
    [CallbackSuccess("x"), CallbackFailure(None), CallbackHeartbeat()],
    ids=["success", "failure", "heartbeat"],
)
def test_callbacks_refused(
    status: OperationStatus | None,
    running_: bool,  # noqa: FBT001 - a parameter of the table
    expected: str,
    outcome: CallbackOutcome,
) -> None:
    state = running()
    if status is not None:
        state = with_op(state, op(K.CALLBACK, status))
    if not running_:
        state = stop(state, None, NOW).commit(3)
    refusal = callback(state, OP, outcome, NOW)
    assert isinstance(refusal, Refusal)
    assert refusal.type == expected


def test_stop_ends_a_running_execution_and_leaves_an_ended_one() -> None:
    state = running()
    decision = stop(state, BOOM, NOW)
    after = decision.commit(3)
    assert (after.fields.status, after.fields.error, after.fields.end_ms) == (
        ExecutionStatus.STOPPED,
        BOOM,
        NOW,
    )
    assert decision.actions == ended(ExecutionStatus.STOPPED)
    assert stop(after, None, NOW + 1) == Decision(after)


@pytest.mark.parametrize(
    ("answer", "status", "actions"),
    [
        pytest.param(
            Succeeded("r"),
            ExecutionStatus.SUCCEEDED,
            ended(ExecutionStatus.SUCCEEDED),
            id="succeeded",
        ),
        pytest.param(
            Failed(BOOM), ExecutionStatus.FAILED, ended(ExecutionStatus.FAILED), id="failed"
        ),
        pytest.param(
            FunctionError(BOOM), ExecutionStatus.RUNNING, (Wake(5000),), id="function-error"
        ),
        pytest.param(Throttled(0), ExecutionStatus.RUNNING, (Wake(1000),), id="throttled"),
        pytest.param(Throttled(3), ExecutionStatus.RUNNING, (Wake(8000),), id="throttled-again"),
        pytest.param(
            Throttled(30), ExecutionStatus.RUNNING, (Wake(BACKOFF_CAP_MS),), id="throttled-capped"
        ),
        pytest.param(
            Pending(), ExecutionStatus.RUNNING, (Wake(5000),), id="pending-nothing-pending"
        ),
    ],
)
def test_invocation_answers(
    answer: InvocationAnswer, status: ExecutionStatus, actions: tuple[object, ...]
) -> None:
    state = running()
    decision = invocation_ended(state, INV, answer, NOW)
    after = decision.commit(3)
    assert after.fields.status is status
    assert after.fields.invocation is None
    assert decision.actions == actions


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(op(K.WAIT, S.STARTED), id="wait"),
        pytest.param(op(K.CALLBACK, S.STARTED), id="callback"),
        pytest.param(op(K.STEP, S.PENDING), id="retry"),
    ],
)
def test_pending_with_something_pending_waits_and_resets_the_count(operation: Operation) -> None:
    state = with_op(running(), operation)
    state = replace(state, fields=replace(state.fields, seen=state.sequence, failed_invocations=3))
    decision = invocation_ended(state, INV, Pending(), NOW)
    assert decision.actions == ()
    assert decision.commit(3).fields.failed_invocations == 0


@pytest.mark.parametrize(
    "change",
    [pytest.param("reinvoke", id="reinvoke-pending"), pytest.param("unseen", id="unseen-change")],
)
def test_pending_after_a_change_wakes_at_once(change: str) -> None:
    state = with_op(running(), op(K.WAIT, S.STARTED))
    fields = replace(state.fields, seen=state.sequence)
    if change == "reinvoke":
        fields = replace(fields, reinvoke_pending=True)
    else:
        fields = replace(fields, seen=state.sequence - 1)
    decision = invocation_ended(replace(state, fields=fields), INV, Pending(), NOW)
    assert decision.actions == (Wake(),)
    assert not decision.commit(3).fields.reinvoke_pending


def test_failed_invocations_back_off_then_fail_the_execution_at_the_limit() -> None:
    state = running()
    delays = []
    for sequence in range(3, 3 + INVOCATION_ATTEMPTS):
        decision = invocation_ended(state, INV, FunctionError(BOOM), NOW)
        state = decision.commit(sequence)
        delays.append(decision.actions)
        if state.running:
            state = decided(invoke(state, INV, NOW)).commit(sequence + 100)
    assert delays[:-1] == [(Wake(5000),), (Wake(10_000),), (Wake(20_000),), (Wake(40_000),)]
    assert delays[-1] == ended(ExecutionStatus.FAILED)
    assert (state.fields.status, state.fields.error) == (ExecutionStatus.FAILED, BOOM)


def test_a_successful_answer_resets_the_failed_count() -> None:
    state = with_op(running(), op(K.WAIT, S.STARTED))
    state = replace(state, fields=replace(state.fields, failed_invocations=4, seen=state.sequence))
    assert invocation_ended(state, INV, Pending(), NOW).commit(3).fields.failed_invocations == 0


def test_answers_of_an_invocation_no_longer_current_are_ignored() -> None:
    state = running()
    assert invocation_ended(state, "inv-0", Failed(BOOM), NOW) == Decision(state)


def test_an_ended_execution_cannot_be_invoked() -> None:
    ended = stop(running(), None, NOW).commit(3)
    assert invoke(ended, "inv-2", NOW) == Refusal(RESOURCE_NOT_FOUND, "The execution has ended.")


# The first table's second column: the prior statuses (None: absent) each update is
# accepted in; every other pair of update and prior status is refused.
ALLOWED: dict[tuple[OperationType, OperationAction], set[OperationStatus | None]] = {
    (K.STEP, A.START): {None, S.READY},
    (K.STEP, A.SUCCEED): {None, S.STARTED, S.READY},
    (K.STEP, A.FAIL): {None, S.STARTED, S.READY},
    (K.STEP, A.RETRY): {None, S.STARTED, S.READY},
    (K.WAIT, A.START): {None},
    (K.WAIT, A.CANCEL): {S.STARTED},
    (K.CALLBACK, A.START): {None},
    (K.CONTEXT, A.START): {None},
    (K.CONTEXT, A.SUCCEED): {S.STARTED},
    (K.CONTEXT, A.FAIL): {S.STARTED},
    (K.CHAINED_INVOKE, A.START): {None},
}
MATRIX = [
    pytest.param(type_, action, prior, id=f"{type_.value}-{action.value}-{prior or 'absent'}")
    for type_ in (K.STEP, K.WAIT, K.CALLBACK, K.CONTEXT, K.CHAINED_INVOKE)
    for action in OperationAction
    for prior in (None, *OperationStatus)
]


@pytest.mark.parametrize(("type_", "action", "prior"), MATRIX)
def test_every_update_in_every_prior_status(
    type_: OperationType, action: OperationAction, prior: OperationStatus | None
) -> None:
    state = running()
    if prior is not None:
        state = with_op(state, op(type_, prior))
    result = checkpoint(state, call(state, update(type_, action)), NOW, mint)
    if prior in ALLOWED.get((type_, action), set()):
        assert isinstance(result, Decision)
        assert result.entry is not None
        assert OP in {o.id for o in result.entry.operations}
    else:
        assert isinstance(result, Refusal)
        assert result.type == INVALID_PARAMETER


@pytest.mark.parametrize("action", [A.START, A.RETRY, A.CANCEL], ids=lambda a: a.value)
def test_execution_updates_other_than_succeed_and_fail_are_refused(
    action: OperationAction,
) -> None:
    state = running()
    upd = OperationUpdate(id="exec", type=K.EXECUTION, action=action)
    result = checkpoint(state, call(state, upd), NOW, mint)
    assert isinstance(result, Refusal)
    assert result.type == INVALID_PARAMETER
