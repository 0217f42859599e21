"""The durable execution API's shapes, read from the wire and written back to it (pure).

botocore's Lambda model (2015-03-31, the ``/2025-12-01/`` operations) names them; the
SDK sends :class:`OperationUpdate` lists in ``CheckpointDurableExecution`` and reads
:class:`Operation` records back, in the invocation's event and in the API's answers::

    OperationUpdate: Id* ParentId Name Type* SubType Action* Payload Error
                     ContextOptions StepOptions WaitOptions CallbackOptions ChainedInvokeOptions
    Operation:       Id* ParentId Name Type* SubType StartTimestamp* EndTimestamp Status*
                     ExecutionDetails ContextDetails StepDetails WaitDetails CallbackDetails
                     ChainedInvokeDetails
    ErrorObject:     ErrorMessage ErrorType ErrorData StackTrace: [string]

Reading is strict where the model is (lengths, patterns matched whole, integer ranges,
enums, required members; :class:`~kappa.durable.fields.FieldError` names the field)
and lenient where Lambda is (unknown members are ignored). Writing leaves absent
members out. Timestamps are held as epoch milliseconds; on the wire they are epoch
seconds in the API's answers and epoch milliseconds in the invocation's event
(:class:`Timestamps` says which).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, Final, TypeVar

from kappa.durable.fields import (
    TextRule,
    array,
    choice,
    member,
    obj,
    optional_boolean,
    optional_integer,
    optional_text,
    optional_timestamp_ms,
    text,
    timestamp_ms,
)

# The model's string shapes (botocore 1.44.8).
OPERATION_ID: Final = TextRule(1, 64, r"[a-zA-Z0-9_-]+")
OPERATION_NAME: Final = TextRule(1, 256, r"[\x20-\x7E]+")
OPERATION_SUB_TYPE: Final = TextRule(1, 32, r"[a-zA-Z0-9_-]+")
PAYLOAD_MAX: Final = 6_291_456
PAYLOAD: Final = TextRule(0, PAYLOAD_MAX)
CALLBACK_ID: Final = TextRule(1, 1024, r"[A-Za-z0-9+/]+={0,2}")
NAMESPACED_FUNCTION_NAME: Final = TextRule(
    1,
    256,
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?",
)
TENANT_ID: Final = TextRule(1, 256, r"[a-zA-Z0-9\._:\/=+\-@ ]+")
TRACE_ID: Final = TextRule(0, 8192)
# ErrorObject's members have no bounds in the model (the request body's size bounds them).
ERROR_TEXT: Final = TextRule(0, PAYLOAD_MAX)
# StepOptions.NextAttemptDelaySeconds and WaitOptions.WaitSeconds: 1 s to 366 days.
DELAY_MAX_SECONDS: Final = 31_622_400
# CallbackOptions.TimeoutSeconds and HeartbeatTimeoutSeconds (0: none).
CALLBACK_TIMEOUT_MAX_SECONDS: Final = 99_999_999
ATTEMPT_MAX: Final = 2**31 - 1

T = TypeVar("T")


class OperationType(StrEnum):
    """What an operation is: the execution itself, a child context, a step..."""

    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class OperationAction(StrEnum):
    """What an update asks of its operation."""

    START = "START"
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    RETRY = "RETRY"
    CANCEL = "CANCEL"


class OperationStatus(StrEnum):
    """Where an operation stands."""

    STARTED = "STARTED"
    PENDING = "PENDING"
    READY = "READY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


class ExecutionStatus(StrEnum):
    """Where a durable execution stands."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"
    DELETING = "DELETING"
    PAUSING = "PAUSING"
    PAUSED = "PAUSED"


class Timestamps(IntEnum):
    """How timestamps are sent: the value is how many milliseconds one unit is."""

    SECONDS = 1000  # the API's answers (rest-json: epoch seconds as JSON numbers)
    MILLISECONDS = 1  # the invocation's event (the SDK's Operation.from_json_dict)

    def render(self, ms: int) -> int | float:
        """``ms`` (epoch milliseconds) in this unit."""
        return ms if self is Timestamps.MILLISECONDS else ms / self.value


