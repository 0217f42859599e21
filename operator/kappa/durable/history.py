"""An execution's history events, found in its log, and their pages (pure).

``GetDurableExecutionHistory`` answers with events (botocore's Lambda model: ``Event``,
``EventType`` and the ``*Details`` shapes). The log holds, per transition, the records of
the operations it touched after it, so each event comes from comparing an operation's
record with its previous one; the execution's own end from its fields; an invocation's end
from the invocation the entry records. The testing package's in-memory service
(aws-durable-execution-sdk-python-testing 1.4.0, ``executor.get_execution_history``) is
the reference for which transition gives which event:

| operation | record before → after | events |
|---|---|---|
| EXECUTION | absent → STARTED | ExecutionStarted {Input, ExecutionTimeout} |
| (fields) | RUNNING → an end | Execution{Succeeded,Failed,TimedOut,Stopped} |
| STEP | absent or READY → STARTED | StepStarted |
| STEP | → SUCCEEDED / FAILED | Step{Succeeded,Failed} {RetryDetails} |
| STEP | → PENDING (RETRY) | StepFailed (an error), else StepSucceeded (a payload) |
| STEP | PENDING → READY | — (the retry's timer) |
| WAIT | absent → STARTED | WaitStarted {Duration, ScheduledEndTimestamp} |
| WAIT | → SUCCEEDED / CANCELLED | WaitSucceeded {Duration} / WaitCancelled |
| CALLBACK | absent → STARTED | CallbackStarted {CallbackId, HeartbeatTimeout} |
| CALLBACK | → SUCCEEDED / FAILED / TIMED_OUT | Callback{Succeeded,Failed,TimedOut} |
| CONTEXT | absent → STARTED; → SUCCEEDED / FAILED | ContextStarted; Context{...} |
| CHAINED_INVOKE | → SUCCEEDED / FAILED / TIMED_OUT / STOPPED | ChainedInvoke{...} |
| (entry) | an invocation ran and ended | InvocationCompleted |

A STEP RETRY's event is StepFailed with its error, or StepSucceeded with its payload
(``wait_for_condition``'s state), with ``RetryDetails.NextAttemptDelaySeconds``. A
CHAINED_INVOKE gives no ChainedInvokeStarted yet: its required ``FunctionName`` is not
kept (the decider fails chained invokes at their START for now). CallbackStarted has no
``Timeout``: the record keeps the heartbeat timeout only.

An operation started and finished within one transition gives both events. Within one
transition: the operations' events in the entry's order, then InvocationCompleted, then
the execution's end. ``EventId`` counts from 1 in that order (``ReverseOrder`` keeps the
ids). Without ``IncludeExecutionData`` inputs and results are left out
(``{"Truncated": true}``, as the testing package writes); errors are kept, since they
are not the execution's data but why it failed.

Pages: ``MaxItems`` as :func:`kappa.durable.pages.max_items` reads it; markers are
:mod:`kappa.durable.pages` markers (log sequence pinned at the first page, offset in the
ordered events), bound to the execution and to the order, so a page never shifts when
transitions land between two calls and a marker of another execution, of the other
order or of the state's pages is refused.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from kappa.durable.execution import ExecutionFields, LogEntry
from kappa.durable.model import (
    ErrorObject,
    ExecutionStatus,
    Operation,
    OperationStatus,
    OperationType,
    Timestamps,
)
from kappa.durable.pages import PagePosition, PageRefused, marker, max_items, read_marker

_UNIT: Final = Timestamps.SECONDS


class EventType(StrEnum):
    """The model's ``EventType``."""

    EXECUTION_STARTED = "ExecutionStarted"
    EXECUTION_SUCCEEDED = "ExecutionSucceeded"
    EXECUTION_FAILED = "ExecutionFailed"
    EXECUTION_TIMED_OUT = "ExecutionTimedOut"
    EXECUTION_STOPPED = "ExecutionStopped"
    CONTEXT_STARTED = "ContextStarted"
    CONTEXT_SUCCEEDED = "ContextSucceeded"
    CONTEXT_FAILED = "ContextFailed"
    WAIT_STARTED = "WaitStarted"
    WAIT_SUCCEEDED = "WaitSucceeded"
    WAIT_CANCELLED = "WaitCancelled"
    STEP_STARTED = "StepStarted"
    STEP_SUCCEEDED = "StepSucceeded"
    STEP_FAILED = "StepFailed"
    CHAINED_INVOKE_STARTED = "ChainedInvokeStarted"
    CHAINED_INVOKE_SUCCEEDED = "ChainedInvokeSucceeded"
    CHAINED_INVOKE_FAILED = "ChainedInvokeFailed"
    CHAINED_INVOKE_TIMED_OUT = "ChainedInvokeTimedOut"
    CHAINED_INVOKE_STOPPED = "ChainedInvokeStopped"
    CALLBACK_STARTED = "CallbackStarted"
    CALLBACK_SUCCEEDED = "CallbackSucceeded"
    CALLBACK_FAILED = "CallbackFailed"
    CALLBACK_TIMED_OUT = "CallbackTimedOut"
    INVOCATION_COMPLETED = "InvocationCompleted"
    EXECUTION_PAUSED = "ExecutionPaused"
    EXECUTION_RESUMED = "ExecutionResumed"


