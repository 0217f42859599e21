import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kappa.autoscaler.decider import (
    BURST_SECONDS,
    SCALE_DOWN_DELAY,
    STABLE_SECONDS,
    Caps,
    Decision,
    Load,
    Pod,
    Reason,
    Spec,
    State,
    decide,
    first_state,
    floor_pods,
    removal_order,
    starting_for_waiters,
)

NOW = 1000.0


def pods(count: int, *, ready: bool = True, age: float = 60, **kw: object) -> list[Pod]:
    return [Pod(f"p{i}", ready, NOW - age, **kw) for i in range(count)]  # type: ignore[arg-type]


def run(
    *,
    spec: Spec | None = None,
    load: Load | None = None,
    live: Sequence[Pod] = (),
    caps: Caps | None = None,
    state: State | None = None,
    now: float = NOW,
    initial: int = 0,
) -> Decision:
    return decide(
        spec=spec or Spec(),
        load=load or Load(),
        pods=live,
        caps=caps or Caps(),
        state=state or State(last_active=now - 1, target=len(live)),
        now=now,
        initial=initial,
    )


@pytest.mark.parametrize(
    ("kw", "target", "asked", "reason"),
    [
        pytest.param({}, 0, 0, Reason.CONCURRENCY, id="no-pods-no-load-stays-zero"),
        pytest.param(
            {"live": pods(1), "load": Load(stable=0.5, panic=0.5, now=1)},
            1, 1, Reason.CONCURRENCY, id="one-call-one-pod",
        ),
        pytest.param(
            {"live": pods(2), "load": Load(stable=2.1, panic=2.1, now=2)},
            3, 3, Reason.CONCURRENCY, id="target-utilisation-0.7-adds-headroom",
        ),
        pytest.param(
            {"live": pods(1), "load": Load(now=4)},
            4, 4, Reason.CONCURRENCY, id="what-waits-now-gets-slots-at-once",
        ),
        pytest.param(
            {"spec": Spec(per_pod=4), "live": pods(1), "load": Load(stable=5, panic=5, now=5)},
            2, 2, Reason.CONCURRENCY, id="per-pod-slots",
        ),
        pytest.param(
            {"live": pods(3)}, 1, 1, Reason.IDLE_WAIT, id="idle-keeps-one-until-the-idle-time",
        ),
        pytest.param(
            {"live": pods(3), "state": State(last_active=NOW - 60, target=3)},
            0, 0, Reason.SCALED_TO_ZERO, id="idle-long-enough-goes-to-zero",
        ),
        pytest.param(
            {"live": pods(1), "state": State(last_active=NOW - 61, target=1),
             "load": Load(stable=0.3, panic=0)},
            0, 0, Reason.SCALED_TO_ZERO, id="a-stale-stable-window-does-not-hold-an-idle-pod",
        ),
        pytest.param(
            {"spec": Spec(provisioned=3), "live": pods(3),
             "state": State(last_active=NOW - 600, target=3)},
            3, 3, Reason.PROVISIONED, id="provisioned-floor-holds-when-idle",
        ),
        pytest.param(
            {"spec": Spec(provisioned=3, per_pod=2), "live": pods(2),
             "state": State(last_active=NOW - 600, target=2)},
            2, 2, Reason.PROVISIONED, id="floor-counts-environments-per-pod",
        ),
        pytest.param(
            {"spec": Spec(provisioned=2), "live": pods(2), "load": Load(stable=3, panic=3, now=3)},
            5, 5, Reason.CONCURRENCY, id="traffic-spills-beyond-provisioned",
        ),
        pytest.param(
            {"spec": Spec(reserved=2), "live": pods(1), "load": Load(now=9)},
            2, 2, Reason.CAP_REACHED, id="reserved-caps",
        ),
        pytest.param(
            {"spec": Spec(max_replicas=3), "live": pods(1), "load": Load(now=9)},
            3, 3, Reason.CAP_REACHED, id="max-replicas-caps",
        ),
        pytest.param(
            {"live": pods(2), "load": Load(now=9), "caps": Caps(cluster_headroom=3)},
            5, 5, Reason.CAP_REACHED, id="cluster-headroom-caps",
        ),
        pytest.param(
            {"live": pods(2), "load": Load(now=9), "caps": Caps(namespace_headroom=1)},
            3, 3, Reason.CAP_REACHED, id="namespace-headroom-caps",
        ),
        pytest.param(
            {"spec": Spec(provisioned=4, max_replicas=2), "live": pods(4)},
            4, 4, Reason.PROVISIONED, id="provisioned-wins-over-a-cap",
        ),
        pytest.param(
            {"spec": Spec(reserved=0)}, 0, 0, Reason.CONCURRENCY, id="reserved-zero-no-pods",
        ),
        pytest.param(
            {"live": pods(2, age=1), "load": Load(now=10), "caps": Caps(burst_limit=3)},
            10, 3, Reason.BURST_LIMITED, id="burst-limit-counts-recent-pods",
        ),
        pytest.param(
            {"live": pods(2, age=BURST_SECONDS), "load": Load(now=10),
             "caps": Caps(burst_limit=3)},
            10, 5, Reason.BURST_LIMITED, id="pods-older-than-the-burst-window-do-not-count",
        ),
        pytest.param(
            {"state": None, "initial": 1}, 1, 1, Reason.NEW, id="a-new-function-starts-one",
        ),
        pytest.param(
            {"state": None, "initial": 0}, 0, 0, Reason.CONCURRENCY,
            id="one-decided-before-a-restart-stays-at-zero",
        ),
    ],
)  # fmt: skip
def test_decisions(kw: dict[str, object], target: int, asked: int, reason: Reason) -> None:
    # (Read, not popped: the table's dicts outlive one run, and a second run must see "state".)
    state = kw.get("state", State(last_active=NOW - 1, target=len(kw.get("live", ()))))  # type: ignore[arg-type]
    decision = decide(
        spec=kw.get("spec", Spec()),  # type: ignore[arg-type]
        load=kw.get("load", Load()),  # type: ignore[arg-type]
        pods=kw.get("live", ()),  # type: ignore[arg-type]
        caps=kw.get("caps", Caps()),  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        now=NOW,
        initial=kw.get("initial", 0),  # type: ignore[arg-type]
    )
    assert (decision.target, decision.pods, decision.reason) == (target, asked, reason)
    assert decision.message


