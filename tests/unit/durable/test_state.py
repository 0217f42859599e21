"""The log's entries: encoded and read back strictly, and folded into the decider's state."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kappa.durable.decider import (
    CallbackFailure,
    CallbackHeartbeat,
    CallbackSuccess,
    CheckpointCall,
    Decision,
    FunctionError,
    Pending,
    Succeeded,
    Throttled,
    Timer,
    Wake,
    callback,
    checkpoint,
    fire,
    invocation_ended,
    invoke,
    start,
    stop,
)
from kappa.durable.execution import Execution, InvocationRecord, LogEntry, TimerKind
from kappa.durable.fields import FieldError
from kappa.durable.model import (
    CallbackOptions,
    ErrorObject,
    OperationAction,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)
from kappa.durable.state import (
    ENTRY_MAX_BYTES,
    SNAPSHOT_MAX_BYTES,
    decode,
    decode_snapshot,
    encode,
    encode_snapshot,
    fold,
)

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000
BOOM = ErrorObject(message="boom", type="E", data="{}", stack_trace=("a", "b"))
IDS = ("a", "b", "c")
A = OperationAction
K = OperationType

UPDATES = st.sampled_from(
    [
        lambda i: OperationUpdate(i, K.STEP, A.START, name="step"),
        lambda i: OperationUpdate(i, K.STEP, A.SUCCEED, payload='"ok"'),
        lambda i: OperationUpdate(i, K.STEP, A.FAIL, error=BOOM),
        lambda i: OperationUpdate(i, K.STEP, A.RETRY, step_options=StepOptions(2)),
        lambda i: OperationUpdate(i, K.WAIT, A.START, wait_options=WaitOptions(3)),
        lambda i: OperationUpdate(i, K.WAIT, A.CANCEL),
        lambda i: OperationUpdate(i, K.CALLBACK, A.START, callback_options=CallbackOptions(9, 2)),
        lambda i: OperationUpdate(i, K.CONTEXT, A.START),
        lambda i: OperationUpdate(i, K.CONTEXT, A.SUCCEED, payload="r"),
        lambda _: OperationUpdate("x", K.EXECUTION, A.SUCCEED, payload="done"),
    ]
)

CHECKPOINTS = st.tuples(st.just("checkpoint"), UPDATES, st.sampled_from(IDS), st.booleans())
FIRES = st.tuples(
    st.just("fire"), st.sampled_from(list(TimerKind)), st.sampled_from(IDS), st.booleans()
)
CALLBACKS = st.tuples(
    st.just("callback"),
    st.sampled_from([CallbackSuccess("y"), CallbackFailure(BOOM), CallbackHeartbeat()]),
    st.sampled_from(IDS),
    st.booleans(),
)
# Checkpoints, timers and callbacks are drawn most often; a stop only one time in six.
EVENTS = st.one_of(
    CHECKPOINTS,
    CHECKPOINTS,
    CHECKPOINTS,
    CHECKPOINTS,
    FIRES,
    FIRES,
    CALLBACKS,
    CALLBACKS,
    st.tuples(
        st.just("ended"),
        st.sampled_from([Pending(), Pending(), FunctionError(BOOM), Throttled(1), Succeeded("r")]),
        st.sampled_from(IDS),
        st.booleans(),
    ),
    st.tuples(st.just("invoke"), st.none(), st.sampled_from(IDS), st.booleans()),
    st.tuples(st.just("stop"), st.none(), st.sampled_from(IDS), st.booleans()),
)


def _decide(state: Execution, event: tuple[object, ...], now: int) -> Decision | None:
    kind, what, operation, retried = event
    assert isinstance(operation, str)
    fields = state.fields
    if kind == "checkpoint":
        assert callable(what)
        stale = retried and operation == "c"
        sequence = fields.token_sequence - 1 if stale else fields.token_sequence
        call = CheckpointCall(fields.invocation or "none", sequence, "ct", (what(operation),))
        decided = checkpoint(state, call, now, lambda op: f"cb{op}")
    elif kind == "fire":
        assert isinstance(what, TimerKind)
        ending = what in (TimerKind.EXECUTION_TIMEOUT, TimerKind.EXPIRE)
        if ending and operation != "c":  # ends the execution: one time in three
            return None
        target = None if what in (TimerKind.EXECUTION_TIMEOUT, TimerKind.EXPIRE) else operation
        generation = state.generation(what, target) - (1 if retried else 0)
        decided = fire(state, Timer(what, target, now, generation), now)
    elif kind == "callback":
        decided = callback(state, operation, what, now)  # type: ignore[arg-type]
    elif kind == "ended":
        if isinstance(what, Succeeded) and operation != "c":
            return None
        decided = invocation_ended(state, fields.invocation or "none", what, now)  # type: ignore[arg-type]
    elif kind == "invoke":
        decided = invoke(state, f"inv{now}", now)
    elif operation == "c" and retried:
        decided = stop(state, BOOM, now)
    else:
        return None
    return decided if isinstance(decided, Decision) else None


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENTS, max_size=30), st.integers(0, 30))
def test_folding_the_decisions_entries_gives_the_deciders_state(
    events: list[tuple[object, ...]], snapshot_at: int
) -> None:
    start_decision = start("x", "{}", 600, T0)
    invoked = invoke(start_decision.commit(1), "inv0", T0)
    assert isinstance(invoked, Decision)
    assert start_decision.entry is not None
    assert invoked.entry is not None
    state = invoked.commit(2)
    log: list[tuple[int, LogEntry]] = [
        (1, decode(encode(start_decision.entry))),
        (2, decode(encode(invoked.entry))),
    ]
    snapshot: Execution | None = None
    now = T0
    for event in events:
        now += 1500
        decision = _decide(state, event, now)
        if decision is None or decision.entry is None:
            continue
        sequence = state.sequence + 2  # stream sequences have gaps (other subjects)
        state = decision.commit(sequence)
        log.append((sequence, decode(encode(decision.entry))))
        if any(isinstance(action, Wake) for action in decision.actions):
            woken = invoke(state, f"inv{now}", now)  # the shell invokes at once
            if isinstance(woken, Decision) and woken.entry is not None:
                state = woken.commit(state.sequence + 1)
                log.append((state.sequence, decode(encode(woken.entry))))
        if len(log) == snapshot_at:
            body = encode_snapshot(state)
            assert body is not None
            snapshot = decode_snapshot(body)
    assert fold(None, log) == state
    if snapshot is not None:
        after = [(seq, entry) for seq, entry in log if seq > snapshot.sequence]
        assert fold(snapshot, after) == state


def test_an_entry_reads_back_as_written() -> None:
    decision = start("x", "{}", 60, T0)
    assert decision.entry is not None
    assert decode(encode(decision.entry)) == decision.entry


def test_an_ended_invocation_reads_back_as_written() -> None:
    state = start("x", "{}", None, T0).commit(1)
    state = invoke(state, "inv", T0 + 5).commit(2)  # type: ignore[union-attr]
    assert state.fields.invocation_start_ms == T0 + 5
    decision = invocation_ended(state, "inv", FunctionError(BOOM), T0 + 9, "req-1")
    assert decision.entry is not None
    assert decision.entry.invocation == InvocationRecord(T0 + 5, T0 + 9, "req-1", BOOM)
    assert decision.entry.at_ms == T0 + 9
    assert decode(encode(decision.entry)) == decision.entry
    assert decision.commit(3).fields.invocation_start_ms is None


def test_entries_written_before_the_times_and_the_invocation_were_recorded_still_read() -> None:
    state = invoke(start("x", "{}", None, T0).commit(1), "inv", T0).commit(2)  # type: ignore[union-attr]
    entry = invocation_ended(state, "inv", Pending(), T0 + 9).entry
    assert entry is not None
    wire = json.loads(encode(entry))
    del wire["at"], wire["invocationEnded"]
    assert isinstance(wire["fields"], dict)
    wire["fields"].pop("invocationStart", None)
    old = decode(json.dumps(wire).encode())
    assert (old.at_ms, old.invocation) == (None, None)
    assert old.fields == entry.fields


def test_a_throttled_invocation_records_none() -> None:
    state = invoke(start("x", "{}", None, T0).commit(1), "inv", T0).commit(2)  # type: ignore[union-attr]
    entry = invocation_ended(state, "inv", Throttled(0), T0 + 9).entry
    assert entry is not None
    assert entry.invocation is None
    ran = invocation_ended(state, "inv", Pending(), T0 + 9).entry
    assert ran is not None
    assert ran.invocation == InvocationRecord(T0, T0 + 9, "inv", None)


def _wire() -> dict[str, object]:
    entry = start("x", "{}", 60, T0).entry
    assert entry is not None
    wire: dict[str, object] = json.loads(encode(entry))
    return wire


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"v": 2}, "entry.v", id="version"),
        pytest.param({"cause": ""}, "entry.cause", id="cause-empty"),
        pytest.param({"fields": []}, "entry.fields", id="fields-not-object"),
        pytest.param({"operations": [{"Id": "x"}]}, "entry.operations[0].Type", id="operation"),
        pytest.param({"timers": {"wait/a": -1}}, "entry.timers.wait/a", id="timer-negative"),
        pytest.param({"timers": {"../x": 1}}, "entry.timers", id="timer-key"),
        pytest.param({"heartbeats": {"a": True}}, "entry.heartbeats.a", id="heartbeat-bool"),
        pytest.param({"seen": None}, "entry.seen", id="seen-missing"),
        pytest.param({"at": -5}, "entry.at", id="at-negative"),
        pytest.param({"invocationEnded": []}, "entry.invocationEnded", id="invocation-not-object"),
        pytest.param({"invocationEnded": {"start": 1, "end": 2}}, "entry.invocationEnded.requestId",
                     id="invocation-without-request-id"),
        pytest.param({"invocationEnded": {"start": 1, "end": 2, "requestId": "a b"}},
                     "entry.invocationEnded.requestId", id="request-id-with-space"),
        pytest.param({"invocationEnded": {"start": "1", "end": 2, "requestId": "r"}},
                     "entry.invocationEnded.start", id="invocation-start-text"),
        pytest.param({"invocationEnded": {"start": 1, "end": 2, "requestId": "r", "error": 7}},
                     "entry.invocationEnded.error", id="invocation-error-not-object"),
    ],
)  # fmt: skip
def test_hostile_entries_are_refused_naming_the_member(
    change: dict[str, object], field: str
) -> None:
    wire = {**_wire(), **change}
    with pytest.raises(FieldError) as refused:
        decode(json.dumps(wire).encode())
    assert refused.value.field == field


@pytest.mark.parametrize(
    "member",
    ["status", "tokenSequence", "reinvokePending", "failedInvocations", "start", "seen"],
)
def test_entries_missing_an_execution_field_are_refused(member: str) -> None:
    wire = _wire()
    fields = wire["fields"]
    assert isinstance(fields, dict)
    del fields[member]
    with pytest.raises(FieldError) as refused:
        decode(json.dumps(wire).encode())
    assert refused.value.field == f"entry.fields.{member}"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{", id="not-json"),
        pytest.param(b"[]", id="not-object"),
        pytest.param(b"[" * 100_000, id="deep"),
        pytest.param(b" " * (ENTRY_MAX_BYTES + 1), id="too-large"),
    ],
)
def test_bodies_that_are_no_entry_are_refused(body: bytes) -> None:
    with pytest.raises(FieldError):
        decode(body)


def test_fold_refuses_entries_out_of_order() -> None:
    entry = start("x", "{}", None, T0).entry
    assert entry is not None
    with pytest.raises(ValueError, match="not after"):
        fold(None, [(3, entry), (3, entry)])


def test_payloads_with_any_text_round_trip() -> None:
    state = start("x", "{}", None, T0).commit(1)
    state = invoke(state, "inv", T0).commit(2)  # type: ignore[union-attr]
    payload = "é \ud800 \x00 ☃"
    update = OperationUpdate("a", K.STEP, A.SUCCEED, payload=payload)
    call = CheckpointCall("inv", 0, None, (update,))
    decision = checkpoint(state, call, T0, str)
    assert isinstance(decision, Decision)
    assert decision.entry is not None
    entry = decode(encode(decision.entry))
    assert entry == decision.entry
    assert fold(None, []) == Execution()


def _snapshot_wire() -> dict[str, object]:
    state = start("x", "{}", 60, T0).commit(5)
    body = encode_snapshot(state)
    assert body is not None
    assert decode_snapshot(body) == state
    wire: dict[str, object] = json.loads(body)
    return wire


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"v": 0}, "snapshot.v", id="version"),
        pytest.param({"sequence": -1}, "snapshot.sequence", id="sequence"),
        pytest.param({"touched": {}}, "snapshot.touched", id="operation-untouched"),
        pytest.param({"touched": {"x": 1, "y": 1}}, "snapshot.touched", id="touched-unknown"),
        pytest.param({"operations": {}}, "snapshot.operations", id="operations-not-list"),
        pytest.param({"timers": {"wait/a": 1.5}}, "snapshot.timers.wait/a", id="timer-fraction"),
    ],
)
def test_hostile_snapshots_are_refused_naming_the_member(
    change: dict[str, object], field: str
) -> None:
    wire = {**_snapshot_wire(), **change}
    with pytest.raises(FieldError) as refused:
        decode_snapshot(json.dumps(wire).encode())
    assert refused.value.field == field


def test_snapshots_too_large_are_not_written_nor_read() -> None:
    state = start("x", "p" * SNAPSHOT_MAX_BYTES, None, T0).commit(1)
    assert encode_snapshot(state) is None
    with pytest.raises(FieldError, match="larger than"):
        decode_snapshot(b" " * (SNAPSHOT_MAX_BYTES + 1))
