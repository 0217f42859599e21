"""What the service does with each update and each outside event (pure, ``now`` passed in).

Each function takes an execution's folded state and returns a :class:`Decision`: the
log entry to append (none: nothing changes), the checkpoint's answer where there is
one, and the actions the shell takes once the entry is appended; or a
:class:`Refusal`, which the gateway turns into a Lambda error. The tables are
docs/internals/durable.md's "What the service does with each update" and "The
invocation's answer"; updates are taken as validated (``durable/validate.py``).

| update | allowed when the operation is | becomes | actions |
|---|---|---|---|
| STEP START | absent, READY | STARTED | — |
| STEP SUCCEED / FAIL | absent, STARTED, READY | SUCCEEDED / FAILED, Attempt+1 | — |
| STEP RETRY | absent, STARTED, READY | PENDING, Attempt+1, NextAttemptTimestamp | arm ``retry`` |
| WAIT START | absent | STARTED, ScheduledEndTimestamp | arm ``wait`` |
| WAIT CANCEL | STARTED | CANCELLED | — |
| CALLBACK START | absent | STARTED, CallbackId | arm ``callback-timeout``, ``heartbeat`` |
| CONTEXT START / SUCCEED / FAIL | absent / STARTED / STARTED | STARTED / SUCCEEDED / FAILED | — |
| EXECUTION SUCCEED / FAIL | last of its batch | the execution ends | no token; ``Ended`` |
| CHAINED_INVOKE START | absent | FAILED ``Kappa.ChainedInvokeUnsupported`` (for now) | — |

Due ``wait`` and ``retry`` timers are applied at every checkpoint before the answer.
A timer whose generation is not the current one, or whose operation moved on, is a
no-op. **Wake** is a :class:`Wake` action when no invocation is in flight, else
``reinvoke_pending``. **End actions** are :class:`Ended` (the shell arms ``expire``
from the Function's retention, publishes the completion and updates the index).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from kappa.api.function import DURABLE_RETENTION_DAYS_DEFAULT
from kappa.durable import timing
from kappa.durable.execution import (
    DAY_MS,
    CachedAnswer,
    Execution,
    ExecutionFields,
    InvocationRecord,
    LogEntry,
    TimerKind,
    apply,
    timer_key,
)
from kappa.durable.model import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    ExecutionDetails,
    ExecutionStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    WaitDetails,
)
from kappa.durable.tokens import INVALID_CHECKPOINT_TOKEN

INVALID_PARAMETER: Final = "InvalidParameterValueException"
CALLBACK_TIMEOUT: Final = "CallbackTimeoutException"
RESOURCE_NOT_FOUND: Final = "ResourceNotFoundException"
CHAINED_INVOKE_UNSUPPORTED: Final = ErrorObject(
    message="Chained invokes are not supported yet.", type="Kappa.ChainedInvokeUnsupported"
)
INVOCATION_LOST: Final = ErrorObject(
    message="The invocation was lost: it held the execution past its lease.",
    type="Kappa.InvocationLost",
)
# How long past the Function's timeout an invocation still holds its execution.
INVOCATION_LEASE_MARGIN_MS: Final = 30_000
INVALID_PENDING: Final = ErrorObject(
    message="The invocation answered PENDING with nothing pending.", type="Kappa.InvalidPending"
)

_ENDED_OPERATION: Final = {
    ExecutionStatus.SUCCEEDED: OperationStatus.SUCCEEDED,
    ExecutionStatus.FAILED: OperationStatus.FAILED,
    ExecutionStatus.TIMED_OUT: OperationStatus.TIMED_OUT,
    ExecutionStatus.STOPPED: OperationStatus.STOPPED,
}


# Actions the shell takes after the entry is appended.


@dataclass(frozen=True, slots=True)
class Timer:
    """A durable timer: what it does, on which operation (none: the execution), when."""

    kind: TimerKind
    operation: str | None
    due_ms: int
    generation: int


@dataclass(frozen=True, slots=True)
class ArmTimer:
    """Publish ``timer`` on the timers stream."""

    timer: Timer


@dataclass(frozen=True, slots=True)
class Wake:
    """Enqueue an invocation of the execution after ``delay_ms``."""

    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class Ended:
    """The execution ended: arm ``expire``, publish the completion, update the index."""

    status: ExecutionStatus


@dataclass(frozen=True, slots=True)
class Purge:
    """The execution's retention is over: purge its log and delete its keys."""