def _data(payload: str | None, *, include: bool) -> dict[str, Any]:
    """An ``EventInput``/``EventResult``: the payload, or only that it was left out."""
    if payload is None:
        return {"Truncated": False}
    if not include:
        return {"Truncated": True}
    return {"Payload": payload, "Truncated": False}


def _error(error: ErrorObject | None) -> dict[str, Any]:
    """An ``EventError``."""
    return (
        {"Truncated": False} if error is None else {"Payload": error.to_wire(), "Truncated": False}
    )


@dataclass(frozen=True, slots=True)
class NoDetails:
    """``ContextStarted``, ``StepStarted``, ``WaitCancelled``: nothing more."""

    def to_wire(self, *, include: bool) -> dict[str, Any]:
        """As JSON."""
        del include
        return {}


@dataclass(frozen=True, slots=True)
class StartedDetails:
    """``ExecutionStarted``: the caller's input and the execution's timeout."""

    input: str | None
    timeout_s: int

    def to_wire(self, *, include: bool) -> dict[str, Any]:
        """As JSON."""
        return {"Input": _data(self.input, include=include), "ExecutionTimeout": self.timeout_s}


@dataclass(frozen=True, slots=True)
class ResultDetails:
    """``*Succeeded`` of the execution, a context, a callback, a chained invoke."""

    result: str | None

    def to_wire(self, *, include: bool) -> dict[str, Any]:
        """As JSON."""
        return {"Result": _data(self.result, include=include)}


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """``*Failed``, ``*TimedOut``, ``*Stopped``: the error."""

    error: ErrorObject | None

    def to_wire(self, *, include: bool) -> dict[str, Any]:
        """As JSON."""
        del include
        return {"Error": _error(self.error)}


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """``StepSucceeded`` (its result) or ``StepFailed`` (its error), and its attempt."""

    succeeded: bool
    result: str | None
    error: ErrorObject | None
    attempt: int
    next_attempt_delay_s: int

    def to_wire(self, *, include: bool) -> dict[str, Any]:
        """As JSON."""
        wire = (
            {"Result": _data(self.result, include=include)}
            if self.succeeded
            else {"Error": _error(self.error)}
        )
        wire["RetryDetails"] = {
            "CurrentAttempt": self.attempt,
            "NextAttemptDelaySeconds": self.next_attempt_delay_s,
        }
        return wire


@dataclass(frozen=True, slots=True)
class WaitDetails:
    """``WaitStarted`` (with its end) and ``WaitSucceeded``: how long it waits."""

    duration_s: int
    scheduled_end_ms: int | None = None

    def to_wire(self, *, include: bool) -> dict[str, Any]:
        """As JSON."""
        del include
        wire: dict[str, Any] = {"Duration": self.duration_s}
        if self.scheduled_end_ms is not None:
            wire["ScheduledEndTimestamp"] = _UNIT.render(self.scheduled_end_ms)
        return wire


