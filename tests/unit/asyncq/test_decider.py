import pytest

from kappa.asyncq.decider import (
    Answered,
    Finish,
    GiveUp,
    Invoke,
    Offer,
    Policy,
    Requeue,
    RequeueCause,
    Retry,
    SystemFailed,
    Throttled,
    after_invoke,
    before_invoke,
    destination_missing,
)
from kappa.asyncq.envelope import Event
from kappa.asyncq.progress import Final, Progress
from kappa.asyncq.record import RecordCondition, Response
from kappa.asyncq.schedule import Backoff
from kappa.invocation.registry import AsyncConfig, Destination

ARN = "arn:aws:lambda:us-east-1:ns:function:fn"
BACKOFF = Backoff(retry_delays=(60.0, 120.0), requeue_first=1.0, requeue_cap=300.0)
POLICY = Policy(
    arn=ARN, async_config=AsyncConfig(maximum_retry_attempts=2, maximum_event_age_seconds=3600)
)
ERROR = Response(b'{"errorType": "ValueError", "errorMessage": "bad"}', "Unhandled")
OK = Response(b'{"ok": 1}')


def offer(*, age: float = 0, invocations: int = 0, deliveries: int = 1,
          final: Final | None = None, max_age: int = 21600) -> Offer:  # fmt: skip
    event = Event("ns", "fn", "id-1", b'{"x": 1}', 1_000_000, max_age)
    return Offer(event, Progress(invocations, final), deliveries, 1_000_000 + int(age * 1000))


DONE = Final(RecordCondition.SUCCESS, {"version": "1.0"})


@pytest.mark.parametrize(
    ("the_offer", "policy", "expected"),
    [
        pytest.param(offer(), POLICY, Invoke(), id="fresh-event-runs"),
        pytest.param(offer(final=DONE), POLICY, Finish(DONE, saved=True),
                     id="decided-outcome-is-not-run-again"),
        pytest.param(offer(final=DONE, age=99_999), None, Finish(DONE, saved=True),
                     id="decided-outcome-wins-over-age-and-absence"),
        pytest.param(offer(age=10), None, Requeue(1.0, RequeueCause.FUNCTION_MISSING),
                     id="missing-function-waits"),
        pytest.param(offer(age=3599.5), POLICY, Invoke(), id="just-young-enough"),
        pytest.param(offer(age=3600), POLICY, Invoke(), id="exactly-the-max-age-still-runs"),
        pytest.param(offer(age=60, max_age=60), None,
                     Requeue(pytest.approx(0.1), RequeueCause.FUNCTION_MISSING),
                     id="a-missing-function-at-exactly-the-max-age-waits"),
    ],
)  # fmt: skip
def test_before_invoke(the_offer: Offer, policy: Policy | None, expected: object) -> None:
    assert before_invoke(the_offer, policy, BACKOFF, arn=ARN) == expected


@pytest.mark.parametrize(
    ("the_offer", "policy", "condition", "error_code", "count"),
    [
        pytest.param(offer(age=3601), POLICY, RecordCondition.EVENT_AGE_EXCEEDED, "429", 0,
                     id="too-old"),
        pytest.param(offer(age=3600.001), POLICY, RecordCondition.EVENT_AGE_EXCEEDED, "429", 0,
                     id="a-millisecond-too-old"),
        pytest.param(offer(age=61, max_age=60), None, RecordCondition.EVENT_AGE_EXCEEDED, "404", 0,
                     id="function-gone-too-long"),
        pytest.param(offer(), Policy(ARN, reserved=0), RecordCondition.RETRIES_EXHAUSTED, "429", 0,
                     id="reserved-zero-straight-to-failure"),
        pytest.param(offer(age=4000, invocations=1), POLICY, RecordCondition.EVENT_AGE_EXCEEDED, "429",
                     1, id="expired-between-retries-counts-the-invocation"),
    ],
)  # fmt: skip
def test_before_invoke_failures(
    the_offer: Offer, policy: Policy | None, condition: RecordCondition, error_code: str, count: int
) -> None:
    decision = before_invoke(the_offer, policy, BACKOFF, arn=ARN)
    assert isinstance(decision, Finish)
    assert decision.final.condition is condition
    assert decision.final.dead_letter is not None
    assert decision.final.dead_letter.error_code == error_code
    assert decision.final.record["requestContext"]["approximateInvokeCount"] == count
    assert "responseContext" not in decision.final.record


