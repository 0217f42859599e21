"""How many pods a Function should have now, and which go first: the autoscaler's pure core.

Inputs and ``now`` (seconds, any epoch) in, a ``Decision`` out; the state it
carries from one decision to the next (panic mode, when it was last busy) is
returned in the decision and given back next time.

Concurrency is in-flight plus queued invocations, summed over every gateway.
A pod has ``perPod`` slots (``per_pod``: the calls it takes at once, the
Function's ``perPod x perRuntime``) and should keep ``targetUtilization`` of them
busy, so its target is ``perPod * targetUtilization``. Steps, in order:

| step        | rule                                                                      |
|-------------|---------------------------------------------------------------------------|
| stable      | ceil(stable-window average (60 s) / target)                               |
| now         | ceil(concurrency now / perPod): what waits now gets a slot at once        |
| panic       | panic window (6 s) ≥ 2 * target * ready pods → panic; in panic the count  |
|             | never falls (the highest panic-window count is kept) until a stable       |
|             | window (60 s) passed without crossing the threshold (Knative's KPA)       |
| new         | a Function seen for the first time gets ``initial`` pods (1: its code is  |
|             | loaded and checked at once, as Knative's initial scale); one that already |
|             | has pods (the operator restarted) keeps them a stable window (60 s)       |
| delay       | a count is held 30 s after it was last wanted (no start-stop churn)       |
| idle        | no concurrency for ``scaleToZeroAfterSeconds`` → 0; before that, a        |
|             | Function that has pods keeps at least one                                 |
| caps        | at most maxReplicas, ceil(reserved / perPod), and the pods the cluster's  |
|             | and namespace's free slots allow beyond the ones it has                   |
| floor       | never below ceil(provisioned / perPod): provisioned wins over every cap   |
| burst       | at most ``burst_limit`` pods created per 10 s (Lambda's scaling rate);    |
|             | ``pods`` is what to ask for now, ``target`` where it is heading           |
| scale-down  | pods to remove, in order: idle not ready (never served), idle on-demand   |
|             | (newest first), idle provisioned, then the least busy (ready or not: the  |
|             | gateway may route to a pod its agent says is ready before the kubelet);   |
|             | never a pod initialising for calls that wait: while calls are queued, as  |
|             | many idle not-ready pods as they fill (oldest first) stay, and ``pods``   |
|             | rises to keep them                                                        |

Removed pods are drained, not killed: the gateway stops routing to a
terminating pod and the agent finishes what it runs within the pod's grace
period (the function timeout plus a margin).
"""

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

PANIC_THRESHOLD: Final = 2.0
STABLE_SECONDS: Final = 60.0
BURST_SECONDS: Final = 10.0
INITIAL_SCALE: Final = 1
# A count is held this long after it was last wanted before a lower one is followed:
# what a burst's queue asked for is not given back on the next tick (no start-stop churn).
SCALE_DOWN_DELAY: Final = 30.0


class Reason(enum.StrEnum):
    """What shaped a decision (the ``Scaled`` condition's reason; a bounded metric label)."""

    CONCURRENCY = "FollowingConcurrency"
    PANIC = "Panic"
    NEW = "InitialScale"
    IDLE_WAIT = "WaitingForIdle"
    SCALED_TO_ZERO = "ScaledToZero"
    PROVISIONED = "ProvisionedFloor"
    CAP_REACHED = "CapReached"
    BURST_LIMITED = "BurstLimited"


@dataclass(frozen=True, slots=True)
class Spec:
    """The Function's scaling settings."""

    per_pod: int = 1  # calls one pod takes at once: perPod x perRuntime
    target_utilization: float = 0.7
    scale_to_zero_after: float = 60.0
    max_replicas: int | None = None
    provisioned: int = 0  # environments (slots), not pods
    reserved: int | None = None  # environments


@dataclass(frozen=True, slots=True)
class Pod:
    """A live (not terminating) pod of the Function, with what the gateways run on it."""

    name: str
    ready: bool
    created: float
    provisioned: bool = False
    in_flight: int = 0


