import json

import pytest

from kappa.eventsources.outcome import (
    InvokeResult,
    RetryPolicy,
    Verdict,
    halves,
    item_failures,
    judge,
    settle,
)
from kappa.eventsources.source import FailureCondition
from tests.unit.eventsources.records import ids, record

BATCH = [record(1, "a"), record(2, "b"), record(3, "a"), record(4, "b")]


def _ok(payload: object = None) -> InvokeResult:
    return InvokeResult(200, b"" if payload is None else json.dumps(payload).encode())


def _failures(*names: object) -> InvokeResult:
    return _ok({"batchItemFailures": [{"itemIdentifier": n} for n in names]})


@pytest.mark.parametrize(
    ("result", "reports", "verdict", "succeeded", "failed"),
    [
        pytest.param(_ok({"ok": 1}), False, Verdict.SUCCESS, 4, 0, id="success"),
        pytest.param(_failures("m1"), False, Verdict.SUCCESS, 4, 0, id="failures-ignored-unasked"),
        pytest.param(_ok(), True, Verdict.SUCCESS, 4, 0, id="empty-body"),
        pytest.param(_ok(None), True, Verdict.SUCCESS, 4, 0, id="null"),
        pytest.param(InvokeResult(200, b"null"), True, Verdict.SUCCESS, 4, 0, id="json-null"),
        pytest.param(_ok([1, 2]), True, Verdict.SUCCESS, 4, 0, id="not-an-object"),
        pytest.param(_ok({"other": 1}), True, Verdict.SUCCESS, 4, 0, id="no-key"),
        pytest.param(_ok({"batchItemFailures": None}), True, Verdict.SUCCESS, 4, 0, id="key-null"),
        pytest.param(_failures(), True, Verdict.SUCCESS, 4, 0, id="empty-list"),
        pytest.param(_failures("m2"), True, Verdict.PARTIAL, 3, 1, id="one-failed"),
        pytest.param(_failures("m2", "m4"), True, Verdict.PARTIAL, 2, 2, id="two-failed"),
        pytest.param(_failures("m9"), True, Verdict.FUNCTION_ERROR, 0, 4, id="unknown-id"),
        pytest.param(_failures(""), True, Verdict.FUNCTION_ERROR, 0, 4, id="empty-id"),
        pytest.param(_failures(None), True, Verdict.FUNCTION_ERROR, 0, 4, id="null-id"),
        pytest.param(
            _ok({"batchItemFailures": [{"id": "m1"}]}),
            True,
            Verdict.FUNCTION_ERROR,
            0,
            4,
            id="wrong-key",
        ),
        pytest.param(
            _ok({"batchItemFailures": ["m1"]}), True, Verdict.FUNCTION_ERROR, 0, 4, id="bare-id"
        ),
        pytest.param(
            _ok({"batchItemFailures": "m1"}), True, Verdict.FUNCTION_ERROR, 0, 4, id="not-a-list"
        ),
        pytest.param(
            InvokeResult(200, b"{nope"), True, Verdict.FUNCTION_ERROR, 0, 4, id="invalid-json"
        ),
        pytest.param(
            InvokeResult(200, b"{}", function_error="Unhandled"),
            True,
            Verdict.FUNCTION_ERROR,
            0,
            4,
            id="function-error",
        ),
        pytest.param(InvokeResult(413), False, Verdict.TOO_LARGE, 0, 0, id="too-large"),
    ],
)
def test_judge_unordered(
    result: InvokeResult, *, reports: bool, verdict: Verdict, succeeded: int, failed: int
) -> None:
    outcome = judge(BATCH, result, reports_item_failures=reports, ordered=False)
    assert outcome.verdict is verdict
    assert (len(outcome.succeeded), len(outcome.failed)) == (succeeded, failed)
    assert outcome.released == ()


@pytest.mark.parametrize(
    ("result", "detail"),
    [
        pytest.param(InvokeResult(429, error_type="TooManyRequestsException"), "TooMany", id="429"),
        pytest.param(
            InvokeResult(404, error_type="ResourceNotFoundException"), "NotFound", id="404"
        ),
        pytest.param(InvokeResult(502), "HTTP 502", id="502"),
        pytest.param(InvokeResult(0), "no answer", id="no-answer"),
    ],
)
def test_not_invoked_releases_everything_without_an_attempt(
    result: InvokeResult, detail: str
) -> None:
    outcome = judge(BATCH, result, reports_item_failures=True, ordered=False)
    assert outcome.verdict is Verdict.NOT_INVOKED
    assert ids(outcome.released) == ids(BATCH)
    assert outcome.failed == ()
    assert detail in outcome.detail


def test_ordered_checkpoint_is_the_lowest_failed_per_key() -> None:
    batch = [record(1, "a"), record(2, "a"), record(3, "b"), record(4, "a"), record(5, "b")]
    outcome = judge(batch, _failures("m4", "m2"), reports_item_failures=True, ordered=True)
    assert ids(outcome.succeeded) == ["m1", "m3", "m5"]
    assert ids(outcome.failed) == ["m2"]
    assert ids(outcome.released) == ["m4"]


def test_ordered_records_after_a_failure_of_their_key_are_released() -> None:
    batch = [record(1, "a"), record(2, "a"), record(3, "a")]
    outcome = judge(batch, _failures("m1"), reports_item_failures=True, ordered=True)
    assert ids(outcome.failed) == ["m1"]
    assert ids(outcome.released) == ["m2", "m3"]
    assert outcome.succeeded == ()


