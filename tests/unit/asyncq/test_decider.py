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
from kappa.asyncq.envelope import DeadLetter, Event
from kappa.asyncq.progress import Final, Progress
from kappa.asyncq.record import RecordCondition, Response, invocation_record
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


GONE_ARN = "arn:aws:lambda:us-east-1:ns:function:gone"
NO_SUCH_FUNCTION = "The function does not exist (deleted after the event was accepted)."
TOO_OLD = "The event is older than the function's maximumEventAgeSeconds."
RESERVED_ZERO = "The function's reserved concurrency is 0: every invocation is throttled."


@pytest.mark.parametrize(
    ("the_offer", "policy", "arn", "condition", "why"),
    [
        pytest.param(offer(age=3601), POLICY, ARN, RecordCondition.EVENT_AGE_EXCEEDED,
                     DeadLetter("EventAgeExceeded", "429", TOO_OLD, 0, 1_000_000 + 3_601_000),
                     id="too-old"),
        pytest.param(offer(age=3600.001), POLICY, ARN, RecordCondition.EVENT_AGE_EXCEEDED,
                     DeadLetter("EventAgeExceeded", "429", TOO_OLD, 0, 1_000_000 + 3_600_001),
                     id="a-millisecond-too-old"),
        pytest.param(offer(age=4000, invocations=1), POLICY, ARN,
                     RecordCondition.EVENT_AGE_EXCEEDED,
                     DeadLetter("EventAgeExceeded", "429", TOO_OLD, 1, 1_000_000 + 4_000_000),
                     id="expired-between-retries-counts-the-invocation"),
        pytest.param(offer(age=61, max_age=60), None, GONE_ARN, RecordCondition.EVENT_AGE_EXCEEDED,
                     DeadLetter("EventAgeExceeded", "404", NO_SUCH_FUNCTION, 0, 1_061_000),
                     id="function-gone-too-long"),
        pytest.param(offer(invocations=1), Policy(ARN, reserved=0), ARN,
                     RecordCondition.RETRIES_EXHAUSTED,
                     DeadLetter("RetriesExhausted", "429", RESERVED_ZERO, 1, 1_000_000),
                     id="reserved-zero-straight-to-failure"),
    ],
)  # fmt: skip
def test_a_failure_before_invoking_records_the_event_and_why(
    the_offer: Offer, policy: Policy | None, arn: str, condition: RecordCondition, why: DeadLetter
) -> None:
    decision = before_invoke(the_offer, policy, BACKOFF, arn=GONE_ARN)
    assert isinstance(decision, Finish)
    assert decision.final == Final(
        condition,
        invocation_record(
            request_id="id-1", function_arn=arn, condition=condition,
            invoke_count=why.invoke_count, payload=b'{"x": 1}', response=None,
            now_ms=the_offer.now_ms,
        ),
        why,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("invocations", "answer", "condition", "why"),
    [
        pytest.param(0, OK, RecordCondition.SUCCESS, None, id="success"),
        pytest.param(2, ERROR, RecordCondition.RETRIES_EXHAUSTED,
                     DeadLetter("RetriesExhausted", "200", "ValueError: bad", 3, 1_005_000),
                     id="exhausted"),
    ],
)  # fmt: skip
def test_a_finished_event_records_the_event_and_the_last_answer(
    invocations: int, answer: Response, condition: RecordCondition, why: DeadLetter | None
) -> None:
    decision = after_invoke(
        offer(age=5, invocations=invocations), POLICY, Answered(answer), BACKOFF
    )
    assert isinstance(decision, Finish)
    assert decision.final == Final(
        condition,
        invocation_record(
            request_id="id-1", function_arn=ARN, condition=condition,
            invoke_count=invocations + 1, payload=b'{"x": 1}', response=answer, now_ms=1_005_000,
        ),
        why,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b'{"errorType": "KeyError", "errorMessage": "k"}', "KeyError: k", id="both"),
        pytest.param(b'{"errorMessage": "k"}', "Error: k", id="no-type-says-error"),
        pytest.param(b'{"errorType": "KeyError"}', "KeyError: ", id="no-message-is-empty"),
        pytest.param(b"plain text", "plain text", id="not-json-is-the-body"),
        pytest.param(b"[1, 2]", "[1, 2]", id="json-but-not-an-object-is-the-body"),
        pytest.param(b"\xff bad", "\ufffd bad", id="bytes-that-are-not-utf8-are-replaced"),
        pytest.param(b"x" * 1025, "x" * 1024, id="a-long-body-is-cut-to-1024-bytes"),
        pytest.param("é".encode() * 600, "é" * 512, id="the-cut-counts-bytes-not-characters"),
    ],
)  # fmt: skip
def test_the_dead_letters_message_comes_from_the_error(body: bytes, message: str) -> None:
    answer = Response(body, "Unhandled")
    decision = after_invoke(offer(invocations=2), POLICY, Answered(answer), BACKOFF)
    assert isinstance(decision, Finish)
    assert decision.final.dead_letter is not None
    assert decision.final.dead_letter.error_message == message


def test_a_retry_at_the_max_age_is_not_delayed() -> None:
    decision = after_invoke(offer(age=3600), POLICY, Answered(ERROR), BACKOFF)
    assert decision == Retry(0.0, Progress(1))


def test_a_requeue_past_the_max_age_waits_a_tenth_of_a_second() -> None:
    decision = after_invoke(offer(age=3700, deliveries=5), POLICY, Throttled("x"), BACKOFF)
    assert decision == Requeue(pytest.approx(0.1), RequeueCause.THROTTLED)


def test_a_success_waits_for_a_missing_on_success_function() -> None:
    policy = Policy(ARN, AsyncConfig(maximum_event_age_seconds=3600, on_success=SINK))
    decision = after_invoke(offer(deliveries=3), policy, Answered(OK), WAIT)
    assert isinstance(decision, Finish)
    assert decision.destination == SINK
    assert decision.on_missing == Requeue(4.0, RequeueCause.DESTINATION_MISSING)


@pytest.mark.parametrize(
    ("policy", "answer", "to_save"),
    [
        # Nothing to deliver again: a redelivery may run it again, as after a crash.
        pytest.param(POLICY, Answered(OK), False, id="bare-success-is-only-acked"),
        pytest.param(ROUTED, Answered(OK), True, id="success-with-a-destination-is-saved"),
        pytest.param(POLICY, Answered(ERROR), True, id="a-dead-letter-is-saved"),
    ],
)  # fmt: skip
def test_only_outcomes_with_something_to_deliver_again_are_saved(
    policy: Policy, answer: Answered, to_save: bool,  # noqa: FBT001 - a table column
) -> None:  # fmt: skip
    decision = after_invoke(offer(invocations=2), policy, answer, WAIT)
    assert isinstance(decision, Finish)
    assert decision.to_save is to_save


def test_a_saved_outcome_is_not_saved_again() -> None:
    again = before_invoke(offer(final=DONE), ROUTED, WAIT, arn=ARN)
    assert isinstance(again, Finish)
    assert again.saved
    assert not again.to_save