@dataclass(frozen=True, slots=True)
class Load:
    """Concurrency as the gateways report it: window averages and now."""

    stable: float = 0.0
    panic: float = 0.0
    # In flight (the last second's peak: a call shorter than a second shows) plus queued.
    now: float = 0.0
    queued: float = 0.0  # of ``now``, the calls waiting for a slot


@dataclass(frozen=True, slots=True)
class Caps:
    """Limits from outside the Function.

    The headrooms are slots the Function may still add beyond the pods it has
    (None: no such limit): the cluster's unreserved pool and its namespace's quota.
    """

    cluster_headroom: int | None = None
    namespace_headroom: int | None = None
    burst_limit: int = 1000


@dataclass(frozen=True, slots=True)
class State:
    """What a decision carries to the next one."""

    last_active: float
    panic_since: float | None = None  # the last time the panic threshold was crossed
    panic_pods: int = 0  # the highest count wanted during this panic
    target: int = 0
    high: int = 0  # the highest count wanted since high_at
    high_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Decision:
    """Pods wanted, pods to ask for now, which go first, and why."""

    target: int
    pods: int
    remove: tuple[str, ...]
    reason: Reason
    message: str
    state: State

    @property
    def panic(self) -> bool:
        """Whether the Function is in panic mode."""
        return self.state.panic_since is not None


def floor_pods(spec: Spec) -> int:
    """Pods that hold the provisioned environments."""
    return math.ceil(spec.provisioned / spec.per_pod)


