import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.asyncq.schedule import Backoff, requeue_delay, retry_delay

LAMBDA = Backoff()


@pytest.mark.parametrize(
    ("retry", "delay"),
    [
        pytest.param(1, 60.0, id="first-retry-about-a-minute"),
        pytest.param(2, 120.0, id="second-retry-about-two-minutes"),
        pytest.param(3, 120.0, id="past-the-table-the-last-repeats"),
    ],
)
def test_retry_delays_follow_lambda(retry: int, delay: float) -> None:
    assert retry_delay(retry, LAMBDA) == delay


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        retry_delay(0, LAMBDA)


@pytest.mark.parametrize(
    ("requeues", "delay"),
    [
        pytest.param(0, 1.0, id="first-throttle-1s"),
        pytest.param(1, 2.0, id="doubles"),
        pytest.param(8, 256.0, id="eighth"),
        pytest.param(9, 300.0, id="capped-at-5-minutes"),
        pytest.param(10_000, 300.0, id="huge-count-stays-capped"),
    ],
)
def test_requeue_delay_doubles_from_1s_to_5min(requeues: int, delay: float) -> None:
    assert requeue_delay(requeues, LAMBDA) == delay


@given(st.integers(min_value=0, max_value=10**6))
def test_requeue_delay_is_monotonic_and_bounded(requeues: int) -> None:
    now, then = requeue_delay(requeues, LAMBDA), requeue_delay(requeues + 1, LAMBDA)
    assert LAMBDA.requeue_first <= now <= then <= LAMBDA.requeue_cap