def test_numeric_identifiers_name_stream_records() -> None:
    assert item_failures(b'{"batchItemFailures": [{"itemIdentifier": 7}]}', {"7"}) == {"7"}


@pytest.mark.parametrize(
    ("policy", "attempts", "age_ms", "outcome"),
    [
        pytest.param(RetryPolicy(), 50, 10**9, "retry", id="no-limits"),
        pytest.param(RetryPolicy(maximum_retry_attempts=0), 1, 0, "exhausted", id="zero-retries"),
        pytest.param(RetryPolicy(maximum_retry_attempts=2), 2, 0, "retry", id="second-try"),
        pytest.param(RetryPolicy(maximum_retry_attempts=2), 3, 0, "exhausted", id="third-try"),
        pytest.param(
            RetryPolicy(maximum_record_age_seconds=60), 1, 60_000, "retry", id="age-at-limit"
        ),
        pytest.param(
            RetryPolicy(maximum_record_age_seconds=60), 1, 60_001, "expired", id="age-past-limit"
        ),
        pytest.param(
            RetryPolicy(maximum_retry_attempts=0, maximum_record_age_seconds=60),
            1,
            60_001,
            "expired",
            id="age-wins",
        ),
    ],
)
def test_settle(policy: RetryPolicy, attempts: int, age_ms: int, outcome: str) -> None:
    failed = [record(1, timestamp_ms=1_000)]
    settlement = settle(failed, {"m1": attempts}, policy, now_ms=1_000 + age_ms)
    expected = {
        "retry": ((failed[0],), {}),
        "exhausted": ((), {FailureCondition.RETRIES_EXHAUSTED: (failed[0],)}),
        "expired": ((), {FailureCondition.RECORD_AGE_EXCEEDED: (failed[0],)}),
    }[outcome]
    assert (settlement.retry, dict(settlement.dead)) == expected


def test_settle_falls_back_on_the_brokers_delivery_count() -> None:
    failed = [record(1, attempt=4)]
    settlement = settle(failed, {}, RetryPolicy(maximum_retry_attempts=3), now_ms=0)
    assert settlement.dead[FailureCondition.RETRIES_EXHAUSTED] == (failed[0],)


@pytest.mark.parametrize("size", [2, 3, 7, 10])
def test_halves_keep_order_and_every_record(size: int) -> None:
    batch = [record(i) for i in range(size)]
    first, second = halves(batch)
    assert [*first, *second] == batch
    assert len(first) - len(second) in {0, 1}


@pytest.mark.parametrize(
    ("result", "reports", "ordered", "detail"),
    [
        pytest.param(InvokeResult(413), True, False, "PROBLEM: Payload too large", id="too-large"),
        pytest.param(InvokeResult(0), True, False, "PROBLEM: Function call failed: no answer",
                     id="no-answer"),
        pytest.param(InvokeResult(502), True, False, "PROBLEM: Function call failed: HTTP 502",
                     id="http-error"),
        pytest.param(InvokeResult(200, b"{}", function_error="Unhandled"), True, False,
                     "PROBLEM: Function error: Unhandled", id="function-error"),
        pytest.param(_ok({"ok": 1}), False, False, "OK", id="success"),
        pytest.param(_failures(), True, False, "OK", id="no-item-failed"),
        pytest.param(_failures("m9"), True, False, "PROBLEM: Malformed batchItemFailures",
                     id="malformed"),
        pytest.param(_failures("m2", "m4"), True, False, "PROBLEM: 2 of 4 records failed",
                     id="partial"),
        pytest.param(_failures("m1"), True, True, "PROBLEM: 2 of 4 records failed",
                     id="partial-ordered-counts-the-released"),
    ],
)  # fmt: skip
def test_each_verdict_says_what_happened(
    result: InvokeResult, *, reports: bool, ordered: bool, detail: str
) -> None:
    outcome = judge(BATCH, result, reports_item_failures=reports, ordered=ordered)
    assert outcome.detail == detail


def test_a_partial_failure_is_partial_ordered_or_not() -> None:
    for ordered in (False, True):
        outcome = judge(BATCH, _failures("m2"), reports_item_failures=True, ordered=ordered)
        assert outcome.verdict is Verdict.PARTIAL


@pytest.mark.parametrize(
    ("identifier", "ids_", "expected"),
    [
        pytest.param(7.0, {"7.0", "7"}, None, id="a-float-is-not-a-sequence-number"),
        pytest.param(True, {"True", "1"}, None, id="a-boolean-is-not-a-sequence-number"),
        pytest.param(7, {"7"}, frozenset({"7"}), id="an-integer-is"),
    ],
)
def test_only_strings_and_integers_name_records(
    identifier: object, ids_: set[str], expected: frozenset[str] | None
) -> None:
    payload = json.dumps({"batchItemFailures": [{"itemIdentifier": identifier}]}).encode()
    assert item_failures(payload, ids_) == expected


def test_a_max_record_age_of_zero_expires_any_older_record() -> None:
    failed = [record(1, timestamp_ms=1_000)]
    settlement = settle(failed, {}, RetryPolicy(maximum_record_age_seconds=0), now_ms=1_001)
    assert settlement.dead == {FailureCondition.RECORD_AGE_EXCEEDED: (failed[0],)}