Action = ArmTimer | Wake | Ended | Purge


@dataclass(frozen=True, slots=True)
class Answer:
    """A checkpoint's answer: the operations changed, the next token's sequence (none: stop)."""

    operations: tuple[Operation, ...]
    token_sequence: int | None


@dataclass(frozen=True, slots=True)
class Decision:
    """The entry to append (none: nothing to append), the answer and the actions after."""

    prior: Execution
    entry: LogEntry | None = None
    answer: Answer | None = None
    actions: tuple[Action, ...] = ()

    def commit(self, sequence: int) -> Execution:
        """The state once the entry is appended at log ``sequence``."""
        return self.prior if self.entry is None else apply(self.prior, self.entry, sequence)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request: the Lambda error's type and message."""

    type: str
    message: str


# Callback outcomes.


@dataclass(frozen=True, slots=True)
class CallbackSuccess:
    """SendDurableExecutionCallbackSuccess."""

    result: str | None


@dataclass(frozen=True, slots=True)
class CallbackFailure:
    """SendDurableExecutionCallbackFailure."""

    error: ErrorObject | None


@dataclass(frozen=True, slots=True)
class CallbackHeartbeat:
    """SendDurableExecutionCallbackHeartbeat."""


CallbackOutcome = CallbackSuccess | CallbackFailure | CallbackHeartbeat


# An invocation's answers.


@dataclass(frozen=True, slots=True)
class Succeeded:
    """Status SUCCEEDED with its Result."""

    result: str | None


@dataclass(frozen=True, slots=True)
class Failed:
    """Status FAILED with its Error."""

    error: ErrorObject | None


@dataclass(frozen=True, slots=True)
class Pending:
    """Status PENDING: the execution waits for something."""


@dataclass(frozen=True, slots=True)
class FunctionError:
    """The function raised, timed out or died, its pod was lost, or its answer was not valid."""

    error: ErrorObject


@dataclass(frozen=True, slots=True)
class Throttled:
    """No invocation took place (admission's 429, no pod ready); ``attempt`` counts them from 0."""

    attempt: int


InvocationAnswer = Succeeded | Failed | Pending | FunctionError | Throttled


class _Draft:
    """A transition being built: the fields, the operations touched, the timers armed."""

    def __init__(self, state: Execution, cause: str, now: int) -> None:
        self.state = state
        self.cause = cause
        self.now = now
        self.invocation: InvocationRecord | None = None
        self.fields = state.fields
        self.operations: dict[str, Operation] = {}
        self.timers: dict[str, int] = {}
        self.heartbeats: dict[str, int] = {}
        self.actions: list[Action] = []

    def get(self, operation_id: str) -> Operation | None:
        return self.operations.get(operation_id) or self.state.operations.get(operation_id)

    def put(self, operation: Operation) -> None:
        self.operations[operation.id] = operation

    def arm(self, kind: TimerKind, operation: str | None, due_ms: int) -> None:
        key = timer_key(kind, operation)
        generation = self.timers.get(key, self.state.timers.get(key, 0)) + 1
        self.timers[key] = generation
        self.actions.append(ArmTimer(Timer(kind, operation, due_ms, generation)))

    def wake(self) -> None:
        if self.fields.invocation is None:
            if not any(isinstance(action, Wake) for action in self.actions):
                self.actions.append(Wake())
        else:
            self.fields = replace(self.fields, reinvoke_pending=True)

    def end(
        self, status: ExecutionStatus, now: int, result: str | None, error: ErrorObject | None
    ) -> None:
        self.fields = replace(self.fields, status=status, end_ms=now, result=result, error=error)
        for operation in (*self.state.operations.values(), *self.operations.values()):
            if operation.type is OperationType.EXECUTION:
                self.put(replace(operation, status=_ENDED_OPERATION[status], end_ms=now))
                break
        self.arm(TimerKind.EXPIRE, None, now + self.fields.retention_days * DAY_MS)
        self.actions.append(Ended(status))

    def entry(self, *, seen: bool = False) -> LogEntry:
        return LogEntry(
            cause=self.cause,
            fields=self.fields,
            operations=tuple(self.operations.values()),
            timers=tuple(self.timers.items()),
            heartbeats=tuple(self.heartbeats.items()),
            seen=seen,
            at_ms=self.now,
            invocation=self.invocation,
        )

    def decision(self, answer: Answer | None = None, *, seen: bool = False) -> Decision:
        return Decision(self.state, self.entry(seen=seen), answer, tuple(self.actions))