@dataclass(frozen=True, slots=True)
class CallbackStartedDetails:
    """``CallbackStarted``: the id to complete it with, its heartbeat timeout."""

    callback_id: str
    heartbeat_timeout_s: int | None

    def to_wire(self, *, include: bool) -> dict[str, Any]:
        """As JSON."""
        del include
        wire: dict[str, Any] = {"CallbackId": self.callback_id}
        if self.heartbeat_timeout_s is not None:
            wire["HeartbeatTimeout"] = self.heartbeat_timeout_s
        return wire


@dataclass(frozen=True, slots=True)
class InvocationDetails:
    """``InvocationCompleted``: when the invocation ran, its request id, its failure."""

    start_ms: int
    end_ms: int
    request_id: str
    error: ErrorObject | None

    def to_wire(self, *, include: bool) -> dict[str, Any]:
        """As JSON."""
        del include
        wire: dict[str, Any] = {
            "StartTimestamp": _UNIT.render(self.start_ms),
            "EndTimestamp": _UNIT.render(self.end_ms),
            "RequestId": self.request_id,
        }
        if self.error is not None:
            wire["Error"] = _error(self.error)
        return wire


Details = (
    NoDetails
    | StartedDetails
    | ResultDetails
    | ErrorDetails
    | StepOutcome
    | WaitDetails
    | CallbackStartedDetails
    | InvocationDetails
)


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One event of an execution's history."""

    event_type: EventType
    event_id: int
    timestamp_ms: int
    details: Details
    operation_id: str | None = None
    name: str | None = None
    parent_id: str | None = None
    sub_type: str | None = None

    def to_wire(self, *, include_data: bool) -> dict[str, Any]:
        """The model's ``Event``, payloads only with ``include_data``."""
        wire: dict[str, Any] = {"EventType": self.event_type.value}
        if self.sub_type is not None:
            wire["SubType"] = self.sub_type
        wire["EventId"] = self.event_id
        if self.operation_id is not None:
            wire["Id"] = self.operation_id
        if self.name is not None:
            wire["Name"] = self.name
        wire["EventTimestamp"] = _UNIT.render(self.timestamp_ms)
        if self.parent_id is not None:
            wire["ParentId"] = self.parent_id
        wire[f"{self.event_type.value}Details"] = self.details.to_wire(include=include_data)
        return wire


@dataclass(frozen=True, slots=True)
class _Found:
    """An event before it is numbered."""

    event_type: EventType
    timestamp_ms: int
    details: Details
    operation: Operation | None = None


_STARTED: Final = {
    OperationType.STEP: EventType.STEP_STARTED,
    OperationType.WAIT: EventType.WAIT_STARTED,
    OperationType.CALLBACK: EventType.CALLBACK_STARTED,
    OperationType.CONTEXT: EventType.CONTEXT_STARTED,
}
_ENDED: Final = {
    (OperationType.STEP, OperationStatus.SUCCEEDED): EventType.STEP_SUCCEEDED,
    (OperationType.STEP, OperationStatus.FAILED): EventType.STEP_FAILED,
    (OperationType.WAIT, OperationStatus.SUCCEEDED): EventType.WAIT_SUCCEEDED,
    (OperationType.WAIT, OperationStatus.CANCELLED): EventType.WAIT_CANCELLED,
    (OperationType.CALLBACK, OperationStatus.SUCCEEDED): EventType.CALLBACK_SUCCEEDED,
    (OperationType.CALLBACK, OperationStatus.FAILED): EventType.CALLBACK_FAILED,
    (OperationType.CALLBACK, OperationStatus.TIMED_OUT): EventType.CALLBACK_TIMED_OUT,
    (OperationType.CONTEXT, OperationStatus.SUCCEEDED): EventType.CONTEXT_SUCCEEDED,
    (OperationType.CONTEXT, OperationStatus.FAILED): EventType.CONTEXT_FAILED,
    (OperationType.CHAINED_INVOKE, OperationStatus.SUCCEEDED): EventType.CHAINED_INVOKE_SUCCEEDED,
    (OperationType.CHAINED_INVOKE, OperationStatus.FAILED): EventType.CHAINED_INVOKE_FAILED,
    (OperationType.CHAINED_INVOKE, OperationStatus.TIMED_OUT): EventType.CHAINED_INVOKE_TIMED_OUT,
    (OperationType.CHAINED_INVOKE, OperationStatus.STOPPED): EventType.CHAINED_INVOKE_STOPPED,
}
_EXECUTION_ENDED: Final = {
    ExecutionStatus.SUCCEEDED: EventType.EXECUTION_SUCCEEDED,
    ExecutionStatus.FAILED: EventType.EXECUTION_FAILED,
    ExecutionStatus.TIMED_OUT: EventType.EXECUTION_TIMED_OUT,
    ExecutionStatus.STOPPED: EventType.EXECUTION_STOPPED,
}


