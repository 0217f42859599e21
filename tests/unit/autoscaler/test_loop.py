"""The autoscaler's shell with a fake clock and a recording wake-up (no sockets, no sleeps)."""

from dataclasses import dataclass, field

from prometheus_client import generate_latest

from kappa.autoscaler.decider import Pod, Reason, Spec
from kappa.autoscaler.loop import Autoscaler
from kappa.autoscaler.stats import Sample

A = ("ns", "a")
B = ("ns", "b")


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Woken:
    keys: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, key: tuple[str, str]) -> None:
        self.keys.append(key)


def scaler(limit: int = 1000, burst: int = 1000) -> tuple[Autoscaler, Clock, Woken]:
    clock, woken = Clock(), Woken()
    return Autoscaler(limit, burst, wake=woken, clock=clock), clock, woken


def test_a_poke_for_a_function_at_zero_decides_and_wakes_at_once() -> None:
    auto, clock, woken = scaler()
    first = auto.observe(A, Spec(), [], initial=0, now=clock.now)
    assert first.pods == 0
    clock.now += 0.01
    auto.poke("g1", A, Sample(queued=1), at=clock.now - 0.002)
    assert woken.keys == [A]
    decision = auto.observe(A, Spec(), [], initial=0, now=clock.now)
    assert decision.pods == 1
    clock.now += 0.03
    auto.created(A, 1)
    text = generate_latest(auto.metrics.registry).decode()
    assert "kappa_autoscaler_poke_to_create_seconds_count 1.0" in text
    assert 'kappa_autoscaler_reports_total{kind="poke"} 1.0' in text


def test_a_poke_before_the_first_reconcile_is_seen_by_it() -> None:
    auto, clock, woken = scaler()
    auto.poke("g1", A, Sample(queued=2))
    assert woken.keys == []  # no task to wake yet: its first pass decides with the poke in
    assert auto.observe(A, Spec(), [], initial=0, now=clock.now).pods == 2


def test_ticks_take_an_idle_function_to_zero_after_its_idle_time() -> None:
    auto, clock, woken = scaler()
    spec = Spec(scale_to_zero_after=5)
    auto.observe(A, spec, [Pod("a-1", ready=True, created=clock.now)], initial=1, now=clock.now)
    for _ in range(4):
        clock.now += 1
        auto.tick(clock.now)
    assert woken.keys == []
    clock.now += 1
    auto.tick(clock.now)
    assert woken.keys == [A]
    decision = auto.observe(
        A, spec, [Pod("a-1", ready=True, created=clock.now - 5)], initial=0, now=clock.now
    )
    assert (decision.target, decision.remove, decision.reason) == (
        0,
        ("a-1",),
        Reason.SCALED_TO_ZERO,
    )


def test_reports_from_gateways_scale_out_on_the_next_tick() -> None:
    auto, clock, woken = scaler()
    live = [Pod("a-1", ready=True, created=clock.now - 60)]
    auto.observe(A, Spec(), live, initial=0, now=clock.now)
    auto.report("g1", {A: Sample(2.0, 2, 1, {"a-1": 1})})
    auto.report("g2", {A: Sample(1.0, 1, 0, {"a-1": 0})})
    clock.now += 1
    auto.tick(clock.now)
    assert woken.keys == [A]
    decision = auto.observe(A, Spec(), live, initial=0, now=clock.now)
    assert decision.target == 6  # 3 in flight + 1 queued over the 1 s seen: ceil(4 / 0.7)
    assert auto.load(A).pods == {"a-1": 1}


def test_unreserved_functions_share_the_pool_left_by_reservations() -> None:
    auto, clock, _ = scaler(limit=10)
    auto.observe(B, Spec(reserved=4), [], initial=0, now=clock.now)
    pods = [Pod(f"a-{i}", ready=True, created=clock.now - 60) for i in range(3)]
    auto.report("g1", {A: Sample(50, 50, 50)})
    decision = auto.observe(A, Spec(), pods, initial=0, now=clock.now)
    assert decision.target == 6  # the pool is 10 - 4 reserved
    assert decision.reason is Reason.CAP_REACHED
    auto.forget(B)
    assert auto.observe(A, Spec(), pods, initial=0, now=clock.now).target == 10


def test_a_quiet_function_at_its_floor_is_not_decided_again() -> None:
    auto, clock, woken = scaler()
    spec = Spec(provisioned=2)
    pods = [Pod("a-1", ready=True, created=clock.now - 60, provisioned=True),
            Pod("a-2", ready=True, created=clock.now - 60, provisioned=True)]  # fmt: skip
    auto.observe(A, spec, pods, initial=0, now=clock.now)
    clock.now += 100
    auto.tick(clock.now)
    assert woken.keys == []
    text = generate_latest(auto.metrics.registry).decode()
    assert "kappa_autoscaler_target_pods 2.0" in text