def test_scale_down_removes_not_ready_then_idle_on_demand_then_provisioned_then_busy() -> None:
    live = [
        Pod("busy", ready=True, created=NOW - 50, in_flight=2),
        Pod("quiet", ready=True, created=NOW - 50, in_flight=1),
        Pod("idle-old", ready=True, created=NOW - 100),
        Pod("idle-new", ready=True, created=NOW - 10),
        Pod("idle-prov", ready=True, created=NOW - 10, provisioned=True),
        Pod("pending", ready=False, created=NOW - 5),
    ]
    order = [p.name for p in removal_order(live)]
    assert order == ["pending", "idle-new", "idle-old", "idle-prov", "quiet", "busy"]
    decision = run(live=live, load=Load(stable=2.1, panic=2.1, now=3))
    assert decision.target == 3
    assert decision.remove == ("pending", "idle-new", "idle-old")


def test_panic_mode_entry_hold_and_exit() -> None:
    spec = Spec()
    live = pods(1)
    # A burst: 6 s window at 4 concurrent with one ready pod: 4 / 0.7 / 1 >= 2.
    d = run(spec=spec, live=live, load=Load(stable=0.5, panic=4, now=4))
    assert d.panic
    assert d.target == 6  # ceil(4 / 0.7)
    # The burst ebbs: in panic, the count never falls.
    d2 = run(
        spec=spec, live=pods(6), load=Load(stable=1, panic=1, now=1), state=d.state, now=NOW + 5
    )
    assert d2.panic
    assert d2.target == 6
    assert d2.reason is Reason.PANIC
    # A stable window without crossing the threshold ends the panic; the count follows the load.
    later = NOW + STABLE_SECONDS + 1
    d3 = run(
        spec=spec, live=pods(6), load=Load(stable=1, panic=1, now=1), state=d2.state, now=later
    )
    assert not d3.panic
    assert d3.target == 2