def _caps(spec: Spec, caps: Caps, live: int) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    if spec.max_replicas is not None:
        found.append((spec.max_replicas, f"maxReplicas {spec.max_replicas}"))
    if spec.reserved is not None:
        found.append((math.ceil(spec.reserved / spec.per_pod), f"reserved {spec.reserved}"))
    if caps.cluster_headroom is not None:
        pods = max(0, live + caps.cluster_headroom // spec.per_pod)
        found.append((pods, "the cluster's concurrency limit"))
    if caps.namespace_headroom is not None:
        pods = max(0, live + caps.namespace_headroom // spec.per_pod)
        found.append((pods, "the namespace's concurrency quota"))
    return found


def _panic(
    load: Load, state: State, *, ready: int, per_pod: float, now: float
) -> tuple[float | None, int]:
    """(when the threshold was last crossed, the most pods wanted) of an ongoing panic."""
    over = load.panic > 0 and load.panic / per_pod / max(1, ready) >= PANIC_THRESHOLD
    since = now if over else state.panic_since
    if since is None or now - since >= STABLE_SECONDS:
        return None, 0
    return since, max(state.panic_pods, math.ceil(load.panic / per_pod - 1e-9))


def removal_order(pods: Sequence[Pod]) -> list[Pod]:
    """Pods in the order they go (see the module docstring's scale-down row)."""
    return sorted(
        pods, key=lambda p: (p.in_flight > 0, p.ready, p.provisioned, p.in_flight, -p.created)
    )


def starting_for_waiters(pods: Sequence[Pod], *, queued: float, per_pod: int) -> frozenset[str]:
    """The pods a scale-down keeps: idle, not ready, initialising for calls that wait.

    As many as the waiting calls fill (``queued / per_pod``, rounded up), oldest first
    (the nearest to ready).
    """
    starting = sorted(
        (p for p in pods if not p.ready and p.in_flight == 0), key=lambda p: p.created
    )
    return frozenset(p.name for p in starting[: math.ceil(queued / per_pod - 1e-9)])


def first_state(*, live: int, initial: int, now: float) -> State:
    """The state of a Function's first decision in this process.

    A new Function starts at ``initial``. One whose pods already run (an operator restart,
    an upgrade) keeps them a stable window: its windows are empty until the gateways
    report, and an empty window is not an idle Function.
    """
    if live == 0:
        return State(last_active=now, target=initial)
    return State(last_active=now, target=live, high=live,
                 high_at=now + STABLE_SECONDS - SCALE_DOWN_DELAY)  # fmt: skip


def decide(  # noqa: PLR0913 - the decision's inputs, all by keyword
    *,
    spec: Spec,
    load: Load,
    pods: Sequence[Pod],
    caps: Caps,
    state: State | None,
    now: float,
    initial: int = INITIAL_SCALE,
) -> Decision:
    """Decide per the module docstring's table."""
    live = len(pods)
    ready = sum(1 for p in pods if p.ready)
    target_per_pod = spec.per_pod * spec.target_utilization
    if state is None:
        state = first_state(live=live, initial=initial, now=now)
    busy = load.now > 0
    last_active = now if busy else state.last_active

    want = max(
        math.ceil(load.stable / target_per_pod - 1e-9),
        math.ceil(load.now / spec.per_pod - 1e-9),
    )
    reason = Reason.CONCURRENCY

    panic_since, panic_pods = _panic(load, state, ready=ready, per_pod=target_per_pod, now=now)
    # In panic, never fewer than during the panic so far: the burst may come back.
    if panic_since is not None and max(panic_pods, state.target) > want:
        want, reason = max(panic_pods, state.target), Reason.PANIC

    high, high_at = state.high, state.high_at
    if want >= high or now - high_at >= SCALE_DOWN_DELAY:
        high, high_at = want, now
    elif high > want:
        want = high

    if not busy and now - last_active >= spec.scale_to_zero_after:
        want, reason = 0, Reason.SCALED_TO_ZERO
        panic_since, panic_pods = None, 0
    elif want == 0 and (live > 0 or state.target > 0):
        want = 1
        reason = Reason.NEW if live == 0 else Reason.IDLE_WAIT

    target, binding = want, ""
    for cap, what in _caps(spec, caps, live):
        if cap < target:
            target, binding, reason = cap, what, Reason.CAP_REACHED
    floor = floor_pods(spec)
    if floor > 0 and floor >= target:
        if floor >= want:
            reason = Reason.PROVISIONED
        target = floor

    recent = sum(1 for p in pods if now - p.created < BURST_SECONDS)
    room = max(0, caps.burst_limit - recent)
    asked = min(target, live + room) if target > live else target
    if asked < target:
        reason = Reason.BURST_LIMITED

    remove: tuple[str, ...] = ()
    if asked < live:
        kept = starting_for_waiters(pods, queued=load.queued, per_pod=spec.per_pod)
        removable = [p for p in removal_order(pods) if p.name not in kept]
        remove = tuple(p.name for p in removable[: live - asked])
        asked = live - len(remove)  # the planner removes exactly live - pods
    message = _message(
        reason, target=target, asked=asked, live=live, load=load, binding=binding, spec=spec
    )
    new_state = State(
        last_active=last_active,
        panic_since=panic_since,
        panic_pods=panic_pods,
        target=target,
        high=high,
        high_at=high_at,
    )
    return Decision(target, asked, remove, reason, message, new_state)


def _message(  # noqa: PLR0911, PLR0913 - one sentence per reason, from its parts
    reason: Reason, *, target: int, asked: int, live: int, load: Load, binding: str, spec: Spec
) -> str:
    figures = (
        f"concurrency {load.now:g} now, {load.panic:.2f} over 6 s, {load.stable:.2f} over 60 s; "
        f"target {spec.per_pod * spec.target_utilization:g} per pod"
    )
    match reason:
        case Reason.SCALED_TO_ZERO:
            return f"scaled to zero: idle for {spec.scale_to_zero_after:g} s"
        case Reason.IDLE_WAIT:
            return (
                f"{target} pod(s): idle, kept until {spec.scale_to_zero_after:g} s without "
                "invocations"
            )
        case Reason.NEW:
            return f"{target} pod(s): a new Function starts one to load its code"
        case Reason.PROVISIONED:
            return f"{target} pod(s) hold provisioned concurrency {spec.provisioned} ({figures})"
        case Reason.CAP_REACHED:
            return f"{target} pod(s): capped by {binding} ({figures})"
        case Reason.BURST_LIMITED:
            return (
                f"{asked} of {target} pod(s) for now: burst limit reached (new environments per "
                f"10 s); {live} live ({figures})"
            )
        case Reason.PANIC:
            return f"{target} pod(s), panic mode: a burst over twice the target ({figures})"
        case _:
            return f"{target} pod(s) ({figures})"
