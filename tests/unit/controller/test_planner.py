from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.controller.observed import Failure, Phase, PodView
from kappa.controller.planner import BACKOFF_MAX, backoff, plan

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pod(
    name: str,
    revision: str = "new",
    *,
    phase: Phase = Phase.RUNNING,
    ready: bool = True,
    terminating: bool = False,
    age: float = 60,
    attempt: int = 0,
    finished_ago: float | None = None,
    was_ready: bool = False,
    provisioned: bool = False,
) -> PodView:
    failed = phase is Phase.FAILED
    return PodView(
        name=name,
        revision=revision,
        phase=phase,
        ready=ready and not failed,
        terminating=terminating,
        created=NOW - timedelta(seconds=age),
        attempt=attempt,
        finished=None if finished_ago is None else NOW - timedelta(seconds=finished_ago),
        failure=Failure("Runtime.ImportModuleError", "boom") if failed else None,
        was_ready=was_ready or (ready and not failed),
        provisioned=provisioned,
    )


@pytest.mark.parametrize(
    ("pods", "desired", "create", "delete", "attempt"),
    [
        pytest.param([], 1, 1, set(), 0, id="nothing-runs-create-one"),
        pytest.param([pod("a")], 1, 0, set(), 0, id="steady"),
        pytest.param([pod("a", ready=False, phase=Phase.PENDING)], 1, 0, set(), 0, id="starting"),
        pytest.param([pod("a")], 3, 2, set(), 0, id="scale-up"),
        pytest.param(
            [pod("a", age=10), pod("b", age=50), pod("c", ready=False, age=60)],
            1,
            0,
            {"a", "c"},
            0,
            id="scale-down-not-ready-and-newest-first",
        ),
        pytest.param([pod("o", "old")], 1, 1, set(), 0, id="rollout-starts-old-stays"),
        pytest.param(
            [pod("o", "old"), pod("n", ready=False, phase=Phase.PENDING)],
            1,
            0,
            set(),
            0,
            id="rollout-old-stays-until-new-ready",
        ),
        pytest.param([pod("o", "old"), pod("n")], 1, 0, {"o"}, 0, id="rollout-new-ready-old-goes"),
        pytest.param(
            [pod("o1", "old", age=90), pod("o2", "old", age=80), pod("n1")],
            2,
            1,
            {"o1"},
            0,
            id="rollout-one-old-per-new-ready-oldest-first",
        ),
        pytest.param(
            [pod("o", "old", phase=Phase.FAILED, finished_ago=1)],
            1,
            1,
            {"o"},
            0,
            id="failed-old-revision-goes-at-once",
        ),
        pytest.param(
            [pod("f", phase=Phase.FAILED, finished_ago=5)],
            1,
            0,
            set(),
            0,
            id="failed-waits-backoff",
        ),
        pytest.param(
            [pod("f", phase=Phase.FAILED, finished_ago=11)],
            1,
            1,
            {"f"},
            1,
            id="failed-after-backoff-replaced-with-next-attempt",
        ),
        pytest.param(
            [pod("f", phase=Phase.FAILED, attempt=2, finished_ago=30)],
            1,
            0,
            set(),
            0,
            id="third-failure-waits-40s",
        ),
        pytest.param([pod("t", terminating=True)], 1, 1, set(), 0, id="terminating-does-not-count"),
        pytest.param([pod("s", phase=Phase.SUCCEEDED)], 1, 1, {"s"}, 0, id="ended-pod-removed"),
        pytest.param(
            [pod("o", "old", ready=False), pod("n", ready=False, phase=Phase.PENDING)],
            1,
            0,
            set(),
            0,
            id="old-running-not-ready-is-kept-while-new-starts",
        ),
        pytest.param(
            [pod("o", "old", ready=False), pod("n")],
            1,
            0,
            {"o"},
            0,
            id="old-running-not-ready-goes-once-new-ready",
        ),
        pytest.param(
            [pod("o", "old", ready=False, phase=Phase.PENDING)],
            1,
            1,
            {"o"},
            0,
            id="old-pending-goes-at-once",
        ),
        pytest.param(
            [pod("c", phase=Phase.FAILED, attempt=3, finished_ago=1, was_ready=True)],
            1,
            1,
            {"c"},
            0,
            id="crash-after-ready-replaced-at-once-attempt-0",
        ),
        pytest.param(
            [
                pod("c", phase=Phase.FAILED, finished_ago=1, was_ready=True),
                pod("f", phase=Phase.FAILED, attempt=1, finished_ago=1),
            ],
            1,
            0,
            {"c"},
            0,
            id="crashed-goes-but-init-failure-back-off-holds-creation",
        ),
    ],
)
def test_plan(
    pods: list[PodView], desired: int, create: int, delete: set[str], attempt: int
) -> None:
    result = plan(pods, revision="new", desired=desired, now=NOW)
    assert result.create == create
    assert set(result.delete) == delete
    assert result.attempt == attempt


def test_hold_creates_nothing_and_keeps_what_may_serve() -> None:
    pods = [
        pod("ready-old", "old"),
        pod("flapping-old", "old", ready=False),
        pod("starting", ready=False, phase=Phase.PENDING),
        pod("ready-current"),
        pod("failed", phase=Phase.FAILED, finished_ago=1),
        pod("done", "old", phase=Phase.SUCCEEDED),
    ]
    result = plan(pods, revision="new", desired=3, now=NOW, hold=True)
    assert result.create == 0
    assert set(result.delete) == {"failed", "done"}
    assert result.requeue_after is None