def test_panic_is_not_entered_below_the_threshold() -> None:
    d = run(live=pods(4), load=Load(stable=4, panic=5, now=5))  # 5 / 0.7 / 4 < 2
    assert not d.panic


def test_idle_timer_restarts_with_each_call() -> None:
    spec = Spec(scale_to_zero_after=10)
    d = run(spec=spec, live=pods(1), load=Load(now=1), now=NOW)
    assert d.state.last_active == NOW
    d = run(spec=spec, live=pods(1), state=d.state, now=NOW + 9)
    assert d.target == 1
    d = run(spec=spec, live=pods(1), state=d.state, now=NOW + 10)
    assert (d.target, d.remove) == (0, ("p0",))


# ----------------------------------------------------------------- properties

specs = st.builds(
    Spec,
    per_pod=st.integers(1, 8),
    target_utilization=st.floats(0.1, 1.0),
    scale_to_zero_after=st.floats(0, 120),
    max_replicas=st.none() | st.integers(1, 50),
    provisioned=st.integers(0, 20),
    reserved=st.none() | st.integers(0, 100),
).filter(lambda s: s.reserved is None or s.provisioned <= s.reserved)
loads = st.builds(
    Load,
    stable=st.floats(0, 200),
    panic=st.floats(0, 200),
    now=st.floats(0, 200) | st.just(0.0),
    queued=st.just(0.0) | st.floats(0, 20),
)
caps_ = st.builds(
    Caps,
    cluster_headroom=st.none() | st.integers(-20, 200),
    namespace_headroom=st.none() | st.integers(-20, 200),
    burst_limit=st.integers(1, 50),
)
pod_lists = st.lists(
    st.builds(
        Pod,
        name=st.text("abcdef", min_size=1, max_size=6),
        ready=st.booleans(),
        created=st.floats(NOW - 100, NOW),
        provisioned=st.booleans(),
        in_flight=st.integers(0, 4),
    ),
    max_size=30,
    unique_by=lambda p: p.name,
)
states = st.none() | st.builds(
    State,
    last_active=st.floats(NOW - 500, NOW),
    panic_since=st.none() | st.floats(NOW - 100, NOW),
    panic_pods=st.integers(0, 60),
    target=st.integers(0, 60),
)