def _put(wire: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        wire[key] = value


@dataclass(frozen=True, slots=True)
class ErrorObject:
    """An error a step, context, callback or the execution ended with."""

    message: str | None = None
    type: str | None = None
    data: str | None = None
    stack_trace: tuple[str, ...] | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "ErrorObject":
        """The ErrorObject at ``field``."""
        raw = obj(value, field)
        trace = raw.get("StackTrace")
        stack: tuple[str, ...] | None = None
        if trace is not None:
            where = member(field, "StackTrace")
            stack = tuple(
                ERROR_TEXT.check(entry, f"{where}[{i}]")
                for i, entry in enumerate(array(trace, where))
            )
        return cls(
            message=optional_text(
                raw.get("ErrorMessage"), member(field, "ErrorMessage"), ERROR_TEXT
            ),
            type=optional_text(raw.get("ErrorType"), member(field, "ErrorType"), ERROR_TEXT),
            data=optional_text(raw.get("ErrorData"), member(field, "ErrorData"), ERROR_TEXT),
            stack_trace=stack,
        )

    def to_wire(self) -> dict[str, Any]:
        """The ErrorObject as JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "ErrorMessage", self.message)
        _put(wire, "ErrorType", self.type)
        _put(wire, "ErrorData", self.data)
        _put(wire, "StackTrace", None if self.stack_trace is None else list(self.stack_trace))
        return wire


def _part(
    raw: Mapping[str, Any], field: str, name: str, read: Callable[[object, str], T]
) -> T | None:
    """The optional object member ``name`` of ``raw``, read by ``read``."""
    found = raw.get(name)
    return None if found is None else read(found, member(field, name))


def _error_wire(error: ErrorObject | None) -> dict[str, Any] | None:
    return None if error is None else error.to_wire()


# The options an update carries, one record per operation type.


@dataclass(frozen=True, slots=True)
class ContextOptions:
    """A CONTEXT update's options: replay the children instead of keeping a large result."""

    replay_children: bool | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "ContextOptions":
        """The ContextOptions at ``field``."""
        raw = obj(value, field)
        return cls(optional_boolean(raw.get("ReplayChildren"), member(field, "ReplayChildren")))

    def to_wire(self) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "ReplayChildren", self.replay_children)
        return wire


@dataclass(frozen=True, slots=True)
class StepOptions:
    """A STEP RETRY's options: when the next attempt is due."""

    next_attempt_delay_seconds: int | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "StepOptions":
        """The StepOptions at ``field``."""
        raw = obj(value, field)
        name = "NextAttemptDelaySeconds"
        return cls(optional_integer(raw.get(name), member(field, name), 1, DELAY_MAX_SECONDS))

    def to_wire(self) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "NextAttemptDelaySeconds", self.next_attempt_delay_seconds)
        return wire


@dataclass(frozen=True, slots=True)
class WaitOptions:
    """A WAIT START's options: how long to wait."""

    wait_seconds: int | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "WaitOptions":
        """The WaitOptions at ``field``."""
        raw = obj(value, field)
        name = "WaitSeconds"
        return cls(optional_integer(raw.get(name), member(field, name), 1, DELAY_MAX_SECONDS))

    def to_wire(self) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "WaitSeconds", self.wait_seconds)
        return wire


@dataclass(frozen=True, slots=True)
class CallbackOptions:
    """A CALLBACK START's options: its timeout and heartbeat timeout (0: none)."""

    timeout_seconds: int | None = None
    heartbeat_timeout_seconds: int | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "CallbackOptions":
        """The CallbackOptions at ``field``."""
        raw = obj(value, field)
        bound = CALLBACK_TIMEOUT_MAX_SECONDS
        timeout, heartbeat = "TimeoutSeconds", "HeartbeatTimeoutSeconds"
        return cls(
            timeout_seconds=optional_integer(raw.get(timeout), member(field, timeout), 0, bound),
            heartbeat_timeout_seconds=optional_integer(
                raw.get(heartbeat), member(field, heartbeat), 0, bound
            ),
        )

    def to_wire(self) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "TimeoutSeconds", self.timeout_seconds)
        _put(wire, "HeartbeatTimeoutSeconds", self.heartbeat_timeout_seconds)
        return wire