@pytest.mark.parametrize(
    ("invocations", "retries", "expected"),
    [
        pytest.param(0, 2, Retry(60.0, Progress(1)), id="first-error-retried-after-a-minute"),
        pytest.param(1, 2, Retry(120.0, Progress(2)), id="second-error-after-two-minutes"),
        pytest.param(0, 1, Retry(60.0, Progress(1)), id="one-retry-allowed"),
    ],
)
def test_function_errors_are_retried(invocations: int, retries: int, expected: Retry) -> None:
    policy = Policy(ARN, AsyncConfig(maximum_retry_attempts=retries))
    assert (
        after_invoke(offer(invocations=invocations), policy, Answered(ERROR), BACKOFF) == expected
    )


@pytest.mark.parametrize(
    ("invocations", "retries"),
    [
        pytest.param(2, 2, id="third-error-exhausts-two-retries"),
        pytest.param(0, 0, id="no-retries"),
        pytest.param(1, 1, id="second-error-exhausts-one-retry"),
    ],
)
def test_retries_run_out(invocations: int, retries: int) -> None:
    decision = after_invoke(
        offer(invocations=invocations), Policy(ARN, AsyncConfig(maximum_retry_attempts=retries)),
        Answered(ERROR), BACKOFF,
    )  # fmt: skip
    assert isinstance(decision, Finish)
    final = decision.final
    assert final.condition is RecordCondition.RETRIES_EXHAUSTED
    assert final.record["requestContext"]["approximateInvokeCount"] == invocations + 1
    assert final.record["responseContext"]["functionError"] == "Unhandled"
    assert final.dead_letter is not None
    assert final.dead_letter.error_message == "ValueError: bad"
    assert final.dead_letter.error_code == "200"


def test_a_retry_never_waits_past_the_events_age() -> None:
    decision = after_invoke(offer(age=3590), POLICY, Answered(ERROR), BACKOFF)
    assert decision == Retry(10.0, Progress(1))


def test_success_finishes_with_the_record() -> None:
    decision = after_invoke(offer(invocations=1), POLICY, Answered(OK), BACKOFF)
    assert isinstance(decision, Finish)
    assert decision.final.succeeded
    assert decision.final.dead_letter is None
    assert decision.final.record["requestContext"]["approximateInvokeCount"] == 2
    assert decision.final.record["responsePayload"] == {"ok": 1}


@pytest.mark.parametrize(
    ("result", "deliveries", "invocations", "expected"),
    [
        pytest.param(Throttled("full"), 1, 0, Requeue(1.0, RequeueCause.THROTTLED),
                     id="first-throttle-1s"),
        pytest.param(Throttled("full"), 4, 0, Requeue(8.0, RequeueCause.THROTTLED),
                     id="fourth-throttle-8s"),
        pytest.param(Throttled("full"), 4, 2, Requeue(2.0, RequeueCause.THROTTLED),
                     id="retries-do-not-count-as-requeues"),
        pytest.param(SystemFailed(502, "pod gone"), 20, 0,
                     Requeue(300.0, RequeueCause.SYSTEM_ERROR), id="system-errors-cap-at-5min"),
    ],
)  # fmt: skip
def test_throttles_and_system_errors_are_requeued_with_backoff(
    result: Throttled | SystemFailed, deliveries: int, invocations: int, expected: Requeue
) -> None:
    the_offer = offer(deliveries=deliveries, invocations=invocations)
    assert after_invoke(the_offer, POLICY, result, BACKOFF) == expected