def _cap(spec: Spec, caps: Caps, live: int) -> float:
    found: list[float] = [math.inf]
    if spec.max_replicas is not None:
        found.append(spec.max_replicas)
    if spec.reserved is not None:
        found.append(math.ceil(spec.reserved / spec.per_pod))
    found.extend(
        max(0, live + headroom // spec.per_pod)
        for headroom in (caps.cluster_headroom, caps.namespace_headroom)
        if headroom is not None
    )
    return min(found)


@settings(max_examples=400, deadline=None)
@given(spec=specs, load=loads, live=pod_lists, caps=caps_, state=states, initial=st.integers(0, 1))
def test_bounds_hold(
    spec: Spec, load: Load, live: list[Pod], caps: Caps, state: State | None, initial: int
) -> None:
    d = decide(spec=spec, load=load, pods=live, caps=caps, state=state, now=NOW, initial=initial)
    floor = floor_pods(spec)
    # Never below provisioned; never above a cap unless provisioned asks for more.
    assert d.target >= floor
    assert d.target <= max(floor, _cap(spec, caps, len(live)))
    # The burst limit: pods created in the last 10 s plus new ones stay within it.
    recent = sum(1 for p in live if NOW - p.created < BURST_SECONDS)
    assert max(0, d.pods - len(live)) <= max(0, caps.burst_limit - recent)
    # Above the target only by the pods kept for the calls that wait.
    starting = starting_for_waiters(live, queued=load.queued, per_pod=spec.per_pod)
    assert d.pods <= d.target + len(starting)
    # Removal names exactly the surplus, never a pod initialising for waiting calls, and
    # never a busy pod while an idle one stays.
    assert len(d.remove) == max(0, len(live) - d.pods)
    kept = [p for p in live if p.name not in d.remove and p.name not in starting]
    removed = [p for p in live if p.name in d.remove]
    for gone in removed:
        assert gone.name not in starting
        if gone.ready and gone.in_flight == 0:  # idle not-ready pods go before idle ready
            assert all(k.ready or k.in_flight > 0 for k in kept)
        if gone.in_flight > 0:  # a busy pod goes only when no idle one is left
            assert all(k.in_flight > 0 for k in kept)


@settings(max_examples=300, deadline=None)
@given(spec=specs, live=pod_lists, state=states, idle=st.floats(0, 200))
def test_zero_only_after_the_idle_time(
    spec: Spec, live: list[Pod], state: State | None, idle: float
) -> None:
    last_active = NOW - idle
    begin = State(last_active=last_active, target=len(live)) if state is None else state
    begin = State(
        last_active=last_active, panic_since=begin.panic_since, panic_pods=begin.panic_pods,
        target=begin.target,
    )  # fmt: skip
    d = decide(spec=spec, load=Load(), pods=live, caps=Caps(), state=begin, now=NOW)
    if d.target == 0 and (live or begin.target > 0) and spec.reserved != 0:  # (0: no pods ever)
        assert idle >= spec.scale_to_zero_after - 1e-9
    if idle > spec.scale_to_zero_after + 1e-9:  # (floats: NOW - idle loses a little)
        assert d.target == floor_pods(spec)


@settings(max_examples=200, deadline=None)
@given(spec=specs, load=loads)
def test_load_is_served_when_no_cap_binds(spec: Spec, load: Load) -> None:
    d = run(spec=spec, load=load, live=pods(50, age=100), caps=Caps(burst_limit=1000))
    # (With nothing in flight or queued now, the idle rule may take it to zero: see above.)
    if spec.reserved is None and spec.max_replicas is None and load.now > 0:
        assert d.target * spec.per_pod >= load.now
        assert d.target * spec.per_pod * spec.target_utilization >= load.stable - 1e-6


def test_a_count_is_held_for_the_scale_down_delay_then_followed() -> None:
    live = pods(1)
    up = run(live=live, load=Load(stable=0.5, panic=0.5, now=4))
    assert up.target == 4
    held = run(live=pods(4), load=Load(stable=0.5, panic=0.5, now=1), state=up.state, now=NOW + 29)
    assert held.target == 4
    down = run(
        live=pods(4), load=Load(stable=0.5, panic=0.5, now=1), state=held.state,
        now=NOW + SCALE_DOWN_DELAY,
    )  # fmt: skip
    assert down.target == 1


def test_after_a_restart_the_pods_that_run_are_kept_a_stable_window_then_followed() -> None:
    """The first decision of a process (state None) with ten live pods and no report yet
    keeps ten, for a stable window; then the (still missing) load is followed down."""
    live = pods(10)

    def first(now: float, state: State | None) -> Decision:
        return decide(spec=Spec(scale_to_zero_after=600), load=Load(), pods=live, caps=Caps(),
                      state=state, now=now, initial=0)  # fmt: skip

    restarted = first(NOW, None)
    assert (restarted.target, restarted.remove) == (10, ())
    held = first(NOW + STABLE_SECONDS - 1, restarted.state)
    assert held.target == 10
    followed = first(NOW + STABLE_SECONDS, held.state)
    assert followed.target == 1  # idle, kept at one until scaleToZeroAfterSeconds
    # A Function seen for the first time with no pods still gets `initial`.
    new = decide(spec=Spec(), load=Load(), pods=[], caps=Caps(), state=None, now=NOW, initial=1)
    assert new.target == 1


@pytest.mark.parametrize(
    ("panic", "ready", "entered"),
    [
        pytest.param(2.0, 1, True, id="twice-the-target-on-one-pod-panics"),
        pytest.param(1.99, 1, False, id="just-under-twice-does-not"),
        pytest.param(4.0, 2, True, id="twice-the-target-per-ready-pod-panics"),
        pytest.param(3.99, 2, False, id="just-under-per-ready-pod-does-not"),
        pytest.param(2.0, 0, True, id="no-ready-pod-counts-as-one"),
    ],
)
def test_panic_threshold_is_twice_the_target(panic: float, ready: int, *, entered: bool) -> None:
    # target_utilization 1: the target per pod is one call, so the ratio is panic / ready.
    live = pods(ready) + pods(1, ready=False)
    d = run(spec=Spec(target_utilization=1.0), live=live, load=Load(stable=0.1, panic=panic))
    assert d.panic is entered
    assert (d.reason is Reason.PANIC) is (entered and d.target > 1)


@pytest.mark.parametrize(
    ("live", "now_load", "target", "reason"),
    [
        pytest.param(2, 2, 2, Reason.PROVISIONED, id="floor-equal-to-the-load-is-provisioned"),
        pytest.param(2, 1, 2, Reason.PROVISIONED, id="floor-above-the-load-is-provisioned"),
        pytest.param(3, 3, 3, Reason.CONCURRENCY, id="load-above-the-floor-is-concurrency"),
    ],
)
def test_floor_reason_when_the_floor_meets_the_load(
    live: int, now_load: float, target: int, reason: Reason
) -> None:
    d = run(spec=Spec(provisioned=2), live=pods(live), load=Load(now=now_load))
    assert (d.target, d.reason) == (target, reason)
    if reason is Reason.PROVISIONED:
        assert "provisioned concurrency 2" in d.message


_IDLE = "(concurrency 0 now, 0.00 over 6 s, 0.00 over 60 s; target 0.7 per pod)"
_NINE = "(concurrency 9 now, 0.00 over 6 s, 0.00 over 60 s; target 0.7 per pod)"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        pytest.param({"live": pods(2), "load": Load(stable=2.1, panic=2.1, now=2)},
                     "3 pod(s) (concurrency 2 now, 2.10 over 6 s, 2.10 over 60 s; "
                     "target 0.7 per pod)", id="concurrency"),
        pytest.param({"live": pods(3)}, "1 pod(s): idle, kept until 60 s without invocations",
                     id="idle-wait"),
        pytest.param({"live": pods(3), "state": State(last_active=NOW - 60, target=3)},
                     "scaled to zero: idle for 60 s", id="scaled-to-zero"),
        pytest.param({"spec": Spec(provisioned=3), "live": pods(3),
                      "state": State(last_active=NOW - 600, target=3)},
                     f"3 pod(s) hold provisioned concurrency 3 {_IDLE}", id="provisioned"),
        pytest.param({"spec": Spec(reserved=2), "live": pods(1), "load": Load(now=9)},
                     f"2 pod(s): capped by reserved 2 {_NINE}", id="reserved"),
        pytest.param({"spec": Spec(max_replicas=3), "live": pods(1), "load": Load(now=9)},
                     f"3 pod(s): capped by maxReplicas 3 {_NINE}", id="max-replicas"),
        pytest.param({"live": pods(2), "load": Load(now=9), "caps": Caps(cluster_headroom=3)},
                     f"5 pod(s): capped by the cluster's concurrency limit {_NINE}",
                     id="cluster-limit"),
        pytest.param({"live": pods(2), "load": Load(now=9), "caps": Caps(namespace_headroom=1)},
                     f"3 pod(s): capped by the namespace's concurrency quota {_NINE}",
                     id="namespace-quota"),
        pytest.param({"live": pods(2, age=1), "load": Load(now=10), "caps": Caps(burst_limit=3)},
                     "3 of 10 pod(s) for now: burst limit reached (new environments per 10 s); "
                     "2 live (concurrency 10 now, 0.00 over 6 s, 0.00 over 60 s; "
                     "target 0.7 per pod)", id="burst"),
        pytest.param({"live": pods(1), "load": Load(stable=0.5, panic=4, now=4)},
                     "6 pod(s), panic mode: a burst over twice the target (concurrency 4 now, "
                     "4.00 over 6 s, 0.50 over 60 s; target 0.7 per pod)", id="panic"),
        pytest.param({"spec": Spec(per_pod=2), "live": pods(2), "load": Load(stable=2.8, now=2)},
                     "2 pod(s) (concurrency 2 now, 0.00 over 6 s, 2.80 over 60 s; "
                     "target 1.4 per pod)", id="target-is-slots-times-utilisation"),
    ],
)  # fmt: skip
def test_each_reason_says_why(kw: dict[str, object], message: str) -> None:
    assert run(**kw).message == message  # type: ignore[arg-type]


