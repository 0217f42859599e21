"""What a worker does with an event it was handed (pure: inputs and ``now`` in, a decision out).

Before invoking (``before_invoke``), first row that holds::

    progress has a final outcome              Deliver it again (never invoke twice)
    the Function does not exist               event older than its max age → Finish EventAgeExceeded
                                              else Requeue (back-off; it may come back)
    event older than maximumEventAgeSeconds   Finish EventAgeExceeded (dead-lettered)
    reserved concurrency is 0                 Finish RetriesExhausted, never invoked (Lambda
                                              sends such events straight to failure handling)
    otherwise                                 Invoke

After invoking (``after_invoke``)::

    success                                   Finish Success
    function error, retries left              Retry after retry_delay(n) (progress saved first)
    function error, none left                 Finish RetriesExhausted
    throttled (429) or system error           Requeue after requeue_delay(requeues), the delay
                                              cut to the event's remaining age

Every ``Finish`` also says where its record goes (``onSuccess`` or
``onFailure``) and, when that is a Function, what to do should it not exist
(``destination_missing``): requeue with the back-off until the event has
waited ``Backoff.destination_wait`` past its maximum age, then give up (a
failure is in the dead-letter queue already). The worker only carries a
decision out; the one thing it learns on the way is whether the destination
Function exists.
"""

import json
from dataclasses import dataclass, field
from enum import StrEnum

from kappa.asyncq.envelope import DeadLetter, Event
from kappa.asyncq.progress import Final, Progress
from kappa.asyncq.record import RecordCondition, Response, invocation_record
from kappa.asyncq.schedule import Backoff, requeue_delay, retry_delay
from kappa.invocation.registry import AsyncConfig, Destination


@dataclass(frozen=True, slots=True)
class Policy:
    """A Function's ``spec.async``, and what else of it the decisions read."""

    arn: str
    async_config: AsyncConfig = field(default_factory=AsyncConfig)
    reserved: int | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    """An event as handed to a worker: its progress so far and its delivery count."""

    event: Event
    progress: Progress
    deliveries: int  # JetStream's num_delivered, this delivery included
    now_ms: int

    @property
    def age_seconds(self) -> float:
        """Seconds since the gateway accepted the event."""
        return max(self.now_ms - self.event.enqueued_ms, 0) / 1000

    @property
    def requeues(self) -> int:
        """Offers that ended in a requeue (throttle, system error, crash) so far."""
        return max(self.deliveries - 1 - self.progress.invocations, 0)


class RequeueCause(StrEnum):
    """Why an event goes back without counting as an attempt (a metric label)."""

    THROTTLED = "throttled"
    SYSTEM_ERROR = "system_error"
    FUNCTION_MISSING = "function_missing"
    DESTINATION_MISSING = "destination_missing"


@dataclass(frozen=True, slots=True)
class Invoke:
    """Run the event now."""


@dataclass(frozen=True, slots=True)
class Requeue:
    """Offer the event again after ``delay`` seconds; not an attempt."""

    delay: float
    cause: RequeueCause


