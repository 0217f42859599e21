import pytest

from kappa.tracing.sampling import sampled

LOW = "5f3c2a1b01234567" + "0" * 16  # the last 64 bits: 0
HALF = "5f3c2a1b01234567" + "8" + "0" * 15  # exactly half the space
HIGH = "5f3c2a1b01234567" + "f" * 16


@pytest.mark.parametrize("ratio", [0.0, 0.5, 1.0])
def test_a_callers_decision_is_followed(ratio: float) -> None:
    assert sampled(HIGH, ratio, parent=True) is True
    assert sampled(LOW, ratio, parent=False) is False


@pytest.mark.parametrize(
    ("ratio", "trace", "expected"),
    [
        pytest.param(0.0, LOW, False, id="zero-never"),
        pytest.param(-1.0, LOW, False, id="below-zero-never"),
        pytest.param(1.0, HIGH, True, id="one-always"),
        pytest.param(2.0, HIGH, True, id="above-one-always"),
        pytest.param(0.5, LOW, True, id="half-low"),
        pytest.param(0.5, HALF, False, id="half-at-the-boundary"),
        pytest.param(0.5, "5f3c2a1b01234567" + "7" + "f" * 15, True, id="half-just-below"),
        pytest.param(0.5, HIGH, False, id="half-high"),
        pytest.param(1e-300, LOW, True, id="tiny-ratio-lowest-id"),
        pytest.param(1e-300, "5f3c2a1b01234567" + "0" * 15 + "1", False, id="tiny-ratio-next-id"),
    ],
)
def test_undecided_traces_take_the_ratio_of_their_last_64_bits(
    ratio: float, trace: str, *, expected: bool
) -> None:
    assert sampled(trace, ratio, parent=None) is expected


def test_the_timestamp_half_does_not_decide() -> None:
    assert sampled("f" * 16 + "0" * 16, 0.5, parent=None) is True
    assert sampled("0" * 16 + "f" * 16, 0.5, parent=None) is False
