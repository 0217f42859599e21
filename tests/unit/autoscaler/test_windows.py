import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.autoscaler.windows import Window, Windows


@pytest.mark.parametrize(
    ("samples", "at", "expected"),
    [
        pytest.param([], 10.0, 0.0, id="no-samples"),
        pytest.param([(10.0, 4.0)], 10.5, 4.0, id="first-second-not-diluted"),
        pytest.param([(10.0, 4.0)], 13.0, 1.0, id="silent-seconds-count-as-zero"),
        pytest.param([(10.0, 2.0), (10.5, 4.0)], 10.9, 3.0, id="samples-in-a-second-averaged"),
        pytest.param([(0.0, 6.0)] + [(float(t), 0.0) for t in range(1, 6)], 5.0, 1.0,
                     id="full-window"),
        pytest.param([(0.0, 6.0), (6.0, 0.0)], 6.0, 0.0, id="old-buckets-leave"),
        pytest.param([(10.0, 5.0), (9.0, 100.0)], 10.0, 5.0, id="a-sample-from-the-past-dropped"),
    ],
)  # fmt: skip
def test_window_average(samples: list[tuple[float, float]], at: float, expected: float) -> None:
    window = Window(6.0)
    for when, value in samples:
        window.add(when, value)
    assert window.average(at) == pytest.approx(expected)


@given(st.lists(st.tuples(st.integers(0, 300), st.floats(0, 1000)), max_size=200))
def test_window_matches_a_plain_mean(samples: list[tuple[int, float]]) -> None:
    window = Window(60.0)
    by_second: dict[int, list[float]] = {}
    clock = 0
    for step, value in samples:
        clock += step % 7
        window.add(float(clock), value)
        by_second.setdefault(clock, []).append(value)
    if not by_second:
        return
    first = min(by_second)
    seconds = [s for s in by_second if s > clock - 60]
    span = min(60, clock - first + 1)
    expected = sum(sum(by_second[s]) / len(by_second[s]) for s in seconds) / span
    assert window.average(float(clock)) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_windows_keep_stable_and_panic() -> None:
    windows = Windows()
    for second in range(60):
        windows.add(float(second), 10.0 if second >= 54 else 0.0)
    stable, panic = windows.averages(59.0)
    assert panic == pytest.approx(10.0)
    assert stable == pytest.approx(1.0)
    assert not windows.stable.empty


def test_a_window_read_before_its_first_sample_is_zero() -> None:
    window = Window(6.0)
    window.add(100.0, 3.0)
    assert window.average(99.5) == 0.0  # a clock a little behind the first sample's


def test_a_window_whose_samples_all_left_is_empty_and_zero() -> None:
    window = Window(6.0)
    window.add(100.0, 0.1)
    window.add(101.0, 0.2)
    assert window.average(200.0) == 0.0
    assert window.empty
