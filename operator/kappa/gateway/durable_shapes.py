"""The durable execution API's answers and errors, in Lambda's JSON (pure).

The bodies of the ``/2025-12-01/`` operations as botocore's Lambda model reads them
(rest-json): absent members are left out, and timestamps are epoch **seconds** as JSON
numbers (the invocation's event, which is not an API answer, has milliseconds). Kappa
keeps times as epoch milliseconds; :func:`epoch_seconds` is the one conversion.

The gateway imports no durable package (``kappa.durable`` is its sibling in layer 2), so
operations, history events and error objects come in already in wire form (the durable
model writes them, with seconds), and an execution is read through
:class:`ExecutionFacts`, which the durable service's records satisfy.

Errors are Lambda's: ``InvalidParameterValueException`` (a bad field, or a checkpoint
token that is not the current one: ``kappa.invocation.errors.invalid_parameter``),
``ResourceNotFoundException``, ``CallbackTimeoutException`` and
``DurableExecutionAlreadyStartedException``, with the member spelling each has in the
model (``Message`` for the last three).
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from kappa.invocation.errors import GatewayError, not_found


def epoch_seconds(ms: int) -> float:
    """An epoch timestamp in milliseconds as the API's answers send it: seconds."""
    return ms / 1000


class ExecutionFacts(Protocol):
    """What an answer says of one durable execution."""

    @property
    def arn(self) -> str:
        """``DurableExecutionArn``."""
        ...

    @property
    def name(self) -> str:
        """``DurableExecutionName``."""
        ...

    @property
    def function_arn(self) -> str:
        """The ARN of the Function's version the execution runs."""
        ...

    @property
    def version(self) -> str:
        """``$LATEST`` or a published version's number."""
        ...

    @property
    def status(self) -> str:
        """An ``ExecutionStatus``: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, STOPPED..."""
        ...

    @property
    def start_ms(self) -> int:
        """When it started, epoch milliseconds."""
        ...

    @property
    def end_ms(self) -> int | None:
        """When it ended (None: running)."""
        ...

    @property
    def input_payload(self) -> str | None:
        """The caller's payload."""
        ...

    @property
    def result(self) -> str | None:
        """Its result, once SUCCEEDED."""
        ...

    @property
    def error(self) -> Mapping[str, Any] | None:
        """Its ``ErrorObject`` (wire form), once FAILED, TIMED_OUT or STOPPED."""
        ...

    @property
    def trace_id(self) -> str | None:
        """The ``X-Amzn-Trace-Id`` it started with."""
        ...

    @property
    def retention_days(self) -> int:
        """``DurableConfig.RetentionPeriodInDays``."""
        ...

    @property
    def timeout_seconds(self) -> int:
        """``DurableConfig.ExecutionTimeout``."""
        ...

    @property
    def current(self) -> str | None:
        """The last started operation (``TYPE name STATUS``), as listed; None: none yet."""
        ...

    @property
    def next_wakeup_ms(self) -> int | None:
        """When its earliest live timer is due (epoch ms), as listed; None: none."""
        ...


def _with_marker(answer: dict[str, Any], next_marker: str | None) -> dict[str, Any]:
    if next_marker:
        answer["NextMarker"] = next_marker
    return answer


def checkpoint_answer(
    operations: Sequence[Mapping[str, Any]], token: str | None, next_marker: str | None = None
) -> dict[str, Any]:
    """``CheckpointDurableExecution``'s answer: the next token and the operations changed.

    No token (None) ends the invocation: its execution is done, or the token was revoked.
    """
    answer: dict[str, Any] = {}
    if token is not None:
        answer["CheckpointToken"] = token
    answer["NewExecutionState"] = _with_marker({"Operations": list(operations)}, next_marker)
    return answer


def state_answer(
    operations: Sequence[Mapping[str, Any]], next_marker: str | None = None
) -> dict[str, Any]:
    """``GetDurableExecutionState``'s answer: one page of operations."""
    return _with_marker({"Operations": list(operations)}, next_marker)


def execution_item(facts: ExecutionFacts) -> dict[str, Any]:
    """One ``Execution`` of ``ListDurableExecutionsByFunction``."""
    item: dict[str, Any] = {
        "DurableExecutionArn": facts.arn,
        "DurableExecutionName": facts.name,
        "FunctionArn": facts.function_arn,
        "Status": str(facts.status),
        "StartTimestamp": epoch_seconds(facts.start_ms),
    }
    if facts.end_ms is not None:
        item["EndTimestamp"] = epoch_seconds(facts.end_ms)
    return item


