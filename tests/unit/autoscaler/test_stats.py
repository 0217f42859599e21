import pytest

from kappa.autoscaler.stats import Sample, StatsBoard

A = ("ns", "a")
B = ("ns", "b")


def test_reports_are_summed_over_gateways_and_replace_the_last() -> None:
    board = StatsBoard()
    board.report("g1", {A: Sample(1.5, 2, 1, {"a-1": 2})}, now=10)
    board.report("g2", {A: Sample(0.5, 1, 0, {"a-1": 1, "a-2": 0}), B: Sample(1, 1)}, now=10)
    total = board.total(A)
    assert (total.in_flight, total.peak, total.queued) == (2.0, 3, 1)
    assert total.pods == {"a-1": 3, "a-2": 0}
    assert total.average == 3.0
    assert total.now == 4
    board.report("g1", {}, now=11)  # nothing of A at g1 any more
    assert board.total(A).peak == 1
    assert board.keys() == {A, B}


@pytest.mark.parametrize(
    ("age", "counted"),
    [pytest.param(3.0, True, id="fresh"), pytest.param(3.5, False, id="aged-out")],
)
def test_silent_gateways_age_out(age: float, counted: bool) -> None:  # noqa: FBT001
    board = StatsBoard(max_age=3.0)
    board.report("g1", {A: Sample(1, 1)}, now=0)
    gone = board.expire(now=age)
    assert (board.total(A).peak == 1) is counted
    assert gone == ([] if counted else ["g1"])


def test_a_poke_raises_the_figures_until_the_next_report() -> None:
    board = StatsBoard()
    board.report("g1", {A: Sample(0.2, 1, 0)}, now=0)
    board.poke("g1", A, Sample(1, 1, 3), now=0.5)
    assert board.total(A).queued == 3
    board.poke("g2", A, Sample(0, 0, 1), now=0.5)  # a gateway first heard of by its poke
    assert board.total(A).now == 5
    board.report("g1", {}, now=1)
    assert board.total(A).queued == 1


def test_the_gateways_heard_from_give_their_push_addresses_sorted_and_bounded() -> None:
    board = StatsBoard(max_age=3.0)
    board.report("g1", {}, 0.0, "10.0.0.9:8000")
    board.report("g2", {}, 0.0)
    board.poke("g3", ("a", "f"), Sample(queued=1), 1.0, "10.0.0.5:8000")
    board.report("g4", {}, 0.0, "10.0.0.5:8000")
    assert board.ready_addresses() == ("10.0.0.5:8000", "10.0.0.9:8000")
    board.expire(3.5)  # g1, g2 and g4 are silent for more than 3 s
    assert board.ready_addresses() == ("10.0.0.5:8000",)
    for i in range(40):
        board.report(f"n{i}", {}, 4.0, f"10.1.0.{i}:8000")
    assert len(board.ready_addresses()) == 16
