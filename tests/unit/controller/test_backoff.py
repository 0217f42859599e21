import pytest

from kappa.controller.backoff import CAP_SECONDS, retry_delay


@pytest.mark.parametrize(
    ("failures", "delay"),
    [
        pytest.param(1, 0.5, id="first"),
        pytest.param(2, 1.0, id="doubles"),
        pytest.param(3, 2.0, id="doubles-again"),
        pytest.param(7, 32.0, id="last-below-cap"),
        pytest.param(8, CAP_SECONDS, id="capped"),
        pytest.param(10_000, CAP_SECONDS, id="long-streak-no-overflow"),
    ],
)
def test_retry_delay_doubles_up_to_the_cap(failures: int, delay: float) -> None:
    assert retry_delay(failures) == delay


def test_retry_delay_needs_a_failure() -> None:
    with pytest.raises(ValueError, match="at least one failure"):
        retry_delay(0)