@pytest.mark.parametrize(
    ("pods", "desired", "provisioned", "create", "expected"),
    [
        pytest.param([], 2, 2, 2, 2, id="all-new-pods-provisioned"),
        pytest.param([], 1, 0, 1, 0, id="none-provisioned"),
        pytest.param([pod("p", provisioned=True)], 3, 2, 2, 1, id="tops-up-provisioned-first"),
        pytest.param([pod("p", provisioned=True)], 2, 1, 1, 0, id="enough-provisioned"),
        pytest.param(
            [pod("p", "old", provisioned=True)], 1, 1, 1, 1, id="old-revision-does-not-count"
        ),
    ],
)
def test_plan_says_how_many_new_pods_are_provisioned(
    pods: list[PodView], desired: int, provisioned: int, create: int, expected: int
) -> None:
    result = plan(pods, revision="new", desired=desired, provisioned=provisioned, now=NOW)
    assert (result.create, result.provisioned) == (create, expected)


def test_surplus_keeps_provisioned_pods() -> None:
    pods = [pod("p", provisioned=True, age=10), pod("d", age=60)]
    result = plan(pods, revision="new", desired=1, provisioned=1, now=NOW)
    assert result.delete == ("d",)


def test_failed_pod_requeues_when_its_backoff_ends() -> None:
    result = plan(
        [pod("f", phase=Phase.FAILED, finished_ago=4)], revision="new", desired=1, now=NOW
    )
    assert result.requeue_after == timedelta(seconds=6)


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [
        pytest.param(0, 10, id="first"),
        pytest.param(1, 20, id="second"),
        pytest.param(5, 300, id="capped"),
    ],
)
def test_backoff(attempt: int, seconds: float) -> None:
    assert backoff(attempt) == timedelta(seconds=seconds)


revisions = st.sampled_from(["new", "old"])
phases = st.sampled_from(list(Phase))


@given(
    st.lists(
        st.builds(
            lambda i, r, ph, ready, term: pod(
                f"p{i}", r, phase=ph, ready=ready and ph is Phase.RUNNING, terminating=term, age=i
            ),
            st.integers(0, 1000),
            revisions,
            phases,
            st.booleans(),
            st.booleans(),
        ),
        max_size=12,
        unique_by=lambda p: p.name,
    ),
    st.integers(0, 6),
)
def test_plan_never_lowers_ready_pods_below_desired(pods: list[PodView], desired: int) -> None:
    result = plan(pods, revision="new", desired=desired, now=NOW)
    names = {p.name for p in pods}
    assert set(result.delete) <= names
    assert len(result.delete) == len(set(result.delete))
    ready_before = [p for p in pods if p.ready and p.live]
    ready_after = [p for p in ready_before if p.name not in result.delete]
    # Surge rollout: never delete ready pods while that leaves fewer ready than desired.
    assert len(ready_after) >= min(len(ready_before), desired)
    live_current = [p for p in pods if p.live and p.revision == "new"]
    assert result.create <= max(0, desired - len(live_current))
    # Held, nothing is made and nothing that may serve (Pending or Running) goes.
    held = plan(pods, revision="new", desired=desired, now=NOW, hold=True)
    assert held.create == 0
    assert not {p.name for p in pods if p.live} & set(held.delete)


def test_backoff_is_capped() -> None:
    assert backoff(100) == BACKOFF_MAX


@pytest.mark.parametrize(
    ("remove_first", "deleted"),
    [
        pytest.param((), {"c"}, id="default-newest-first"),
        pytest.param(("a", "b"), {"a"}, id="autoscaler-order-first"),
        pytest.param(("gone", "b"), {"b"}, id="names-of-pods-not-there-ignored"),
    ],
)
def test_surplus_follows_the_autoscalers_order(
    remove_first: tuple[str, ...], deleted: set[str]
) -> None:
    pods = [pod("a", age=30), pod("b", age=20), pod("c", age=10)]
    decision = plan(pods, revision="new", desired=2, now=NOW, remove_first=remove_first)
    assert set(decision.delete) == deleted


def test_a_failed_pod_is_retried_exactly_when_its_backoff_ends() -> None:
    failed = pod("f", phase=Phase.FAILED, finished_ago=10)
    result = plan([failed, pod("s", phase=Phase.SUCCEEDED, ready=False)], revision="new",
                  desired=1, now=NOW)  # fmt: skip
    assert (result.create, result.attempt, result.requeue_after) == (1, 1, None)
    assert set(result.delete) == {"f", "s"}


def test_the_last_failure_is_the_one_that_finished_last() -> None:
    # "a" was created first but finished last: its back-off (attempt 1: 20 s) counts.
    pods = [
        pod("a", phase=Phase.FAILED, age=200, finished_ago=10, attempt=1),
        pod("b", phase=Phase.FAILED, age=100, finished_ago=50, attempt=2),
    ]
    result = plan(pods, revision="new", desired=1, now=NOW)
    assert (result.create, result.requeue_after) == (0, timedelta(seconds=10))


def test_surplus_and_ended_pods_are_all_deleted() -> None:
    pods = [pod("a", age=10), pod("b", age=50), pod("s", phase=Phase.SUCCEEDED, ready=False)]
    result = plan(pods, revision="new", desired=1, now=NOW)
    assert set(result.delete) == {"a", "s"}


def test_only_kept_provisioned_pods_count_towards_provisioned() -> None:
    result = plan([pod("a")], revision="new", desired=3, now=NOW, provisioned=2)
    assert (result.create, result.provisioned) == (2, 2)
    assert plan([pod("a")], revision="new", desired=3, now=NOW).provisioned == 0
