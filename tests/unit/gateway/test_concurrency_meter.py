import pytest

from kappa.autoscaler.stats import Sample
from kappa.gateway.concurrency_meter import ConcurrencyMeter

A = ("ns", "a")
B = ("ns", "b")


def test_average_is_time_weighted_and_peak_kept() -> None:
    meter = ConcurrencyMeter()
    meter.set(A, in_flight=0, queued=0, now=0.0)
    meter.set(A, in_flight=2, queued=1, now=0.5)  # two running from 0.5 s
    meter.set(A, in_flight=1, queued=0, now=0.75)
    sample = meter.snapshot(1.0, {A: {"a-1": 1}})[A]
    assert sample.in_flight == pytest.approx(2 * 0.25 + 1 * 0.25)
    assert (sample.peak, sample.queued, dict(sample.pods)) == (2, 0, {"a-1": 1})


def test_a_new_period_starts_at_each_snapshot() -> None:
    meter = ConcurrencyMeter()
    meter.set(A, in_flight=1, queued=0, now=0.0)
    meter.snapshot(1.0)
    meter.set(A, in_flight=0, queued=0, now=1.5)
    sample = meter.snapshot(2.0)[A]
    assert sample.in_flight == pytest.approx(0.5)
    assert sample.peak == 1  # what ran when the period began counts
    assert meter.snapshot(3.0) == {}  # idle, and forgotten


def test_a_short_call_between_snapshots_still_shows() -> None:
    meter = ConcurrencyMeter()
    meter.snapshot(0.0)
    meter.set(B, in_flight=1, queued=0, now=0.2)
    meter.set(B, in_flight=0, queued=0, now=0.25)
    sample = meter.snapshot(1.0)[B]
    assert sample.peak == 1
    assert sample.in_flight == pytest.approx(0.05)


def test_current_counts() -> None:
    meter = ConcurrencyMeter()
    assert meter.current(A) == Sample()
    meter.set(A, in_flight=3, queued=2, now=0.0)
    assert meter.current(A) == Sample(3, 3, 2)