def _outcome(operation: Operation) -> tuple[str | None, ErrorObject | None]:
    """The result and error an operation's details hold."""
    for details in (
        operation.step_details,
        operation.context_details,
        operation.callback_details,
        operation.chained_invoke_details,
    ):
        if details is not None:
            return details.result, details.error
    return None, None


def _seconds(ms: int) -> int:
    return max(0, round(ms / 1000))


def _started(operation: Operation, entry: LogEntry) -> Details:
    if operation.type is OperationType.WAIT:
        end = operation.wait_details.scheduled_end_ms if operation.wait_details else None
        end = operation.start_ms if end is None else end
        return WaitDetails(_seconds(end - operation.start_ms), end)
    if operation.type is OperationType.CALLBACK:
        callback_id = operation.callback_details.callback_id if operation.callback_details else None
        return CallbackStartedDetails(
            callback_id or operation.id, dict(entry.heartbeats).get(operation.id)
        )
    return NoDetails()


def _ended(operation: Operation, retry_delay_s: int = 0) -> Details:
    result, error = _outcome(operation)
    if operation.type is OperationType.STEP:
        attempt = (operation.step_details.attempt if operation.step_details else None) or 1
        succeeded = operation.status is OperationStatus.SUCCEEDED or (
            operation.status is OperationStatus.PENDING and error is None
        )
        return StepOutcome(succeeded, result, error, attempt, retry_delay_s)
    if operation.type is OperationType.WAIT:
        if operation.status is OperationStatus.CANCELLED:
            return NoDetails()
        end = operation.wait_details.scheduled_end_ms if operation.wait_details else None
        return WaitDetails(_seconds((end or operation.start_ms) - operation.start_ms))
    if operation.status is OperationStatus.SUCCEEDED:
        return ResultDetails(result)
    return ErrorDetails(error)


def _operation_events(
    before: Operation | None, after: Operation, entry: LogEntry
) -> Iterable[_Found]:
    """The events of one operation's transition from ``before`` to ``after``."""
    at = entry.at_ms
    if after.type is OperationType.EXECUTION:
        if before is None:
            started = _execution_input(after, entry)
            yield _Found(EventType.EXECUTION_STARTED, after.start_ms, started, after)
        return
    anew = before is None or (
        after.type is OperationType.STEP and before.status is OperationStatus.READY
    )
    if anew and after.status is not OperationStatus.READY and after.type in _STARTED:
        when = after.start_ms if before is None or at is None else at
        yield _Found(_STARTED[after.type], when, _started(after, entry), after)
    if before is not None and before.status is after.status:
        return
    if after.type is OperationType.STEP and after.status is OperationStatus.PENDING:
        when = after.start_ms if at is None else at
        due = after.step_details.next_attempt_ms if after.step_details else None
        details = _ended(after, 0 if due is None else _seconds(due - when))
        kind = EventType.STEP_SUCCEEDED
        if isinstance(details, StepOutcome) and not details.succeeded:
            kind = EventType.STEP_FAILED
        yield _Found(kind, when, details, after)
        return
    ended = _ENDED.get((after.type, after.status))
    if ended is not None:
        when = after.end_ms if after.end_ms is not None else (at or after.start_ms)
        yield _Found(ended, when, _ended(after), after)