@dataclass(frozen=True, slots=True)
class ChainedInvokeOptions:
    """A CHAINED_INVOKE START's options: the Function to invoke."""

    function_name: str
    tenant_id: str | None = None
    trace_id: str | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "ChainedInvokeOptions":
        """The ChainedInvokeOptions at ``field``."""
        raw = obj(value, field)
        return cls(
            function_name=text(
                raw.get("FunctionName"), member(field, "FunctionName"), NAMESPACED_FUNCTION_NAME
            ),
            tenant_id=optional_text(raw.get("TenantId"), member(field, "TenantId"), TENANT_ID),
            trace_id=optional_text(
                raw.get("XAmznTraceId"), member(field, "XAmznTraceId"), TRACE_ID
            ),
        )

    def to_wire(self) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {"FunctionName": self.function_name}
        _put(wire, "TenantId", self.tenant_id)
        _put(wire, "XAmznTraceId", self.trace_id)
        return wire


@dataclass(frozen=True, slots=True)
class OperationUpdate:
    """One update of a ``CheckpointDurableExecution`` request."""

    id: str
    type: OperationType
    action: OperationAction
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    payload: str | None = None
    error: ErrorObject | None = None
    context_options: ContextOptions | None = None
    step_options: StepOptions | None = None
    wait_options: WaitOptions | None = None
    callback_options: CallbackOptions | None = None
    chained_invoke_options: ChainedInvokeOptions | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "OperationUpdate":
        """The OperationUpdate at ``field``."""
        raw = obj(value, field)
        return cls(
            id=text(raw.get("Id"), member(field, "Id"), OPERATION_ID),
            type=choice(raw.get("Type"), member(field, "Type"), OperationType),
            action=choice(raw.get("Action"), member(field, "Action"), OperationAction),
            parent_id=optional_text(raw.get("ParentId"), member(field, "ParentId"), OPERATION_ID),
            name=optional_text(raw.get("Name"), member(field, "Name"), OPERATION_NAME),
            sub_type=optional_text(
                raw.get("SubType"), member(field, "SubType"), OPERATION_SUB_TYPE
            ),
            payload=optional_text(raw.get("Payload"), member(field, "Payload"), PAYLOAD),
            error=_part(raw, field, "Error", ErrorObject.from_wire),
            context_options=_part(raw, field, "ContextOptions", ContextOptions.from_wire),
            step_options=_part(raw, field, "StepOptions", StepOptions.from_wire),
            wait_options=_part(raw, field, "WaitOptions", WaitOptions.from_wire),
            callback_options=_part(raw, field, "CallbackOptions", CallbackOptions.from_wire),
            chained_invoke_options=_part(
                raw, field, "ChainedInvokeOptions", ChainedInvokeOptions.from_wire
            ),
        )

    def to_wire(self) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {"Id": self.id, "Type": self.type.value, "Action": self.action.value}
        _put(wire, "ParentId", self.parent_id)
        _put(wire, "Name", self.name)
        _put(wire, "SubType", self.sub_type)
        _put(wire, "Payload", self.payload)
        _put(wire, "Error", _error_wire(self.error))
        for key, options in (
            ("ContextOptions", self.context_options),
            ("StepOptions", self.step_options),
            ("WaitOptions", self.wait_options),
            ("CallbackOptions", self.callback_options),
            ("ChainedInvokeOptions", self.chained_invoke_options),
        ):
            _put(wire, key, None if options is None else options.to_wire())
        return wire


def parse_updates(value: object, field: str = "Updates") -> tuple[OperationUpdate, ...]:
    """A checkpoint's ``Updates`` (absent: none, which is a refresh)."""
    if value is None:
        return ()
    return tuple(
        OperationUpdate.from_wire(item, f"{field}[{i}]")
        for i, item in enumerate(array(value, field))
    )


# What an operation holds beyond its common fields, one record per operation type.