def start(
    operation_id: str,
    input_payload: str | None,
    execution_timeout_s: int | None,
    now: int,
    retention_days: int = DURABLE_RETENTION_DAYS_DEFAULT,
) -> Decision:
    """A new execution: its EXECUTION operation, its timeout timer, its first invocation.

    ``retention_days``: how long it is kept once it ends (its ``expire`` timer, armed then).
    """
    draft = _Draft(Execution(), "start", now)
    deadline = None if execution_timeout_s is None else now + execution_timeout_s * 1000
    draft.fields = ExecutionFields(
        start_ms=now, deadline_ms=deadline, retention_days=retention_days
    )
    draft.put(
        Operation(
            id=operation_id,
            type=OperationType.EXECUTION,
            status=OperationStatus.STARTED,
            start_ms=now,
            execution_details=ExecutionDetails(input_payload=input_payload),
        )
    )
    if deadline is not None:
        draft.arm(TimerKind.EXECUTION_TIMEOUT, None, deadline)
    draft.wake()
    return draft.decision()


def invoke(
    state: Execution, invocation: str, now: int, lease_ms: int | None = None
) -> Decision | Refusal:
    """An invocation claims the execution: its event is built from ``state``.

    ``lease_ms``: how long another invocation in flight is its own (the Function's timeout
    and a margin). Within its lease the claim is not made: nothing is appended, and the
    decision's state still names the other invocation (the shell tries again when the
    lease ends). After it, that invocation is taken as lost (a gateway died with it in
    hand): it counts as a failed invocation, and the claim is made if the execution
    survives it. None: claim at once (the shell knows no invocation is in flight).
    """
    if not state.running:
        return Refusal(RESOURCE_NOT_FOUND, "The execution has ended.")
    fields = state.fields
    draft = _Draft(state, "invoke", now)
    if fields.invocation is not None and lease_ms is not None:
        if now < (fields.invocation_start_ms or 0) + lease_ms:
            return Decision(state)
        # It ran (the runner's request id is its invocation id): the history shows its end.
        draft.invocation = InvocationRecord(
            start_ms=fields.invocation_start_ms or now,
            end_ms=now,
            request_id=fields.invocation,
            error=INVOCATION_LOST,
        )
        _failed(draft, INVOCATION_LOST, now)
        if draft.fields.status is not ExecutionStatus.RUNNING:
            draft.fields = replace(draft.fields, invocation=None, invocation_start_ms=None)
            return draft.decision()
        draft.actions.clear()  # the claim below is the invocation the failure asked for
    draft.fields = replace(
        draft.fields, invocation=invocation, invocation_start_ms=now, reinvoke_pending=False
    )
    return draft.decision(seen=True)


def invocation_lease_ms(timeout_seconds: float) -> int:
    """How long an invocation of a Function with ``timeout_seconds`` holds its execution."""
    return int(timeout_seconds * 1000) + INVOCATION_LEASE_MARGIN_MS