def test_a_new_function_says_it_loads_its_code() -> None:
    d = decide(spec=Spec(), load=Load(), pods=(), caps=Caps(), state=None, now=NOW, initial=1)
    assert d.message == "1 pod(s): a new Function starts one to load its code"


@pytest.mark.parametrize(
    ("spec", "ready", "panic", "entered"),
    [
        pytest.param(Spec(target_utilization=0.5), 1, 1.0, True, id="one-call-over-half-a-slot"),
        pytest.param(Spec(per_pod=2, target_utilization=1.0), 1, 4.0, True, id="slots-divide"),
        pytest.param(Spec(per_pod=2, target_utilization=1.0), 1, 3.99, False,
                     id="slots-divide-just-under"),
    ],
)  # fmt: skip
def test_panic_counts_the_target_per_pod(
    spec: Spec, ready: int, panic: float, *, entered: bool
) -> None:
    assert run(spec=spec, live=pods(ready), load=Load(panic=panic)).panic is entered


def test_a_panic_ends_exactly_a_stable_window_after_the_last_crossing() -> None:
    d = run(live=pods(1), load=Load(stable=0.5, panic=4, now=4))
    calm = Load(stable=1, panic=1, now=1)
    still = run(live=pods(6), load=calm, state=d.state, now=NOW + STABLE_SECONDS - 0.5)
    assert still.panic
    over = run(live=pods(6), load=calm, state=still.state, now=NOW + STABLE_SECONDS)
    assert not over.panic
    assert (over.state.panic_since, over.state.panic_pods) == (None, 0)


