from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.invocation.routing import Candidate, Endpoint, SlotTable, choose

FN = ("default", "echo")


def endpoint(
    pod: str, slots: int = 1, *, ready: bool = True, terminating: bool = False
) -> Endpoint:
    return Endpoint(pod, f"{pod}:8080", slots, ready, terminating)


candidates_strategy = st.lists(
    st.builds(
        lambda slots, busy, ready, terminating, held: Candidate(
            Endpoint("p", "a:1", slots, ready, terminating), min(busy, slots), held
        ),
        st.integers(0, 4),
        st.integers(0, 4),
        st.booleans(),
        st.booleans(),
        st.sampled_from([0.0, 5.0, 20.0]),
    ),
    max_size=8,
)


@given(candidates_strategy)
def test_never_picks_a_full_terminating_unready_or_held_pod(
    candidates: Sequence[Candidate],
) -> None:
    chosen = choose(candidates, now=10.0)
    if chosen is not None:
        assert chosen.endpoint.ready
        assert not chosen.endpoint.terminating
        assert chosen.in_flight < chosen.endpoint.slots
        assert chosen.held_until <= 10.0


@given(candidates_strategy)
def test_picks_the_least_loaded_free_pod_and_only_none_when_none_is_free(
    candidates: Sequence[Candidate],
) -> None:
    chosen = choose(candidates, now=10.0)
    free = [c for c in candidates if c.free(10.0)]
    if not free:
        assert chosen is None
    else:
        assert chosen is not None
        assert chosen.load == min(c.load for c in free)


def test_ties_go_to_the_injected_pick() -> None:
    a = Candidate(endpoint("a"), 0)
    b = Candidate(endpoint("b"), 0)
    assert choose([a, b], 0.0, pick=lambda tied: tied[-1]) is b
    assert choose([a, b], 0.0) is a


@given(st.lists(st.integers(1, 3), min_size=1, max_size=5), st.integers(0, 20))
def test_slot_table_never_exceeds_slots(slots: list[int], calls: int) -> None:
    endpoints = [endpoint(f"p{i}", n) for i, n in enumerate(slots)]
    table = SlotTable()
    leases = [lease for _ in range(calls) if (lease := table.acquire(FN, endpoints, 0.0))]
    assert len(leases) == min(calls, sum(slots))
    for e in endpoints:
        assert sum(lease.pod == e.pod for lease in leases) <= e.slots
    for lease in leases:
        table.release(lease)
    assert table.total == 0
    assert table.in_flight(FN) == 0


def test_spreads_over_pods_least_loaded_first() -> None:
    table = SlotTable()
    endpoints = [endpoint("a", 2), endpoint("b", 2)]
    pods = [lease.pod for _ in range(4) if (lease := table.acquire(FN, endpoints, 0.0))]
    assert pods == ["a", "b", "a", "b"]
    assert table.acquire(FN, endpoints, 0.0) is None


def test_a_held_pod_is_skipped_until_the_hold_ends_or_a_release() -> None:
    table = SlotTable()
    endpoints = [endpoint("a")]
    lease = table.acquire(FN, endpoints, 0.0)
    assert lease is not None
    table.hold(lease, until=1.0)
    assert table.in_flight(FN) == 0
    assert table.acquire(FN, endpoints, 0.5) is None
    assert table.next_hold_end(FN, 0.5) == 1.0
    again = table.acquire(FN, endpoints, 1.0)
    assert again is not None
    assert table.next_hold_end(FN, 1.0) is None


def test_forget_holds_of_pods_gone() -> None:
    table = SlotTable()
    lease = table.acquire(FN, [endpoint("a")], 0.0)
    assert lease is not None
    table.hold(lease, until=100.0)
    table.forget_holds(FN, set())
    assert table.next_hold_end(FN, 0.0) is None


@pytest.mark.parametrize(
    ("candidate", "free"),
    [
        pytest.param(Candidate(endpoint("a"), 0), True, id="idle"),
        pytest.param(Candidate(endpoint("a"), 1), False, id="full"),
        pytest.param(Candidate(endpoint("a", ready=False), 0), False, id="unready"),
        pytest.param(Candidate(endpoint("a", terminating=True), 0), False, id="terminating"),
        pytest.param(Candidate(endpoint("a"), 0, held_until=6.0), False, id="held"),
        pytest.param(Candidate(endpoint("a", 0), 0), False, id="no-slots"),
    ],
)
def test_free(candidate: Candidate, free: bool) -> None:  # noqa: FBT001
    assert candidate.free(5.0) is free


def test_namespace_in_flight_counts_every_function_of_the_namespace() -> None:
    table = SlotTable()
    web, other = (FN[0], "web"), ("other", "fn")
    pods = [endpoint("p", 2)]
    leases = [table.acquire(FN, pods, 0.0), table.acquire(web, pods, 0.0)]
    leases.append(table.acquire(other, pods, 0.0))
    assert [table.namespace_in_flight(ns) for ns in (FN[0], "other", "none")] == [2, 1, 0]
    for lease in leases:
        assert lease is not None
        table.release(lease)
    assert table.namespace_in_flight(FN[0]) == 0


def test_the_table_counts_in_flight_per_function_and_per_pod() -> None:
    table = SlotTable(pick=lambda tied: tied[-1])
    endpoints = [endpoint("a", 2), endpoint("b", 2)]
    leases = [table.acquire(FN, endpoints, 0.0) for _ in range(3)]
    assert [(lease.pod, lease.address) for lease in leases if lease] == [
        ("b", "b:8080"),  # the injected pick breaks the tie
        ("a", "a:8080"),
        ("b", "b:8080"),
    ]
    assert table.in_flight(FN) == 3
    assert table.pods_in_flight() == {FN: {"a": 1, "b": 2}}


def test_a_release_ends_the_hold_on_a_pod_still_busy() -> None:
    table = SlotTable()
    endpoints = [endpoint("a", 3)]
    first, second, _third = (table.acquire(FN, endpoints, 0.0) for _ in range(3))
    assert first is not None
    assert second is not None
    table.hold(first, until=100.0)
    assert table.acquire(FN, endpoints, 0.5) is None
    table.release(second)
    assert table.acquire(FN, endpoints, 0.5) is not None


def test_forget_holds_keeps_listed_pods_and_busy_ones() -> None:
    table = SlotTable()
    held = table.acquire(FN, [endpoint("a")], 0.0)
    busy = table.acquire(FN, [endpoint("b")], 0.0)
    assert held is not None
    assert busy is not None
    table.hold(held, until=100.0)
    table.forget_holds(FN, {"a"})
    assert table.next_hold_end(FN, 0.0) == 100.0
    assert table.pods_in_flight() == {FN: {"b": 1}}