def _due(draft: _Draft, now: int) -> None:
    """Apply the due ``wait`` and ``retry`` timers (the checkpoint sees them at once)."""
    for operation in draft.state.operations.values():
        if operation.id in draft.operations:
            continue
        wait = operation.wait_details
        if (
            operation.type is OperationType.WAIT
            and operation.status is OperationStatus.STARTED
            and wait is not None
            and wait.scheduled_end_ms is not None
            and wait.scheduled_end_ms <= now
        ):
            draft.put(replace(operation, status=OperationStatus.SUCCEEDED, end_ms=now))
        step = operation.step_details
        if (
            operation.type is OperationType.STEP
            and operation.status is OperationStatus.PENDING
            and step is not None
            and step.next_attempt_ms is not None
            and step.next_attempt_ms <= now
        ):
            draft.put(replace(operation, status=OperationStatus.READY))


def _refused(update: OperationUpdate, found: Operation | None) -> Refusal:
    where = "absent" if found is None else found.status.value
    return Refusal(
        INVALID_PARAMETER,
        f"Invalid {update.type.value} {update.action.value} of operation {update.id} ({where}).",
    )


def _new(update: OperationUpdate, status: OperationStatus, now: int) -> Operation:
    return Operation(
        id=update.id,
        type=update.type,
        status=status,
        start_ms=now,
        parent_id=update.parent_id,
        name=update.name,
        sub_type=update.sub_type,
    )


def _step(
    draft: _Draft, update: OperationUpdate, found: Operation | None, now: int
) -> Refusal | None:
    action = update.action
    status = None if found is None else found.status
    if action is OperationAction.START:
        if status not in (None, OperationStatus.READY):
            return _refused(update, found)
        base = found or _new(update, OperationStatus.STARTED, now)
        draft.put(replace(base, status=OperationStatus.STARTED))
        return None
    if action not in (OperationAction.SUCCEED, OperationAction.FAIL, OperationAction.RETRY):
        return _refused(update, found)
    if status not in (None, OperationStatus.STARTED, OperationStatus.READY):
        return _refused(update, found)
    base = found or _new(update, OperationStatus.STARTED, now)
    prior = base.step_details or StepDetails()
    attempt = (prior.attempt or 0) + 1
    if action is OperationAction.SUCCEED:
        details = StepDetails(attempt=attempt, result=update.payload)
        draft.put(replace(base, status=OperationStatus.SUCCEEDED, end_ms=now, step_details=details))
    elif action is OperationAction.FAIL:
        details = StepDetails(attempt=attempt, error=update.error)
        draft.put(replace(base, status=OperationStatus.FAILED, end_ms=now, step_details=details))
    else:
        delay = update.step_options.next_attempt_delay_seconds if update.step_options else None
        due = now + (delay or 1) * 1000
        details = StepDetails(
            attempt=attempt, next_attempt_ms=due, result=update.payload, error=update.error
        )
        draft.put(replace(base, status=OperationStatus.PENDING, step_details=details))
        draft.arm(TimerKind.RETRY, update.id, due)
    return None


def _wait(
    draft: _Draft, update: OperationUpdate, found: Operation | None, now: int
) -> Refusal | None:
    if update.action is OperationAction.START and found is None:
        seconds = update.wait_options.wait_seconds if update.wait_options else None
        due = now + (seconds or 1) * 1000
        operation = replace(
            _new(update, OperationStatus.STARTED, now), wait_details=WaitDetails(due)
        )
        draft.put(operation)
        draft.arm(TimerKind.WAIT, update.id, due)
        return None
    if (
        update.action is OperationAction.CANCEL
        and found is not None
        and found.status is OperationStatus.STARTED
    ):
        draft.put(replace(found, status=OperationStatus.CANCELLED, end_ms=now))
        return None
    return _refused(update, found)