def test_panic_pods_round_up_only_past_float_noise() -> None:
    d = run(live=pods(1), load=Load(panic=2.8))  # 2.8 / 0.7 is 4.000000000000001
    assert (d.target, d.reason, d.state.panic_pods) == (4, Reason.PANIC, 4)


def test_the_state_carries_the_target_and_panic_pods() -> None:
    d = run(live=pods(1), load=Load(stable=0.5, panic=4, now=4))
    assert (d.state.target, d.state.panic_pods) == (6, 6)
    calm = run(live=pods(1), load=Load(stable=0.5, panic=0.5, now=1))
    assert (calm.state.panic_since, calm.state.panic_pods) == (None, 0)
    zero = run(live=pods(1), state=State(last_active=NOW - 60, target=1, panic_pods=3,
                                         panic_since=NOW - 1))  # fmt: skip
    assert (zero.target, zero.state.panic_since, zero.state.panic_pods) == (0, None, 0)


def test_a_count_asked_again_restarts_the_scale_down_delay() -> None:
    up = run(live=pods(1), load=Load(stable=0.5, panic=0.5, now=4))
    again = run(live=pods(4), load=Load(stable=0.5, panic=0.5, now=4), state=up.state, now=NOW + 20)
    low = Load(stable=0.5, panic=0.5, now=1)
    held = run(live=pods(4), load=low, state=again.state, now=NOW + 35)
    assert held.target == 4  # 15 s after the last ask, not 35 after the first