def list_answer(items: Sequence[ExecutionFacts], next_marker: str | None = None) -> dict[str, Any]:
    """``ListDurableExecutionsByFunction``'s answer: one page of executions."""
    return _with_marker({"DurableExecutions": [execution_item(i) for i in items]}, next_marker)


def _iso(ms: int | None) -> str | None:
    """Epoch milliseconds as UTC ISO 8601 to the millisecond (None stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def glance_answer(items: Sequence[ExecutionFacts], next_marker: str | None) -> dict[str, Any]:
    """Kappa's list of a Function's executions (``kappa executions``): where each one stands.

    As ListDurableExecutionsByFunction's, plus the last started operation and the next
    wake-up, which Lambda's shapes have no member for.
    """
    executions = [
        {
            "name": item.name,
            "arn": item.arn,
            "status": str(item.status),
            "version": item.version,
            "started": _iso(item.start_ms),
            "ended": _iso(item.end_ms),
            "current": item.current,
            "nextWakeUp": _iso(item.next_wakeup_ms),
        }
        for item in items
    ]
    return {"executions": executions, "nextMarker": next_marker}


def execution_answer(facts: ExecutionFacts, *, include_data: bool) -> dict[str, Any]:
    """``GetDurableExecution``'s answer.

    Its input, result and error only with ``include_data`` (``IncludeExecutionData``), as
    ``ExecutionDataIncluded`` says.
    """
    answer = execution_item(facts)
    answer["Version"] = facts.version
    answer["DurableConfig"] = {
        "RetentionPeriodInDays": facts.retention_days,
        "ExecutionTimeout": facts.timeout_seconds,
    }
    if facts.end_ms is None:
        answer["ExpectedExecutionTimeoutTimestamp"] = epoch_seconds(
            facts.start_ms + facts.timeout_seconds * 1000
        )
    if facts.trace_id is not None:
        answer["TraceHeader"] = {"XAmznTraceId": facts.trace_id}
    answer["ExecutionDataIncluded"] = include_data
    if include_data:
        for key, value in (
            ("InputPayload", facts.input_payload),
            ("Result", facts.result),
            ("Error", None if facts.error is None else dict(facts.error)),
        ):
            if value is not None:
                answer[key] = value
    return answer


def history_answer(
    events: Sequence[Mapping[str, Any]], next_marker: str | None = None
) -> dict[str, Any]:
    """``GetDurableExecutionHistory``'s answer: one page of events.

    The events in wire form, as ``kappa.durable.history.HistoryPage.wire_events`` writes
    them (timestamps in seconds, payloads left out without ``IncludeExecutionData``).
    """
    return _with_marker({"Events": list(events)}, next_marker)


def stop_answer(stop_ms: int) -> dict[str, Any]:
    """``StopDurableExecution``'s answer."""
    return {"StopTimestamp": epoch_seconds(stop_ms)}


def callback_answer() -> dict[str, Any]:
    """The answer of ``SendDurableExecutionCallback{Success,Failure,Heartbeat}``: empty."""
    return {}


def execution_not_found(arn: str) -> GatewayError:
    """404 ``ResourceNotFoundException`` for an execution that does not exist (any more)."""
    return not_found(f"Durable execution not found: {arn}")


def callback_not_found() -> GatewayError:
    """404 for a callback id that names no waiting callback.

    It completed, its execution ended, or the id was not minted here.
    """
    return not_found("Callback not found: it completed, its execution ended, or it never existed.")


def callback_timed_out() -> GatewayError:
    """400 ``CallbackTimeoutException``: the callback's timeout or heartbeat timeout passed."""
    return GatewayError(
        400,
        "CallbackTimeoutException",
        {"Type": "User", "Message": "The callback timed out before it was completed."},
    )


def execution_already_started(name: str) -> GatewayError:
    """409 ``DurableExecutionAlreadyStartedException``: the name is taken, with another input."""
    return GatewayError(
        409,
        "DurableExecutionAlreadyStartedException",
        {
            "Type": "User",
            "Message": f"A durable execution named {name!r} was already started with "
            "another input.",
        },
    )
