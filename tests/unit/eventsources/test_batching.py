import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.eventsources.batching import LONG_POLL_SECONDS, BatchPolicy, encoded_size, split
from tests.unit.eventsources.records import record


@pytest.mark.parametrize(
    ("policy", "count", "started", "now", "ready"),
    [
        pytest.param(BatchPolicy(10), 0, None, 0.0, False, id="nothing"),
        pytest.param(BatchPolicy(10), 3, 0.0, 0.0, True, id="no-window-any-records"),
        pytest.param(BatchPolicy(10, 5.0), 3, 0.0, 4.9, False, id="window-open"),
        pytest.param(BatchPolicy(10, 5.0), 3, 0.0, 5.0, True, id="window-over"),
        pytest.param(BatchPolicy(3, 5.0), 3, 0.0, 0.0, True, id="batch-full"),
        pytest.param(
            BatchPolicy(10, 5.0, payload_limit=2 * encoded_size(record(0))),
            2,
            0.0,
            0.0,
            True,
            id="payload-full",
        ),
    ],
)
def test_ready(
    policy: BatchPolicy, count: int, started: float | None, now: float, *, ready: bool
) -> None:
    records = [record(i) for i in range(count)]
    assert policy.ready(records, started, now) is ready


def test_wait_is_a_long_poll_then_the_rest_of_the_window() -> None:
    policy = BatchPolicy(10, 5.0)
    assert policy.wait_seconds(None, 100.0) == LONG_POLL_SECONDS
    assert policy.wait_seconds(100.0, 102.0) == 3.0
    assert policy.wait_seconds(100.0, 106.0) == 0.0


@given(st.lists(st.integers(0, 5000), max_size=40), st.integers(2000, 20_000))
def test_split_keeps_order_and_fits_the_limit(sizes: list[int], limit: int) -> None:
    records = [record(i, size=s) for i, s in enumerate(sizes)]
    batches = split(records, limit)
    assert [r for b in batches for r in b] == records
    for batch in batches:
        assert len(batch) == 1 or sum(encoded_size(r) for r in batch) <= limit
