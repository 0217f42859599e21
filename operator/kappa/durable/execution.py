"""One durable execution's folded state, and the log entry that changes it (pure).

:class:`Execution` is what the decider reads and the log's entries build: the
operations in start order (each with the log sequence that last touched it), the
execution's status and outcome, the checkpoint token's sequence, the current
invocation, the idempotency record of the last accepted checkpoint and the timers'
generations. A :class:`LogEntry` holds the records of the operations a transition
touched and the execution's fields after it, so applying it needs no decision:
:func:`apply` is the one place a transition changes the state, for the decider and for
the fold alike.
"""

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from kappa.api.function import DURABLE_RETENTION_DAYS_DEFAULT
from kappa.durable.model import ErrorObject, ExecutionStatus, Operation

# A retried checkpoint gets its cached answer within this long (the model's ClientToken).
IDEMPOTENCY_MS: Final = 15 * 60 * 1000


class TimerKind(StrEnum):
    """What a durable timer does when due."""

    WAIT = "wait"
    RETRY = "retry"
    CALLBACK_TIMEOUT = "callback-timeout"
    HEARTBEAT = "heartbeat"
    EXECUTION_TIMEOUT = "execution-timeout"
    EXPIRE = "expire"


def timer_key(kind: TimerKind, operation: str | None) -> str:
    """The key of a timer's generation: its kind and operation (none for the execution's)."""
    return f"{kind.value}/{operation or ''}"


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """The last accepted checkpoint: who sent it, and what it was answered."""

    client_token: str | None
    token_sequence: int
    next_token_sequence: int | None
    operations: tuple[str, ...]
    at_ms: int

    def matches(self, client_token: str | None, token_sequence: int, now: int) -> bool:
        """Whether a checkpoint is a retry of this one, within the idempotency window."""
        return (
            client_token is not None
            and client_token == self.client_token
            and token_sequence == self.token_sequence
            and now - self.at_ms < IDEMPOTENCY_MS
        )


DAY_MS: Final = 86_400_000


@dataclass(frozen=True, slots=True)
class ExecutionFields:
    """The execution's own fields (everything but its operations), as a log entry sets them."""

    status: ExecutionStatus = ExecutionStatus.RUNNING
    start_ms: int = 0
    deadline_ms: int | None = None
    end_ms: int | None = None
    result: str | None = None
    error: ErrorObject | None = None
    token_sequence: int = 0
    invocation: str | None = None
    invocation_start_ms: int | None = None
    reinvoke_pending: bool = False
    seen: int = 0
    failed_invocations: int = 0
    last_checkpoint: CachedAnswer | None = None
    # Days the execution is kept once it ends (its ``expire`` timer is armed at its end).
    retention_days: int = DURABLE_RETENTION_DAYS_DEFAULT


@dataclass(frozen=True, slots=True)
class InvocationRecord:
    """An invocation that took place and ended: when, its request id, its error if it failed."""

    start_ms: int
    end_ms: int
    request_id: str
    error: ErrorObject | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One accepted transition: what caused it, the operations it touched, the fields after.

    ``seen``: the current invocation has seen the state as of this entry (its event was
    built, or it was answered a checkpoint), so ``fields.seen`` becomes its sequence.
    ``at_ms``: when it was decided (None in entries written before it was recorded).
    ``invocation``: the invocation this transition ended, when it ended one that ran
    (the history's ``InvocationCompleted``).
    """

    cause: str
    fields: ExecutionFields
    operations: tuple[Operation, ...] = ()
    timers: tuple[tuple[str, int], ...] = ()
    heartbeats: tuple[tuple[str, int], ...] = ()
    seen: bool = False
    at_ms: int | None = None
    invocation: InvocationRecord | None = None


@dataclass(frozen=True, slots=True)
class Execution:
    """A durable execution folded up to log sequence ``sequence`` (0: nothing yet)."""

    fields: ExecutionFields = ExecutionFields()
    operations: dict[str, Operation] = field(default_factory=dict)
    touched: dict[str, int] = field(default_factory=dict)
    timers: dict[str, int] = field(default_factory=dict)
    heartbeats: dict[str, int] = field(default_factory=dict)
    sequence: int = 0

    @property
    def running(self) -> bool:
        """Whether the execution has not ended."""
        return self.fields.status is ExecutionStatus.RUNNING

    def generation(self, kind: TimerKind, operation: str | None) -> int:
        """The current generation of a timer (0: never armed)."""
        return self.timers.get(timer_key(kind, operation), 0)


def apply(state: Execution, entry: LogEntry, sequence: int) -> Execution:
    """``state`` after ``entry``, appended at log ``sequence``."""
    operations = dict(state.operations)
    touched = dict(state.touched)
    for operation in entry.operations:
        operations[operation.id] = operation
        touched[operation.id] = sequence
    fields = replace(entry.fields, seen=sequence) if entry.seen else entry.fields
    return replace(
        state,
        fields=fields,
        operations=operations,
        touched=touched,
        timers={**state.timers, **dict(entry.timers)},
        heartbeats={**state.heartbeats, **dict(entry.heartbeats)},
        sequence=sequence,
    )
