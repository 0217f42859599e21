import pytest

from kappa.eventsources.dead_letter import failure_headers
from kappa.eventsources.source import Failure, FailureCondition, Record

RECORD = Record(id="orders-0:15", key="orders-0", body=b"x", timestamp_ms=1)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        pytest.param(
            Failure(FailureCondition.RETRIES_EXHAUSTED, "Unhandled", None, 3, "req-1", 99),
            {
                "kappa-failure-condition": "RetryAttemptsExhausted",
                "kappa-approximate-invoke-count": "3",
                "kappa-failed-at": "99",
                "kappa-source-record": "orders-0:15",
                "kappa-function-error": "Unhandled",
                "kappa-request-id": "req-1",
            },
            id="function-error",
        ),
        pytest.param(
            Failure(FailureCondition.RECORD_AGE_EXCEEDED, None, None, 0, None, 5),
            {
                "kappa-failure-condition": "MaximumRecordAgeExceeded",
                "kappa-approximate-invoke-count": "0",
                "kappa-failed-at": "5",
                "kappa-source-record": "orders-0:15",
            },
            id="too-old-never-invoked",
        ),
    ],
)
def test_failure_headers(failure: Failure, expected: dict[str, str]) -> None:
    assert failure_headers(RECORD, failure) == expected
