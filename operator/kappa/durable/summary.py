"""An execution's summary: the record the executions bucket keeps per execution (pure).

What listing and GetDurableExecution read without folding the log: who the execution is
(:class:`Identity`: its ARN, its EXECUTION operation's id, the version it is pinned to,
the hash of its input for an idempotent start) and where it stands (status, start and
end, the current invocation, the log sequence the summary reflects, the earliest armed
timer still live, the last started operation, failed invocations). :func:`summarise`
derives it from a folded :class:`~kappa.durable.execution.Execution`; the store writes
it after each commit and repairs one whose ``log_sequence`` lags the log.

The record comes back from NATS, so :func:`decode` bounds it and reads every member
strictly (:mod:`kappa.durable.fields`); a refusal names the member.
"""

import json
from dataclasses import dataclass
from typing import Any, Final

from kappa.durable.arns import ARN_MAX, EXECUTION_ID
from kappa.durable.execution import Execution
from kappa.durable.fields import (
    COUNTER_MAX,
    FieldError,
    TextRule,
    choice,
    counter,
    member,
    obj,
    optional_integer,
    optional_text,
    text,
)
from kappa.durable.model import (
    OPERATION_NAME,
    ExecutionStatus,
    OperationStatus,
    OperationType,
)

VERSION: Final = 1
# A summary is a few hundred bytes; the bound leaves room for the longest ARN and name.
SUMMARY_MAX_BYTES: Final = 16 * 1024
ARN: Final = TextRule(1, ARN_MAX, r"[\x21-\x7E]+")
PINNED_VERSION: Final = TextRule(1, 32, r"\$LATEST(\.PUBLISHED)?|[0-9]+")
INPUT_HASH: Final = TextRule(1, 128, r"[A-Za-z0-9+/=_-]+")
INVOCATION: Final = TextRule(1, 64, r"[a-zA-Z0-9-]+")

Current = tuple[OperationType, str | None, OperationStatus]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who an execution is: fixed at its start."""

    arn: str
    execution_id: str
    version: str
    input_hash: str


@dataclass(frozen=True, slots=True)
class Summary:
    """An execution at a glance, as of log sequence ``log_sequence``."""

    arn: str
    execution_id: str
    version: str
    input_hash: str
    status: ExecutionStatus
    start_ms: int
    end_ms: int | None
    invocation: str | None
    log_sequence: int
    next_wakeup_ms: int | None
    current: Current | None
    failed_invocations: int

    @property
    def identity(self) -> Identity:
        """The execution's identity."""
        return Identity(self.arn, self.execution_id, self.version, self.input_hash)


def next_wakeup_ms(state: Execution) -> int | None:
    """The earliest armed timer still live: a WAIT's end, a STEP's next attempt, the deadline.

    Callback timeouts and heartbeat deadlines are not in the folded state (it keeps
    neither a callback's TimeoutSeconds nor its last heartbeat's time), so they are left out.
    """
    if not state.running:
        return None
    due: list[int] = []
    if state.fields.deadline_ms is not None:
        due.append(state.fields.deadline_ms)
    for operation in state.operations.values():
        wait, step = operation.wait_details, operation.step_details
        if (
            operation.type is OperationType.WAIT
            and operation.status is OperationStatus.STARTED
            and wait is not None
            and wait.scheduled_end_ms is not None
        ):
            due.append(wait.scheduled_end_ms)
        if (
            operation.type is OperationType.STEP
            and operation.status is OperationStatus.PENDING
            and step is not None
            and step.next_attempt_ms is not None
        ):
            due.append(step.next_attempt_ms)
    return min(due, default=None)


def current_operation(state: Execution) -> Current | None:
    """The last started operation that is not the EXECUTION one (operations are in start order)."""
    for operation in reversed(state.operations.values()):
        if operation.type is not OperationType.EXECUTION:
            return (operation.type, operation.name, operation.status)
    return None


def summarise(identity: Identity, state: Execution) -> Summary:
    """The summary of ``state``, the folded state of the execution ``identity`` names."""
    fields = state.fields
    return Summary(
        arn=identity.arn,
        execution_id=identity.execution_id,
        version=identity.version,
        input_hash=identity.input_hash,
        status=fields.status,
        start_ms=fields.start_ms,
        end_ms=fields.end_ms,
        invocation=fields.invocation,
        log_sequence=state.sequence,
        next_wakeup_ms=next_wakeup_ms(state),
        current=current_operation(state),
        failed_invocations=fields.failed_invocations,
    )


def encode(summary: Summary) -> bytes:
    """``summary`` as the bucket's value."""
    wire: dict[str, Any] = {
        "v": VERSION,
        "arn": summary.arn,
        "id": summary.execution_id,
        "version": summary.version,
        "inputHash": summary.input_hash,
        "status": summary.status.value,
        "start": summary.start_ms,
        "sequence": summary.log_sequence,
        "failedInvocations": summary.failed_invocations,
    }
    optional = {
        "end": summary.end_ms,
        "invocation": summary.invocation,
        "nextWakeUp": summary.next_wakeup_ms,
    }
    wire.update({key: value for key, value in optional.items() if value is not None})
    if summary.current is not None:
        kind, name, status = summary.current
        current: dict[str, Any] = {"type": kind.value, "status": status.value}
        if name is not None:
            current["name"] = name
        wire["current"] = current
    body = json.dumps(wire, separators=(",", ":")).encode("ascii")
    if len(body) > SUMMARY_MAX_BYTES:
        raise ValueError(f"A summary is at most {SUMMARY_MAX_BYTES} bytes.")
    return body


def _current(value: object, field: str) -> Current | None:
    if value is None:
        return None
    raw = obj(value, field)
    return (
        choice(raw.get("type"), member(field, "type"), OperationType),
        optional_text(raw.get("name"), member(field, "name"), OPERATION_NAME),
        choice(raw.get("status"), member(field, "status"), OperationStatus),
    )


def decode(body: bytes) -> Summary:
    """The summary of a bucket value ``body``, read strictly."""
    if len(body) > SUMMARY_MAX_BYTES:
        raise FieldError("summary", f"is larger than {SUMMARY_MAX_BYTES} bytes.")
    try:
        wire = json.loads(body)
    except (ValueError, RecursionError):
        raise FieldError("summary", "is not valid JSON.") from None
    raw = obj(wire, "summary")
    if raw.get("v") != VERSION:
        raise FieldError("summary.v", f"must be {VERSION}.")

    def at(name: str) -> str:
        return member("summary", name)

    return Summary(
        arn=text(raw.get("arn"), at("arn"), ARN),
        execution_id=text(raw.get("id"), at("id"), EXECUTION_ID),
        version=text(raw.get("version"), at("version"), PINNED_VERSION),
        input_hash=text(raw.get("inputHash"), at("inputHash"), INPUT_HASH),
        status=choice(raw.get("status"), at("status"), ExecutionStatus),
        start_ms=counter(raw.get("start"), at("start")),
        end_ms=optional_integer(raw.get("end"), at("end"), 0, COUNTER_MAX),
        invocation=optional_text(raw.get("invocation"), at("invocation"), INVOCATION),
        log_sequence=counter(raw.get("sequence"), at("sequence")),
        next_wakeup_ms=optional_integer(raw.get("nextWakeUp"), at("nextWakeUp"), 0, COUNTER_MAX),
        current=_current(raw.get("current"), at("current")),
        failed_invocations=counter(raw.get("failedInvocations"), at("failedInvocations")),
    )