def _callback(
    draft: _Draft,
    update: OperationUpdate,
    found: Operation | None,
    now: int,
    mint: Callable[[str], str],
) -> Refusal | None:
    if update.action is not OperationAction.START or found is not None:
        return _refused(update, found)
    details = CallbackDetails(callback_id=mint(update.id))
    draft.put(replace(_new(update, OperationStatus.STARTED, now), callback_details=details))
    options = update.callback_options
    timeout = (options.timeout_seconds or 0) if options else 0
    heartbeat = (options.heartbeat_timeout_seconds or 0) if options else 0
    if timeout > 0:
        draft.arm(TimerKind.CALLBACK_TIMEOUT, update.id, now + timeout * 1000)
    if heartbeat > 0:
        draft.heartbeats[update.id] = heartbeat
        draft.arm(TimerKind.HEARTBEAT, update.id, now + heartbeat * 1000)
    return None


def _context(
    draft: _Draft, update: OperationUpdate, found: Operation | None, now: int
) -> Refusal | None:
    action = update.action
    if action is OperationAction.START and found is None:
        draft.put(_new(update, OperationStatus.STARTED, now))
        return None
    if found is None or found.status is not OperationStatus.STARTED:
        return _refused(update, found)
    replay = update.context_options.replay_children if update.context_options else None
    if action is OperationAction.SUCCEED:
        details = ContextDetails(replay_children=replay, result=update.payload)
        draft.put(
            replace(found, status=OperationStatus.SUCCEEDED, end_ms=now, context_details=details)
        )
        return None
    if action is OperationAction.FAIL:
        details = ContextDetails(replay_children=replay, error=update.error)
        draft.put(
            replace(found, status=OperationStatus.FAILED, end_ms=now, context_details=details)
        )
        return None
    return _refused(update, found)


def _update(  # noqa: PLR0911 - one return per row of the table
    draft: _Draft, update: OperationUpdate, now: int, mint: Callable[[str], str]
) -> Refusal | None:
    found = draft.get(update.id)
    match update.type:
        case OperationType.STEP:
            return _step(draft, update, found, now)
        case OperationType.WAIT:
            return _wait(draft, update, found, now)
        case OperationType.CALLBACK:
            return _callback(draft, update, found, now, mint)
        case OperationType.CONTEXT:
            return _context(draft, update, found, now)
        case OperationType.CHAINED_INVOKE:
            if update.action is not OperationAction.START or found is not None:
                return _refused(update, found)
            failed = replace(
                _new(update, OperationStatus.FAILED, now),
                end_ms=now,
                chained_invoke_details=ChainedInvokeDetails(error=CHAINED_INVOKE_UNSUPPORTED),
            )
            draft.put(failed)
            return None
        case OperationType.EXECUTION:
            if update.action is OperationAction.SUCCEED:
                draft.end(ExecutionStatus.SUCCEEDED, now, update.payload, None)
                return None
            if update.action is OperationAction.FAIL:
                draft.end(ExecutionStatus.FAILED, now, None, update.error)
                return None
            return _refused(update, found)


def _delta(state: Execution, draft: _Draft) -> tuple[Operation, ...]:
    """The operations the invocation has not seen: touched since, or by this checkpoint."""
    ids = [op for op, sequence in state.touched.items() if sequence > state.fields.seen]
    ids += [op for op in draft.operations if op not in ids]
    return tuple(op for op in (draft.get(i) for i in ids) if op is not None)


@dataclass(frozen=True, slots=True)
class CheckpointCall:
    """A ``CheckpointDurableExecution``: its token's claim, ClientToken and updates."""

    invocation: str
    token_sequence: int
    client_token: str | None
    updates: tuple[OperationUpdate, ...]