def _payload(raw: Mapping[str, Any], field: str, name: str) -> str | None:
    return optional_text(raw.get(name), member(field, name), PAYLOAD)


@dataclass(frozen=True, slots=True)
class ExecutionDetails:
    """The EXECUTION operation's details: the caller's payload."""

    input_payload: str | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "ExecutionDetails":
        """The ExecutionDetails at ``field``."""
        return cls(_payload(obj(value, field), field, "InputPayload"))

    def to_wire(self, _unit: Timestamps) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "InputPayload", self.input_payload)
        return wire


@dataclass(frozen=True, slots=True)
class ContextDetails:
    """A CONTEXT's details: its result or error, and whether its children are replayed."""

    replay_children: bool | None = None
    result: str | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "ContextDetails":
        """The ContextDetails at ``field``."""
        raw = obj(value, field)
        return cls(
            replay_children=optional_boolean(
                raw.get("ReplayChildren"), member(field, "ReplayChildren")
            ),
            result=_payload(raw, field, "Result"),
            error=_part(raw, field, "Error", ErrorObject.from_wire),
        )

    def to_wire(self, _unit: Timestamps) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "ReplayChildren", self.replay_children)
        _put(wire, "Result", self.result)
        _put(wire, "Error", _error_wire(self.error))
        return wire


@dataclass(frozen=True, slots=True)
class StepDetails:
    """A STEP's details: attempts made, when the next is due, its result or error."""

    attempt: int | None = None
    next_attempt_ms: int | None = None
    result: str | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_wire(cls, value: object, field: str, unit: Timestamps) -> "StepDetails":
        """The StepDetails at ``field``."""
        raw = obj(value, field)
        return cls(
            attempt=optional_integer(raw.get("Attempt"), member(field, "Attempt"), 0, ATTEMPT_MAX),
            next_attempt_ms=optional_timestamp_ms(
                raw.get("NextAttemptTimestamp"), member(field, "NextAttemptTimestamp"), unit
            ),
            result=_payload(raw, field, "Result"),
            error=_part(raw, field, "Error", ErrorObject.from_wire),
        )

    def to_wire(self, unit: Timestamps) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "Attempt", self.attempt)
        if self.next_attempt_ms is not None:
            wire["NextAttemptTimestamp"] = unit.render(self.next_attempt_ms)
        _put(wire, "Result", self.result)
        _put(wire, "Error", _error_wire(self.error))
        return wire


@dataclass(frozen=True, slots=True)
class WaitDetails:
    """A WAIT's details: when it ends."""

    scheduled_end_ms: int | None = None

    @classmethod
    def from_wire(cls, value: object, field: str, unit: Timestamps) -> "WaitDetails":
        """The WaitDetails at ``field``."""
        raw = obj(value, field)
        name = "ScheduledEndTimestamp"
        return cls(optional_timestamp_ms(raw.get(name), member(field, name), unit))

    def to_wire(self, unit: Timestamps) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        if self.scheduled_end_ms is not None:
            wire["ScheduledEndTimestamp"] = unit.render(self.scheduled_end_ms)
        return wire


@dataclass(frozen=True, slots=True)
class CallbackDetails:
    """A CALLBACK's details: the id to complete it with, its result or error."""

    callback_id: str | None = None
    result: str | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "CallbackDetails":
        """The CallbackDetails at ``field``."""
        raw = obj(value, field)
        return cls(
            callback_id=optional_text(
                raw.get("CallbackId"), member(field, "CallbackId"), CALLBACK_ID
            ),
            result=_payload(raw, field, "Result"),
            error=_part(raw, field, "Error", ErrorObject.from_wire),
        )

    def to_wire(self, _unit: Timestamps) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "CallbackId", self.callback_id)
        _put(wire, "Result", self.result)
        _put(wire, "Error", _error_wire(self.error))
        return wire