def test_one_function_whose_decision_fails_does_not_stop_the_others() -> None:
    auto, clock, woken = scaler()
    live = [Pod("x-1", ready=True, created=clock.now - 60)]
    for key in (A, B):
        auto.observe(key, Spec(), live, initial=0, now=clock.now)
        auto.report("g1", {key: Sample(2.0, 2, 1, {"x-1": 1})})
    decide = auto._decide  # noqa: SLF001 - a fault injected into one Function's decision

    def failing_for_a(key: tuple[str, str], now: float) -> object:
        if key == A:
            raise OverflowError("a figure no decision can hold")
        return decide(key, now)

    auto._decide = failing_for_a  # type: ignore[method-assign]  # noqa: SLF001
    clock.now += 1
    auto.tick(clock.now)
    assert woken.keys == [B]
    exposition = generate_latest(auto.metrics.registry).decode()
    assert "kappa_autoscaler_decision_errors_total 1.0" in exposition


def test_a_new_leader_keeps_ten_warm_pods_until_the_gateways_report_then_follows_them() -> None:
    """The operator restarted (or another replica leads): its autoscaler is new, with no
    window and no decision, and finds a Function's ten warm pods. None is removed while no
    gateway has reported; the reports then decide."""
    auto, clock, _ = scaler()
    spec = Spec(scale_to_zero_after=60)
    live = [Pod(f"a-{i}", ready=True, created=clock.now - 300) for i in range(10)]
    # The reconcile passes initial=0 for a Function decided before (status.desiredReplicas).
    first = auto.observe(A, spec, live, initial=0, now=clock.now)
    assert (first.pods, first.remove) == (10, ())
    for _ in range(20):  # twenty ticks with no gateway report
        clock.now += 1
        auto.tick(clock.now)
        decision = auto.observe(A, spec, live, initial=0, now=clock.now)
        assert (decision.pods, decision.remove) == (10, ())
    # The gateways report: 3.5 calls in flight on average, over the next minute.
    for _ in range(61):
        auto.report("g1", {A: Sample(3.5, 4, 0, {f"a-{i}": 1 for i in range(4)})})
        clock.now += 1
        auto.tick(clock.now)
    decision = auto.observe(A, spec, live, initial=0, now=clock.now)
    assert decision.target == 5  # ceil(3.5 / 0.7): the reports decide now
    assert len(decision.remove) == 5
    assert not {f"a-{i}" for i in range(4)} & set(decision.remove)  # busy ones stay


def test_a_function_quiet_again_drops_its_windows() -> None:
    auto, clock, _ = scaler()
    pods = [Pod("a-1", ready=True, created=clock.now - 60, provisioned=True)]
    auto.observe(A, Spec(provisioned=1), pods, initial=0, now=clock.now)
    auto.report("g1", {A: Sample(1.0, 1, 0, {"a-1": 1})})
    clock.now += 1
    auto.tick(clock.now)
    assert A in auto._windows  # noqa: SLF001 - load seen: its windows sample it
    for _ in range(70):  # the gateways' report expires; the stable window (60 s) empties
        clock.now += 1
        auto.tick(clock.now)
    assert A not in auto._windows  # noqa: SLF001 - nothing kept for a Function without load
    decision = auto.observe(A, Spec(provisioned=1), pods, initial=0, now=clock.now)
    assert decision.target == 1


def test_a_quiet_function_is_set_aside_until_load_comes_back() -> None:
    """At its floor with no load, ticks decide nothing for it (10,000 at rest cost no
    tick), and still count its target; a gateway's report of it is decided at once."""
    auto, clock, woken = scaler()
    pods = [Pod("a-1", ready=True, created=clock.now - 60, provisioned=True)]
    auto.observe(A, Spec(provisioned=1), pods, initial=0, now=clock.now)
    clock.now += 1
    auto.tick(clock.now)
    assert (auto._active, auto._quiet) == (set(), {A: 1})  # noqa: SLF001 - set aside
    text = generate_latest(auto.metrics.registry).decode()
    assert "kappa_autoscaler_target_pods 1.0" in text
    auto.report("g1", {A: Sample(5.0, 5, 0, {"a-1": 5})})
    clock.now += 1
    auto.tick(clock.now)
    assert A in auto._active  # noqa: SLF001 - deciding again
    assert woken.keys == [A]  # 5 in flight on one pod: more pods, its pass woken


def test_a_reconcile_or_a_poke_stirs_a_quiet_function() -> None:
    auto, clock, woken = scaler()
    auto.observe(A, Spec(), [], initial=0, now=clock.now)
    clock.now += 1
    auto.tick(clock.now)
    assert A in auto._quiet  # noqa: SLF001 - nothing to do at zero without load
    auto.poke("g1", A, Sample(queued=1))
    assert woken.keys == [A]
    assert A in auto._active  # noqa: SLF001
    clock.now += 1
    auto.tick(clock.now)
    auto.forget(A)
    assert (auto._active, auto._quiet, auto._quiet_target) == (set(), {}, 0)  # noqa: SLF001


def test_loaded_while_the_stable_window_holds_load() -> None:
    auto, clock, _ = scaler()
    pods = [Pod("a-1", ready=True, created=clock.now - 60)]
    auto.observe(A, Spec(), pods, initial=0, now=clock.now)
    assert not auto.loaded(A)
    auto.report("g1", {A: Sample(1.0, 1, 0, {"a-1": 1})})
    clock.now += 1
    auto.tick(clock.now)
    assert auto.loaded(A)
    for _ in range(70):  # the report expires; the stable window (60 s) empties
        clock.now += 1
        auto.tick(clock.now)
    assert not auto.loaded(A)
