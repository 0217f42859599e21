import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.eventsources.kafka_offsets import PartitionProgress

P = ("orders", 0)


def _progress(fetched: range) -> PartitionProgress:
    progress = PartitionProgress()
    progress.fetched(P, list(fetched))
    return progress


@pytest.mark.parametrize(
    ("acks", "commits"),
    [
        pytest.param([[0, 1, 2, 3]], [4], id="whole-batch"),
        pytest.param([[1, 3], [0, 2]], [None, 4], id="filtered-suffix-first-waits-for-the-rest"),
        pytest.param([[0, 1], [2, 3]], [2, 4], id="in-order"),
        pytest.param([[3], [0], [1, 2]], [None, 1, 4], id="scattered"),
    ],
)
def test_commit_never_passes_a_record_in_hand(
    acks: list[list[int]], commits: list[int | None]
) -> None:
    progress = _progress(range(4))
    assert [progress.acked(P, offsets) for offsets in acks] == commits


def test_release_seeks_back_and_holds_the_commit_until_refetched() -> None:
    progress = _progress(range(6))
    assert progress.acked(P, [0, 1]) == 2
    assert progress.released(P, [2, 3, 4, 5]) == 2
    assert progress.acked(P, [1]) is None  # a late ack cannot move past the retry point
    progress.fetched(P, [2, 3, 4, 5])
    assert progress.acked(P, [2, 3, 4, 5]) == 6


def test_a_revoked_partition_is_forgotten() -> None:
    progress = _progress(range(3))
    progress.forget(P)
    progress.fetched(P, [7, 8])
    assert progress.acked(P, [7, 8]) == 9


@given(
    count=st.integers(1, 30),
    order=st.randoms(use_true_random=False),
    chunks=st.integers(1, 6),
)
def test_commits_only_move_forward_and_cover_only_acked_offsets(
    count: int, order: object, chunks: int
) -> None:
    offsets = list(range(count))
    order.shuffle(offsets)  # type: ignore[attr-defined]
    progress = _progress(range(count))
    acked: set[int] = set()
    last = -1
    size = max(1, count // chunks)
    for start in range(0, count, size):
        part = offsets[start : start + size]
        acked.update(part)
        point = progress.acked(P, part)
        if point is not None:
            assert point > last
            assert set(range(point)) <= acked  # everything before the commit is done
            last = point
    assert last == count


def test_a_release_on_a_partition_with_nothing_in_hand_seeks() -> None:
    assert PartitionProgress().released(P, [4, 3]) == 3


def test_a_second_release_does_not_move_the_resume_point_past_the_first() -> None:
    progress = _progress(range(1, 7))
    assert progress.acked(P, [1, 2]) == 3
    assert progress.released(P, [3, 4, 5, 6]) == 3
    assert progress.released(P, [5, 6]) == 5
    progress.fetched(P, [5, 6])  # not 3: the resume point is still to come
    assert progress.acked(P, [5, 6]) is None


def test_records_past_a_release_that_do_not_come_back_do_not_hold_the_commit() -> None:
    # After the seek to 2 the broker returns 2, 3 and then 5 (4 compacted away meanwhile).
    progress = _progress(range(2, 5))
    assert progress.released(P, [2]) == 2
    progress.fetched(P, [2, 3])
    progress.fetched(P, [5])
    assert progress.acked(P, [2, 3, 5]) == 6


def test_a_late_ack_on_a_partition_never_fetched_commits_nothing() -> None:
    # (After a rebalance: the partition was forgotten, then its batch finished.)
    assert PartitionProgress().acked(P, [3]) is None
