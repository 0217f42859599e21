"""The failed-invocation back-off, the throttled requeue and the timer's nak delay."""

import pytest

from kappa.durable.timing import (
    GiveUp,
    InvokeAgain,
    after_failed_invocation,
    nak_delay_ms,
    throttled_delay_ms,
)

NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("failed", "attempts", "expected"),
    [
        pytest.param(1, 5, InvokeAgain(NOW + 5_000), id="first-5s"),
        pytest.param(2, 5, InvokeAgain(NOW + 10_000), id="second-10s"),
        pytest.param(4, 5, InvokeAgain(NOW + 40_000), id="fourth-40s"),
        pytest.param(5, 5, GiveUp(), id="fifth-gives-up"),
        pytest.param(6, 5, GiveUp(), id="past-the-limit"),
        pytest.param(1, 1, GiveUp(), id="one-attempt"),
        pytest.param(7, 100, InvokeAgain(NOW + 300_000), id="capped-5min"),
        pytest.param(10_000, 20_000, InvokeAgain(NOW + 300_000), id="huge-count-capped"),
    ],
)
def test_failed_invocation(failed: int, attempts: int, expected: object) -> None:
    assert after_failed_invocation(failed, NOW, attempts) == expected


def test_failed_invocation_default_attempts_are_five() -> None:
    assert after_failed_invocation(4, NOW) == InvokeAgain(NOW + 40_000)
    assert after_failed_invocation(5, NOW) == GiveUp()


@pytest.mark.parametrize(
    ("failed", "attempts", "message"),
    [
        pytest.param(0, 5, "a back-off counts from 1, not 0", id="zero-failures"),
        pytest.param(1, 0, "attempts must be at least 1, not 0", id="zero-attempts"),
    ],
)
def test_failed_invocation_refuses_nonsense(failed: int, attempts: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        after_failed_invocation(failed, NOW, attempts)


@pytest.mark.parametrize(
    ("requeues", "delay"),
    [
        pytest.param(1, 1_000, id="1s"),
        pytest.param(2, 2_000, id="2s"),
        pytest.param(9, 256_000, id="256s"),
        pytest.param(10, 300_000, id="capped"),
        pytest.param(1_000_000, 300_000, id="huge-capped"),
    ],
)
def test_throttled_requeue(requeues: int, delay: int) -> None:
    assert throttled_delay_ms(requeues) == delay


@pytest.mark.parametrize(
    ("due", "delay"),
    [
        pytest.param(NOW + 30_000, 30_000, id="due-later"),
        pytest.param(NOW, 0, id="due-now"),
        pytest.param(NOW - 5_000, 0, id="overdue"),
        pytest.param(NOW + 3_600_000, 3_600_000, id="one-hour"),
        pytest.param(NOW + 86_400_000, 3_600_000, id="a-day-capped"),
    ],
)
def test_nak_delay(due: int, delay: int) -> None:
    assert nak_delay_ms(due, NOW) == delay