def test_one_idle_pod_of_a_function_at_target_zero_is_kept_until_the_idle_time() -> None:
    d = run(live=pods(1), state=State(last_active=NOW - 1, target=0))
    assert (d.target, d.reason) == (1, Reason.IDLE_WAIT)


def test_no_namespace_headroom_and_no_pods_caps_at_zero() -> None:
    d = run(load=Load(now=5), caps=Caps(namespace_headroom=0))
    assert (d.target, d.reason) == (0, Reason.CAP_REACHED)


def test_no_cluster_headroom_and_no_pods_caps_at_zero() -> None:
    # The cluster's limit is all used elsewhere: not even a first pod for this Function.
    d = run(load=Load(now=5), caps=Caps(cluster_headroom=0))
    assert (d.target, d.reason) == (0, Reason.CAP_REACHED)


def test_a_restarted_operator_keeps_the_pods_it_finds() -> None:
    state = first_state(live=3, initial=1, now=NOW)
    assert (state.target, state.high, state.last_active) == (3, 3, NOW)
    assert state.high_at == NOW + STABLE_SECONDS - SCALE_DOWN_DELAY
    assert first_state(live=0, initial=1, now=NOW).target == 1


def test_a_pod_initialising_for_a_waiting_call_is_never_scaled_down() -> None:
    """A cap that falls below the live pods (here the namespace quota, now full) removes
    idle ready pods, but not the one starting for the call that waits."""
    live = [
        Pod("starting", ready=False, created=NOW - 1),
        Pod("idle", ready=True, created=NOW - 100),
        Pod("busy", ready=True, created=NOW - 100, in_flight=1),
    ]
    d = decide(spec=Spec(), load=Load(stable=1, panic=1, now=2, queued=1), pods=live,
               caps=Caps(namespace_headroom=-1), state=None, now=NOW)  # fmt: skip
    assert d.target == 2
    assert d.remove == ("idle",)
    assert d.pods == 2  # the planner removes live - pods: exactly "idle"
    # Without a waiting call the pod that never served goes first, as before.
    d = decide(spec=Spec(), load=Load(stable=1, panic=1, now=1), pods=live,
               caps=Caps(namespace_headroom=-1), state=None, now=NOW)  # fmt: skip
    assert d.remove == ("starting",)


@pytest.mark.parametrize(
    ("queued", "per_pod", "kept"),
    [
        pytest.param(0, 1, set(), id="nothing-waits"),
        pytest.param(1, 1, {"old"}, id="one-call-keeps-the-oldest-starting"),
        pytest.param(2, 1, {"old", "new"}, id="two-calls-keep-both"),
        pytest.param(5, 1, {"old", "new"}, id="never-more-than-are-starting"),
        pytest.param(3, 4, {"old"}, id="one-pod-of-four-slots-holds-three"),
    ],
)
def test_starting_for_waiters(queued: float, per_pod: int, kept: set[str]) -> None:
    live = [
        Pod("new", ready=False, created=NOW - 1),
        Pod("old", ready=False, created=NOW - 2),
        Pod("served", ready=False, created=NOW - 3, in_flight=1),  # its agent said ready
        Pod("ready", ready=True, created=NOW - 4),
    ]
    assert starting_for_waiters(live, queued=queued, per_pod=per_pod) == kept


def test_a_pod_serving_before_the_kubelet_calls_it_ready_goes_after_idle_ones() -> None:
    live = [
        Pod("early", ready=False, created=NOW - 1, in_flight=1),
        Pod("idle", ready=True, created=NOW - 100),
    ]
    assert [p.name for p in removal_order(live)] == ["idle", "early"]