def _execution_input(operation: Operation, entry: LogEntry) -> StartedDetails:
    fields = entry.fields
    timeout = 0 if fields.deadline_ms is None else _seconds(fields.deadline_ms - fields.start_ms)
    payload = operation.execution_details.input_payload if operation.execution_details else None
    return StartedDetails(payload, timeout)


def _execution_end(
    before: ExecutionFields, entry: LogEntry, execution: Operation | None
) -> Iterable[_Found]:
    after = entry.fields
    kind = _EXECUTION_ENDED.get(after.status)
    if before.status is not ExecutionStatus.RUNNING or kind is None:
        return
    details: Details = (
        ResultDetails(after.result)
        if after.status is ExecutionStatus.SUCCEEDED
        else ErrorDetails(after.error)
    )
    when = after.end_ms if after.end_ms is not None else (entry.at_ms or after.start_ms)
    yield _Found(kind, when, details, execution)


def events(log: Iterable[tuple[int, LogEntry]]) -> tuple[HistoryEvent, ...]:
    """The whole history of the execution whose log entries are ``log``, in log order."""
    operations: dict[str, Operation] = {}
    fields = ExecutionFields()
    execution: Operation | None = None
    found: list[_Found] = []
    for _sequence, entry in log:
        for operation in entry.operations:
            found.extend(_operation_events(operations.get(operation.id), operation, entry))
            operations[operation.id] = operation
            if operation.type is OperationType.EXECUTION:
                execution = operation
        if entry.invocation is not None:
            record = entry.invocation
            details = InvocationDetails(
                record.start_ms, record.end_ms, record.request_id, record.error
            )
            found.append(_Found(EventType.INVOCATION_COMPLETED, record.end_ms, details))
        found.extend(_execution_end(fields, entry, execution))
        fields = entry.fields
    return tuple(_numbered(i, event) for i, event in enumerate(found, 1))


def _numbered(event_id: int, event: _Found) -> HistoryEvent:
    operation = event.operation
    if operation is None:
        return HistoryEvent(event.event_type, event_id, event.timestamp_ms, event.details)
    return HistoryEvent(
        event.event_type,
        event_id,
        event.timestamp_ms,
        event.details,
        operation_id=operation.id,
        name=operation.name,
        parent_id=operation.parent_id,
        sub_type=operation.sub_type,
    )


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """``GetDurableExecutionHistory``'s parameters, parsed (the model's defaults)."""

    include_data: bool = True
    reverse: bool = False
    max_items: int | None = None
    marker: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of events, the marker of the rest (None: nothing left), and the data rule."""

    events: tuple[HistoryEvent, ...]
    next_marker: str | None
    include_data: bool

    def wire_events(self) -> list[dict[str, Any]]:
        """The page's events as the model's ``Event`` list."""
        return [event.to_wire(include_data=self.include_data) for event in self.events]


def _scope(arn: str, *, reverse: bool) -> str:
    """What a history marker is bound to: the execution and the order."""
    return f"{arn}\nhistory\n{'reverse' if reverse else 'forward'}"


def history_page(
    log: Sequence[tuple[int, LogEntry]], arn: str, request: HistoryRequest
) -> HistoryPage | PageRefused:
    """The page ``request`` asks for of the execution ``arn`` whose log is ``log``."""
    count = max_items(request.max_items)
    if isinstance(count, PageRefused):
        return count
    scope = _scope(arn, reverse=request.reverse)
    last = log[-1][0] if log else 0
    position = PagePosition(last, 0)
    if request.marker is not None:
        read = read_marker(scope, request.marker)
        if isinstance(read, PageRefused):
            return PageRefused("Marker", "is not a marker of this execution's history")
        position = read
    if position.sequence > last:
        return PageRefused("Marker", "is beyond this execution's history")
    ordered = list(events(item for item in log if item[0] <= position.sequence))
    if request.reverse:
        ordered.reverse()
    if position.offset > len(ordered):
        return PageRefused("Marker", "is beyond this execution's history")
    end = min(position.offset + count, len(ordered))
    rest = None
    if end < len(ordered):
        rest = marker(scope, PagePosition(position.sequence, end))
    return HistoryPage(tuple(ordered[position.offset : end]), rest, request.include_data)