@dataclass(frozen=True, slots=True)
class Retry:
    """Save ``progress``, then offer the event again after ``delay`` seconds."""

    delay: float
    progress: Progress


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop waiting for a missing destination; ack the event."""


@dataclass(frozen=True, slots=True)
class Finish:
    """The outcome is decided, and what the worker does with it.

    In order, the worker:

    1. saves ``progress`` when ``to_save``;
    2. sends ``final``'s record to ``destination`` (None: nowhere); should that
       Function not exist, follows ``on_missing``: a ``Requeue`` ends the
       handling there, ``GiveUp`` goes on (None: the destination is no Function);
    3. dead-letters a failure (``final.dead_letter``) and acks the event.
    """

    final: Final
    saved: bool = False
    destination: Destination | None = None
    on_missing: Requeue | GiveUp | None = None

    @property
    def to_save(self) -> bool:
        """Whether ``progress`` is written before delivering.

        Only when there is something to deliver again (a record for a destination, a dead
        letter) and it is not in the bucket already. A success with no destination is only
        acked: a redelivery after a lost ack runs the handler again, as one after a crash
        before the write would.
        """
        return not self.saved and (self.destination is not None or not self.final.succeeded)

    @property
    def progress(self) -> Progress:
        """What the bucket holds for the event once it is finished."""
        invocations = self.final.dead_letter.invoke_count if self.final.dead_letter else 0
        return Progress(invocations, self.final)


@dataclass(frozen=True, slots=True)
class Answered:
    """The function answered (success or function error)."""

    response: Response


@dataclass(frozen=True, slots=True)
class Throttled:
    """429: no capacity for the function now."""

    message: str


@dataclass(frozen=True, slots=True)
class SystemFailed:
    """Kappa failed the event (pod lost mid-call, agent error), not the function."""

    status: int
    message: str


Result = Answered | Throttled | SystemFailed

_RESERVED_ZERO = "The function's reserved concurrency is 0: every invocation is throttled."


def before_invoke(
    offer: Offer, policy: Policy | None, backoff: Backoff, *, arn: str
) -> Invoke | Requeue | Finish:
    """Per the first table of the module docstring; ``arn`` names a Function that is gone."""
    if offer.progress.final is not None:
        return _finish(offer, policy, backoff, offer.progress.final, saved=True)
    max_age = (
        offer.event.max_event_age_seconds
        if policy is None
        else policy.async_config.maximum_event_age_seconds
    )
    if offer.age_seconds > max_age:
        return _finish(offer, policy, backoff, _expired(offer, policy, arn))
    if policy is None:
        return _requeue(offer, backoff, RequeueCause.FUNCTION_MISSING, max_age)
    if policy.reserved == 0:
        final = _failed(offer, policy.arn, condition=RecordCondition.RETRIES_EXHAUSTED,
                        response=None, error_code="429", message=_RESERVED_ZERO)  # fmt: skip
        return _finish(offer, policy, backoff, final)
    return Invoke()


def after_invoke(
    offer: Offer, policy: Policy, result: Result, backoff: Backoff
) -> Retry | Requeue | Finish:
    """Per the second table of the module docstring."""
    if isinstance(result, Throttled):
        return _requeue(
            offer, backoff, RequeueCause.THROTTLED, policy.async_config.maximum_event_age_seconds
        )
    if isinstance(result, SystemFailed):
        return _requeue(
            offer, backoff, RequeueCause.SYSTEM_ERROR, policy.async_config.maximum_event_age_seconds
        )
    response = result.response
    invocations = offer.progress.invocations + 1
    if response.function_error is None:
        record = invocation_record(
            request_id=offer.event.request_id,
            function_arn=policy.arn,
            condition=RecordCondition.SUCCESS,
            invoke_count=invocations,
            payload=offer.event.payload,
            response=response,
            now_ms=offer.now_ms,
        )
        return _finish(offer, policy, backoff, Final(RecordCondition.SUCCESS, record))
    if invocations > policy.async_config.maximum_retry_attempts:
        failed = Offer(offer.event, Progress(invocations), offer.deliveries, offer.now_ms)
        final = _failed(
            failed,
            policy.arn,
            condition=RecordCondition.RETRIES_EXHAUSTED,
            response=response,
            error_code=str(response.status_code),
            message=_error_message(response),
        )
        return _finish(offer, policy, backoff, final)
    remaining = policy.async_config.maximum_event_age_seconds - offer.age_seconds
    delay = min(retry_delay(invocations, backoff), max(remaining, 0.0))
    return Retry(delay, Progress(invocations))


def destination_missing(
    offer: Offer, backoff: Backoff, *, max_event_age_seconds: int, wait_seconds: float
) -> Requeue | GiveUp:
    """A finished event whose destination Function does not exist: wait, or give up."""
    if offer.age_seconds > max_event_age_seconds + wait_seconds:
        return GiveUp()
    return Requeue(requeue_delay(offer.requeues, backoff), RequeueCause.DESTINATION_MISSING)


def _finish(
    offer: Offer, policy: Policy | None, backoff: Backoff, final: Final, *, saved: bool = False
) -> Finish:
    """``final`` with where its record goes, per the Function's destinations (none when gone)."""
    if policy is None:
        return Finish(final, saved=saved)
    config = policy.async_config
    destination = config.on_success if final.succeeded else config.on_failure
    on_missing = None
    if destination is not None and destination.function:
        on_missing = destination_missing(
            offer,
            backoff,
            max_event_age_seconds=config.maximum_event_age_seconds,
            wait_seconds=backoff.destination_wait,
        )
    return Finish(final, saved=saved, destination=destination, on_missing=on_missing)


def _requeue(offer: Offer, backoff: Backoff, cause: RequeueCause, max_age: int) -> Requeue:
    remaining = max(max_age - offer.age_seconds, 0.0)
    # A tenth of a second past the deadline, so that the next offer finds it expired.
    return Requeue(min(requeue_delay(offer.requeues, backoff), remaining + 0.1), cause)


def _expired(offer: Offer, policy: Policy | None, arn: str) -> Final:
    if policy is None:
        message = "The function does not exist (deleted after the event was accepted)."
        return _failed(offer, arn, condition=RecordCondition.EVENT_AGE_EXCEEDED, response=None,
                       error_code="404", message=message)  # fmt: skip
    message = "The event is older than the function's maximumEventAgeSeconds."
    return _failed(offer, policy.arn, condition=RecordCondition.EVENT_AGE_EXCEEDED, response=None,
                   error_code="429", message=message)  # fmt: skip


def _failed(  # noqa: PLR0913 - the parts of a failure
    offer: Offer,
    arn: str,
    *,
    condition: RecordCondition,
    response: Response | None,
    error_code: str,
    message: str,
) -> Final:
    invocations = offer.progress.invocations
    record = invocation_record(
        request_id=offer.event.request_id,
        function_arn=arn,
        condition=condition,
        invoke_count=invocations,
        payload=offer.event.payload,
        response=response,
        now_ms=offer.now_ms,
    )
    why = DeadLetter(
        condition=condition.value,
        error_code=error_code,
        error_message=message,
        invoke_count=invocations,
        dead_lettered_ms=offer.now_ms,
    )
    return Final(condition, record, why)


def _error_message(response: Response) -> str:
    """The error's ``errorType: errorMessage`` when the body is Lambda's error JSON."""
    try:
        error = json.loads(response.body)
        return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
    except (ValueError, AttributeError):
        return response.body[:1024].decode("utf-8", "replace")
