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


@pytest.mark.parametrize(
    ("policy", "started", "now", "ready"),
    [
        pytest.param(BatchPolicy(10, 5.0), None, 0.0, True, id="no-start-time-is-ready"),
        pytest.param(BatchPolicy(10, 0.5), 0.0, 0.2, False, id="a-window-under-a-second-waits"),
        pytest.param(BatchPolicy(10, 5.0), 100.0, 102.0, False, id="counted-from-the-start"),
        pytest.param(BatchPolicy(10, 5.0), 100.0, 105.0, True, id="over-from-the-start"),
    ],
)
def test_the_window_counts_from_the_first_record(
    policy: BatchPolicy, started: float | None, now: float, *, ready: bool
) -> None:
    assert policy.ready([record(1)], started, now) is ready


@pytest.mark.parametrize(
    ("size", "encoded"),
    [
        pytest.param(0, 1024, id="empty-is-the-envelope"),
        pytest.param(1, 1028, id="one-byte-is-four-in-base64"),
        pytest.param(3, 1028, id="three-bytes-too"),
        pytest.param(4, 1032, id="four-bytes-are-eight"),
        pytest.param(3000, 5024, id="three-thousand-are-four-thousand"),
    ],
)
def test_encoded_size_is_base64_plus_the_envelope(size: int, encoded: int) -> None:
    assert encoded_size(record(0, size=size)) == encoded


def test_records_that_exactly_fill_the_limit_are_one_batch() -> None:
    records = [record(i) for i in range(4)]
    limit = 2 * encoded_size(records[0])
    assert split(records, limit) == [records[:2], records[2:]]


def test_a_record_too_large_alone_is_a_batch_of_one() -> None:
    big = record(0, size=3000)
    assert split([big], 1000) == [[big]]