def checkpoint(
    state: Execution, call: CheckpointCall, now: int, mint: Callable[[str], str]
) -> Decision | Refusal:
    """``call`` of the invocation its token names, at ``now``.

    ``mint`` makes a CALLBACK's id from its operation id (``tokens.callback_id``).
    """
    invocation, token_sequence, client_token = (
        call.invocation,
        call.token_sequence,
        call.client_token,
    )
    fields = state.fields
    if invocation != fields.invocation:
        return Refusal(INVALID_PARAMETER, INVALID_CHECKPOINT_TOKEN)
    cached = fields.last_checkpoint
    if cached is not None and cached.matches(client_token, token_sequence, now):
        operations = tuple(
            op for op in (state.operations.get(i) for i in cached.operations) if op is not None
        )
        return Decision(state, answer=Answer(operations, cached.next_token_sequence))
    if token_sequence != fields.token_sequence:
        return Refusal(INVALID_PARAMETER, INVALID_CHECKPOINT_TOKEN)
    if not state.running:
        return Decision(state, answer=Answer((), None))
    draft = _Draft(state, "checkpoint", now)
    if fields.deadline_ms is not None and now >= fields.deadline_ms:
        draft.end(ExecutionStatus.TIMED_OUT, now, None, None)
    else:
        _due(draft, now)
        for update in call.updates:
            refused = _update(draft, update, now, mint)
            if refused is not None:
                return refused
    delta = _delta(state, draft)
    running = draft.fields.status is ExecutionStatus.RUNNING
    following = token_sequence + 1 if running else None
    draft.fields = replace(
        draft.fields,
        token_sequence=token_sequence + 1,
        last_checkpoint=CachedAnswer(
            client_token, token_sequence, following, tuple(op.id for op in delta), now
        ),
    )
    return draft.decision(Answer(delta, following), seen=True)


def fire(state: Execution, timer: Timer, now: int) -> Decision:  # noqa: PLR0911 - per row
    """A due timer: a no-op when stale (another generation, or its operation moved on)."""
    nothing = Decision(state)
    if timer.generation != state.generation(timer.kind, timer.operation):
        return nothing
    if timer.kind is TimerKind.EXPIRE:
        return nothing if state.running else Decision(state, actions=(Purge(),))
    if not state.running:
        return nothing
    draft = _Draft(state, f"timer:{timer.kind.value}", now)
    if timer.kind is TimerKind.EXECUTION_TIMEOUT:
        draft.end(ExecutionStatus.TIMED_OUT, now, None, None)
        return draft.decision()
    found = state.operations.get(timer.operation or "")
    if found is None:
        return nothing
    wanted = {
        TimerKind.WAIT: (OperationType.WAIT, OperationStatus.STARTED),
        TimerKind.RETRY: (OperationType.STEP, OperationStatus.PENDING),
        TimerKind.CALLBACK_TIMEOUT: (OperationType.CALLBACK, OperationStatus.STARTED),
        TimerKind.HEARTBEAT: (OperationType.CALLBACK, OperationStatus.STARTED),
    }[timer.kind]
    if (found.type, found.status) != wanted:
        return nothing
    if timer.kind is TimerKind.WAIT:
        draft.put(replace(found, status=OperationStatus.SUCCEEDED, end_ms=now))
    elif timer.kind is TimerKind.RETRY:
        draft.put(replace(found, status=OperationStatus.READY))
    else:
        kind = (
            "Callback.Timeout" if timer.kind is TimerKind.CALLBACK_TIMEOUT else "Callback.Heartbeat"
        )
        details = replace(found.callback_details or CallbackDetails(), error=ErrorObject(type=kind))
        draft.put(
            replace(found, status=OperationStatus.TIMED_OUT, end_ms=now, callback_details=details)
        )
    draft.wake()
    return draft.decision()


def callback(
    state: Execution, operation: str, outcome: CallbackOutcome, now: int
) -> Decision | Refusal:
    """SendDurableExecutionCallback{Success,Failure,Heartbeat} for ``operation``."""
    found = state.operations.get(operation)
    if found is not None and found.status is OperationStatus.TIMED_OUT:
        return Refusal(CALLBACK_TIMEOUT, "The callback timed out.")
    if (
        not state.running
        or found is None
        or found.type is not OperationType.CALLBACK
        or found.status is not OperationStatus.STARTED
    ):
        return Refusal(RESOURCE_NOT_FOUND, "The callback was not found.")
    draft = _Draft(state, "callback", now)
    details = found.callback_details or CallbackDetails()
    match outcome:
        case CallbackSuccess(result):
            draft.put(
                replace(
                    found,
                    status=OperationStatus.SUCCEEDED,
                    end_ms=now,
                    callback_details=replace(details, result=result),
                )
            )
            draft.wake()
        case CallbackFailure(error):
            draft.put(
                replace(
                    found,
                    status=OperationStatus.FAILED,
                    end_ms=now,
                    callback_details=replace(details, error=error),
                )
            )
            draft.wake()
        case CallbackHeartbeat():
            seconds = state.heartbeats.get(operation, 0)
            if seconds > 0:
                draft.arm(TimerKind.HEARTBEAT, operation, now + seconds * 1000)
    return draft.decision()


