import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.gateway.waiters import QueueBounds, WaitQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def test_fifo() -> None:
    clock = FakeClock()
    queue: WaitQueue[str] = WaitQueue(QueueBounds(10, 5.0))
    for name in "abc":
        assert queue.push(name, clock.advance(0.1))
    assert queue.head() == "a"
    assert [queue.pop(), queue.pop(), queue.pop(), queue.pop()] == ["a", "b", "c", None]


def test_bounded_count() -> None:
    queue: WaitQueue[int] = WaitQueue(QueueBounds(2, 5.0))
    assert queue.push(1, 0.0)
    assert queue.push(2, 0.0)
    assert not queue.push(3, 0.0)
    assert len(queue) == 2
    assert 3 not in queue
    queue.remove(1)
    assert queue.push(3, 0.0)


def test_zero_waiters_refuses_everyone() -> None:
    assert not WaitQueue[int](QueueBounds(0, 5.0)).push(1, 0.0)


def test_timeout() -> None:
    clock = FakeClock()
    queue: WaitQueue[str] = WaitQueue(QueueBounds(10, 1.0))
    queue.push("old", clock.now)
    queue.push("young", clock.advance(0.5))
    assert queue.deadline("old") == pytest.approx(101.0)
    assert queue.expired(clock.advance(0.25)) == []
    assert queue.expired(clock.advance(0.25)) == ["old"]
    assert queue.expired(clock.advance(0.25)) == []
    assert queue.expired(clock.advance(0.25)) == ["young"]
    assert len(queue) == 0


def test_remove_from_the_middle_keeps_order() -> None:
    queue: WaitQueue[str] = WaitQueue(QueueBounds(10, 1.0))
    for name in "abc":
        queue.push(name, 0.0)
    assert queue.remove("b")
    assert not queue.remove("b")
    assert [queue.pop(), queue.pop()] == ["a", "c"]


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 50)), max_size=60))
def test_never_holds_more_than_its_bound_and_pops_in_arrival_order(
    steps: list[tuple[bool, int]],
) -> None:
    queue: WaitQueue[int] = WaitQueue(QueueBounds(5, 10.0))
    model: list[int] = []
    for index, (is_push, _) in enumerate(steps):
        if is_push:
            if queue.push(index, float(index)):
                model.append(index)
        else:
            assert queue.pop() == (model.pop(0) if model else None)
        assert len(queue) == len(model) <= 5
