"""When a Function's next unprompted pass is due: the earliest of what its last pass left."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.controller.next_pass import (
    EXPECTATION_TTL,
    LOAD_REFRESH,
    RESYNC_SPREAD,
    RETRY,
    Cause,
    Due,
    Left,
    next_pass,
    spread,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
KEY = ("team-a", "fn")
RESYNC = timedelta(minutes=10)
AT_REST = NOW + spread(RESYNC, KEY)


@pytest.mark.parametrize(
    ("left", "due"),
    [
        pytest.param(Left(), Due(AT_REST, Cause.RESYNC), id="at-rest-resync"),
        pytest.param(Left(refused=True), Due(NOW + RETRY, Cause.RETRY), id="refused-write"),
        pytest.param(
            Left(backoff_end=NOW + timedelta(seconds=80)),
            Due(NOW + timedelta(seconds=80), Cause.INIT_BACKOFF),
            id="init-backoff-ends",
        ),
        pytest.param(
            Left(backoff_end=NOW + timedelta(minutes=30)),
            Due(AT_REST, Cause.RESYNC),
            id="backoff-beyond-the-resync",
        ),
        pytest.param(
            Left(unseen_since=(NOW - timedelta(seconds=20), NOW - timedelta(seconds=50))),
            Due(NOW - timedelta(seconds=50) + EXPECTATION_TTL, Cause.UNSEEN_POD),
            id="unseen-pod-the-oldest-first",
        ),
        pytest.param(
            Left(unseen_since=(NOW - timedelta(minutes=5),)),
            Due(NOW, Cause.UNSEEN_POD),
            id="overdue-is-now-not-the-past",
        ),
        pytest.param(
            Left(publish_failures=1),
            Due(NOW + timedelta(seconds=0.5), Cause.PUBLISH_RETRY),
            id="publish-first-retry",
        ),
        pytest.param(
            Left(publish_failures=20),
            Due(NOW + timedelta(seconds=60), Cause.PUBLISH_RETRY),
            id="publish-retry-capped",
        ),
        pytest.param(Left(load=True), Due(NOW + LOAD_REFRESH, Cause.LOAD), id="load"),
        pytest.param(
            Left(refused=True, load=True, backoff_end=NOW + timedelta(seconds=3)),
            Due(NOW + timedelta(seconds=3), Cause.INIT_BACKOFF),
            id="earliest-wins",
        ),
    ],
)
def test_next_pass(left: Left, due: Due) -> None:
    assert next_pass(NOW, left, key=KEY, resync=RESYNC) == due


def test_a_short_resync_wins_over_a_later_refresh() -> None:
    short = timedelta(seconds=10)
    due = next_pass(NOW, Left(load=True), key=KEY, resync=short)
    assert due == Due(NOW + spread(short, KEY), Cause.RESYNC)


@given(
    namespace=st.text(min_size=1, max_size=20),
    name=st.text(min_size=1, max_size=40),
    seconds=st.floats(min_value=10, max_value=86400),
)
def test_the_spread_stays_within_its_share_and_is_stable(
    namespace: str, name: str, seconds: float
) -> None:
    resync = timedelta(seconds=seconds)
    moved = spread(resync, (namespace, name))
    assert resync * (1 - RESYNC_SPREAD) <= moved < resync * (1 + RESYNC_SPREAD)
    assert spread(resync, (namespace, name)) == moved


def test_the_resyncs_of_many_functions_spread_over_the_window() -> None:
    """10,000 Functions that passed in the same second resync over the whole ±10 % window,
    about evenly: no second of it gets more than a few times its share."""
    keys = [("bench", f"fn-{i:05d}") for i in range(10_000)]
    seconds = [int(spread(RESYNC, key).total_seconds()) for key in keys]
    window = range(540, 660)  # 600 s ± 60
    per_second = [seconds.count(s) for s in window]
    assert set(seconds) <= set(window)
    share = len(keys) / len(window)  # about 83
    assert min(per_second) > share / 3
    assert max(per_second) < share * 2