def _waiting(state: Execution) -> bool:
    """Whether something outside the invocation is due to wake the execution."""
    for operation in state.operations.values():
        if operation.status is OperationStatus.STARTED and operation.type in (
            OperationType.WAIT,
            OperationType.CALLBACK,
            OperationType.CHAINED_INVOKE,
        ):
            return True
        if operation.type is OperationType.STEP and operation.status in (
            OperationStatus.PENDING,
            OperationStatus.READY,
        ):
            return True
    return False


def _failed(draft: _Draft, error: ErrorObject | None, now: int) -> None:
    count = draft.fields.failed_invocations + 1
    draft.fields = replace(draft.fields, failed_invocations=count, reinvoke_pending=False)
    match timing.after_failed_invocation(count, now):
        case timing.InvokeAgain(at_ms):
            draft.actions.append(Wake(at_ms - now))
        case timing.GiveUp():
            draft.end(ExecutionStatus.FAILED, now, None, error)


def invocation_ended(
    state: Execution,
    invocation: str,
    answer: InvocationAnswer,
    now: int,
    request_id: str | None = None,
) -> Decision:
    """The end of ``invocation`` with ``answer``; ignored when it is not the current one.

    ``request_id`` is the Lambda request id the invocation ran with (none: the invocation
    id); an invocation that ran (any answer but :class:`Throttled`) is recorded in the
    entry for the history's ``InvocationCompleted``.
    """
    if invocation != state.fields.invocation:
        return Decision(state)
    draft = _Draft(state, "invocation", now)
    if not isinstance(answer, Throttled):
        started = state.fields.invocation_start_ms
        draft.invocation = InvocationRecord(
            start_ms=now if started is None else started,
            end_ms=now,
            request_id=request_id or invocation,
            error=answer.error if isinstance(answer, FunctionError) else None,
        )
    draft.fields = replace(draft.fields, invocation=None, invocation_start_ms=None)
    if not state.running:
        draft.fields = replace(draft.fields, reinvoke_pending=False)
        return draft.decision()
    match answer:
        case Succeeded(result):
            draft.fields = replace(draft.fields, failed_invocations=0)
            draft.end(ExecutionStatus.SUCCEEDED, now, result, None)
        case Failed(error):
            draft.fields = replace(draft.fields, failed_invocations=0)
            draft.end(ExecutionStatus.FAILED, now, None, error)
        case Pending():
            unseen = any(seq > state.fields.seen for seq in state.touched.values())
            if state.fields.reinvoke_pending or unseen:
                draft.fields = replace(draft.fields, failed_invocations=0, reinvoke_pending=False)
                draft.actions.append(Wake())
            elif _waiting(state):
                draft.fields = replace(draft.fields, failed_invocations=0)
            else:
                _failed(draft, INVALID_PENDING, now)
        case FunctionError(error):
            _failed(draft, error, now)
        case Throttled(attempt):
            draft.fields = replace(draft.fields, reinvoke_pending=False)
            draft.actions.append(Wake(timing.throttled_delay_ms(attempt + 1)))
    return draft.decision()


def stop(state: Execution, error: ErrorObject | None, now: int) -> Decision:
    """StopDurableExecution: a running execution ends STOPPED; an ended one is left as is."""
    if not state.running:
        return Decision(state)
    draft = _Draft(state, "stop", now)
    draft.end(ExecutionStatus.STOPPED, now, None, error)
    return draft.decision()