@dataclass(frozen=True, slots=True)
class ChainedInvokeDetails:
    """A CHAINED_INVOKE's details: the invoked Function's result or error."""

    result: str | None = None
    error: ErrorObject | None = None

    @classmethod
    def from_wire(cls, value: object, field: str) -> "ChainedInvokeDetails":
        """The ChainedInvokeDetails at ``field``."""
        raw = obj(value, field)
        return cls(
            result=_payload(raw, field, "Result"),
            error=_part(raw, field, "Error", ErrorObject.from_wire),
        )

    def to_wire(self, _unit: Timestamps) -> dict[str, Any]:
        """As JSON."""
        wire: dict[str, Any] = {}
        _put(wire, "Result", self.result)
        _put(wire, "Error", _error_wire(self.error))
        return wire


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of an execution, as the service keeps it and the SDK reads it."""

    id: str
    type: OperationType
    status: OperationStatus
    start_ms: int
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    end_ms: int | None = None
    execution_details: ExecutionDetails | None = None
    context_details: ContextDetails | None = None
    step_details: StepDetails | None = None
    wait_details: WaitDetails | None = None
    callback_details: CallbackDetails | None = None
    chained_invoke_details: ChainedInvokeDetails | None = None

    @classmethod
    def from_wire(cls, value: object, field: str, unit: Timestamps) -> "Operation":
        """The Operation at ``field``, its timestamps sent in ``unit``."""
        raw = obj(value, field)

        def timed_step(found: object, where: str) -> StepDetails:
            return StepDetails.from_wire(found, where, unit)

        def timed_wait(found: object, where: str) -> WaitDetails:
            return WaitDetails.from_wire(found, where, unit)

        return cls(
            id=text(raw.get("Id"), member(field, "Id"), OPERATION_ID),
            type=choice(raw.get("Type"), member(field, "Type"), OperationType),
            status=choice(raw.get("Status"), member(field, "Status"), OperationStatus),
            start_ms=timestamp_ms(raw.get("StartTimestamp"), member(field, "StartTimestamp"), unit),
            parent_id=optional_text(raw.get("ParentId"), member(field, "ParentId"), OPERATION_ID),
            name=optional_text(raw.get("Name"), member(field, "Name"), OPERATION_NAME),
            sub_type=optional_text(
                raw.get("SubType"), member(field, "SubType"), OPERATION_SUB_TYPE
            ),
            end_ms=optional_timestamp_ms(
                raw.get("EndTimestamp"), member(field, "EndTimestamp"), unit
            ),
            execution_details=_part(raw, field, "ExecutionDetails", ExecutionDetails.from_wire),
            context_details=_part(raw, field, "ContextDetails", ContextDetails.from_wire),
            step_details=_part(raw, field, "StepDetails", timed_step),
            wait_details=_part(raw, field, "WaitDetails", timed_wait),
            callback_details=_part(raw, field, "CallbackDetails", CallbackDetails.from_wire),
            chained_invoke_details=_part(
                raw, field, "ChainedInvokeDetails", ChainedInvokeDetails.from_wire
            ),
        )

    def to_wire(self, unit: Timestamps) -> dict[str, Any]:
        """As JSON, its timestamps in ``unit``."""
        wire: dict[str, Any] = {"Id": self.id}
        _put(wire, "ParentId", self.parent_id)
        _put(wire, "Name", self.name)
        wire["Type"] = self.type.value
        _put(wire, "SubType", self.sub_type)
        wire["StartTimestamp"] = unit.render(self.start_ms)
        if self.end_ms is not None:
            wire["EndTimestamp"] = unit.render(self.end_ms)
        wire["Status"] = self.status.value
        for key, details in (
            ("ExecutionDetails", self.execution_details),
            ("ContextDetails", self.context_details),
            ("StepDetails", self.step_details),
            ("WaitDetails", self.wait_details),
            ("CallbackDetails", self.callback_details),
            ("ChainedInvokeDetails", self.chained_invoke_details),
        ):
            _put(wire, key, None if details is None else details.to_wire(unit))
        return wire


def parse_operations(value: object, field: str, unit: Timestamps) -> tuple[Operation, ...]:
    """A list of operations (``Operations`` of an event or an answer)."""
    return tuple(
        Operation.from_wire(item, f"{field}[{i}]", unit)
        for i, item in enumerate(array(value, field))
    )