def test_a_requeue_is_cut_to_the_remaining_age() -> None:
    decision = after_invoke(offer(age=3598, deliveries=30), POLICY, Throttled("x"), BACKOFF)
    assert decision == Requeue(pytest.approx(2.1), RequeueCause.THROTTLED)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        pytest.param(100, Requeue(1.0, RequeueCause.DESTINATION_MISSING), id="waits"),
        pytest.param(3601, Requeue(1.0, RequeueCause.DESTINATION_MISSING),
                     id="waits-past-the-max-age"),
        pytest.param(3600 + 86_400, Requeue(1.0, RequeueCause.DESTINATION_MISSING),
                     id="waits-to-the-end-of-the-wait"),
        pytest.param(3600 + 86_400.001, GiveUp(), id="gives-up-just-after-the-wait"),
        pytest.param(3600 + 86_400 + 1, GiveUp(), id="gives-up-after-the-wait"),
    ],
)  # fmt: skip
def test_missing_destination(age: float, expected: object) -> None:
    decision = destination_missing(
        offer(age=age), BACKOFF, max_event_age_seconds=3600, wait_seconds=86_400
    )
    assert decision == expected


SINK = Destination(function="sink")
TOPIC = Destination(nats_subject="done")
ROUTED = Policy(ARN, AsyncConfig(maximum_event_age_seconds=3600, on_success=TOPIC, on_failure=SINK))
WAIT = Backoff(retry_delays=(60.0, 120.0), requeue_first=1.0, requeue_cap=300.0,
               destination_wait=600.0)  # fmt: skip


def test_success_goes_to_on_success_and_a_subject_cannot_be_missing() -> None:
    decision = after_invoke(offer(), ROUTED, Answered(OK), WAIT)
    assert isinstance(decision, Finish)
    assert decision.destination == TOPIC
    assert decision.on_missing is None
    assert not decision.saved
    assert decision.progress == Progress(0, decision.final)


@pytest.mark.parametrize(
    ("age", "on_missing"),
    [
        pytest.param(100, Requeue(1.0, RequeueCause.DESTINATION_MISSING), id="waits"),
        pytest.param(3600 + 300, Requeue(1.0, RequeueCause.DESTINATION_MISSING),
                     id="waits-between-the-max-age-and-the-wait"),
        pytest.param(3600 + 600 + 1, GiveUp(), id="gives-up-after-the-wait"),
    ],
)  # fmt: skip
def test_failure_goes_to_on_failure_with_what_to_do_when_missing(
    age: float, on_missing: object
) -> None:
    decision = after_invoke(offer(age=age, invocations=2), ROUTED, Answered(ERROR), WAIT)
    assert isinstance(decision, Finish)
    assert decision.final.condition is RecordCondition.RETRIES_EXHAUSTED
    assert decision.destination == SINK
    assert decision.on_missing == on_missing
    assert decision.progress == Progress(3, decision.final)


def test_the_missing_destination_wait_counts_from_the_functions_max_age() -> None:
    # The event's own max age (21600) is not the one: the Function's (3600) is.
    decision = after_invoke(offer(age=4300, invocations=2), ROUTED, Answered(ERROR), WAIT)
    assert isinstance(decision, Finish)
    assert decision.on_missing == GiveUp()


def test_a_decided_outcome_is_delivered_again_to_its_destination() -> None:
    failed = after_invoke(offer(invocations=2), ROUTED, Answered(ERROR), WAIT)
    assert isinstance(failed, Finish)
    again = before_invoke(offer(final=failed.final, deliveries=2), ROUTED, WAIT, arn=ARN)
    # The second offer: the back-off has doubled.
    assert again == Finish(failed.final, saved=True, destination=SINK,
                           on_missing=Requeue(2.0, RequeueCause.DESTINATION_MISSING))  # fmt: skip


@pytest.mark.parametrize(
    ("the_offer", "policy", "destination"),
    [
        pytest.param(offer(age=3601), ROUTED, SINK, id="expired-goes-to-on-failure"),
        pytest.param(offer(), Policy(ARN, AsyncConfig(on_failure=SINK), reserved=0), SINK,
                     id="reserved-zero-goes-to-on-failure"),
        pytest.param(offer(age=99_999), None, None, id="a-gone-function-has-no-destination"),
        pytest.param(offer(final=DONE), None, None, id="nor-for-a-decided-outcome"),
    ],
)  # fmt: skip
def test_failures_before_invoking_are_routed(
    the_offer: Offer, policy: Policy | None, destination: Destination | None
) -> None:
    decision = before_invoke(the_offer, policy, WAIT, arn=ARN)
    assert isinstance(decision, Finish)
    assert decision.destination == destination
    assert decision.progress.invocations == the_offer.progress.invocations
