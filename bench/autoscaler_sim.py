"""Trace-driven autoscaler simulator: Kappa's decider vs a Knative-KPA-like and an HPA-like one.

Pure simulation, no cluster: the same synthetic traces (seeded) run through each
policy with the same model of pods, slots and cold starts, and the figures are
printed per trace. Run: `make bench-autoscaler` (or `python bench/autoscaler_sim.py`).

Model (every policy the same):
- a pod has 1 slot (perPod 1, Lambda semantics); it is ready COLD_START seconds
  after it is asked for; an invocation waits (FIFO) for a free ready slot at most
  MAX_WAIT seconds, else it is throttled (429), as the gateway's bounded queue;
- a pod removed while busy drains (finishes its invocation) and costs until then;
- "cold start": an invocation that waited for a pod that was not ready when it
  arrived (it paid for a start); "queue wait" counts every invocation served;
- pod-seconds: the time every pod existed, starting to drained.

Policies:
- kappa: kappa.autoscaler.decider.decide with its windows, ticked every second on
  the gateways' per-second figures, and a poke (an immediate decision) whenever an
  invocation has to wait; scaleToZeroAfterSeconds 60, targetUtilization 0.7;
- kpa: Knative's KPA defaults: 2 s ticks, 60 s stable / 6 s panic windows, panic
  at 200 %, target 0.7 per pod, max scale-down rate 2, scale to zero once the
  stable window is empty plus a 30 s grace; the activator reports at once only
  for a function at zero pods;
- hpa: a HorizontalPodAutoscaler on a CPU-like utilisation (busy slots / ready
  slots over the last 30 s) with target 70 % and 10 % tolerance, 30 s sync,
  scale-up at most max(4 pods, 100 %) per sync, 5-minute downscale stabilisation,
  never below 1 pod (no scale to zero).
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kappa.autoscaler.decider import Caps, Load, Pod, Spec, State, decide
from kappa.autoscaler.windows import Window, Windows

STEP = 0.05
COLD_START = 1.0
MAX_WAIT = 10.0
TARGET = 0.7


@dataclass
class Request:
    arrival: float
    duration: float


@dataclass
class SimPod:
    name: str
    created: float
    ready_at: float
    busy_until: float = 0.0
    removing: bool = False

    def ready(self, now: float) -> bool:
        return now >= self.ready_at

    def free(self, now: float) -> bool:
        return self.ready(now) and self.busy_until <= now and not self.removing


@dataclass
class Figures:
    cold_starts: int = 0
    waits: list[float] = field(default_factory=list)
    pod_seconds: float = 0.0
    throttled: int = 0
    served: int = 0
    pods_started: int = 0

    def add(self, other: Figures) -> None:
        self.cold_starts += other.cold_starts
        self.waits += other.waits
        self.pod_seconds += other.pod_seconds
        self.throttled += other.throttled
        self.served += other.served
        self.pods_started += other.pods_started


class Function:
    """One function's pods, queue and per-second figures, driven by a policy."""

    def __init__(self, requests: list[Request]) -> None:
        self.requests = deque(sorted(requests, key=lambda r: r.arrival))
        self.queue: deque[Request] = deque()
        self.pods: list[SimPod] = []
        self.draining: list[SimPod] = []
        self.figures = Figures()
        self.seq = 0
        # Per-second figures as a gateway reports them.
        self.area = 0.0
        self.peak = 0  # in flight at once (queued ones apart, as a gateway reports)
        self.history: list[tuple[float, float]] = []  # (second, average concurrency)

    def busy(self, now: float) -> int:
        return sum(1 for p in self.pods if p.busy_until > now)

    def scale_to(
        self, count: int, now: float, order: Callable[[list[SimPod]], list[SimPod]]
    ) -> None:
        live = len(self.pods)
        for _ in range(count - live):
            self.seq += 1
            self.pods.append(SimPod(f"p{self.seq}", now, now + COLD_START))
            self.figures.pods_started += 1
        if count < live:
            for pod in order(self.pods)[: live - count]:
                self.pods.remove(pod)
                pod.removing = True
                self.draining.append(pod)

    def step(self, now: float, poke: Callable[[Function, float], None] | None) -> None:
        while self.requests and self.requests[0].arrival <= now:
            request = self.requests.popleft()
            self.queue.append(request)
            if not any(p.free(now) for p in self.pods) and poke is not None:
                poke(self, now)
        while self.queue and now - self.queue[0].arrival > MAX_WAIT:
            self.queue.popleft()
            self.figures.throttled += 1
        for pod in self.pods:
            if not self.queue:
                break
            if pod.free(now):
                request = self.queue.popleft()
                pod.busy_until = now + request.duration
                self.figures.waits.append(now - request.arrival)
                self.figures.served += 1
                if pod.ready_at > request.arrival:
                    self.figures.cold_starts += 1
        for pod in list(self.draining):
            if pod.busy_until <= now:
                self.draining.remove(pod)
                self.figures.pod_seconds += now - pod.created
        in_flight = self.busy(now)
        self.area += (in_flight + len(self.queue)) * STEP
        self.peak = max(self.peak, in_flight)

    def second(self, now: float) -> tuple[float, int]:
        """(average concurrency over the last second, its peak); a new second begins."""
        average, peak = self.area, self.peak
        self.area, self.peak = 0.0, self.busy(now)
        self.history.append((now, average))
        return average, peak

    def finish(self, now: float) -> None:
        for pod in self.pods + self.draining:
            self.figures.pod_seconds += max(now, pod.busy_until) - pod.created
        self.figures.throttled += len(self.queue) + len(self.requests)


# ------------------------------------------------------------------- policies


def _newest_first(pods: list[SimPod]) -> list[SimPod]:
    # A ReplicaSet removes not-ready pods first, then the newest: busy or not.
    return sorted(pods, key=lambda p: (p.ready_at <= p.created + COLD_START - 1e9, -p.created))


class Kappa:
    name = "kappa"
    tick = 1.0

    def __init__(self) -> None:
        self.spec = Spec(target_utilization=TARGET, scale_to_zero_after=60)
        self.windows: dict[int, Windows] = {}
        self.states: dict[int, State | None] = {}
        self.last: dict[int, tuple[float, int]] = {}

    def _decide(self, fn: Function, now: float, load: Load) -> None:
        pods = [
            Pod(p.name, p.ready(now), p.created, in_flight=int(p.busy_until > now)) for p in fn.pods
        ]
        decision = decide(
            spec=self.spec, load=load, pods=pods, caps=Caps(), now=now,
            state=self.states.get(id(fn)), initial=0,
        )  # fmt: skip
        self.states[id(fn)] = decision.state
        names = list(decision.remove)
        fn.scale_to(decision.pods, now, lambda live: sorted(live, key=lambda p: (
            names.index(p.name) if p.name in names else len(names))))  # fmt: skip

    def on_tick(self, fn: Function, now: float) -> None:
        average, peak = fn.second(now)
        windows = self.windows.setdefault(id(fn), Windows())
        windows.add(now, average)
        stable, panic = windows.averages(now)
        # As a gateway reports: the second's peak in flight plus what waits now.
        # As a gateway reports: the second's peak in flight plus what waits now.
        self._decide(fn, now, Load(stable, panic, now=peak + len(fn.queue)))

    def poke(self, fn: Function, now: float) -> None:
        windows = self.windows.setdefault(id(fn), Windows())
        stable, panic = windows.averages(now)
        self._decide(fn, now, Load(stable, panic, now=fn.busy(now) + len(fn.queue)))


class Kpa:
    name = "kpa"
    tick = 2.0

    def __init__(self) -> None:
        self.stable: dict[int, Window] = {}
        self.panic: dict[int, Window] = {}
        self.panic_since: dict[int, float | None] = {}
        self.panic_pods: dict[int, int] = {}
        self.zero_since: dict[int, float | None] = {}
        self.sample: dict[int, list[float]] = {}

    def on_second(self, fn: Function, now: float) -> None:
        average, _ = fn.second(now)
        self.stable.setdefault(id(fn), Window(60.0)).add(now, average)
        self.panic.setdefault(id(fn), Window(6.0)).add(now, average)

    def on_tick(self, fn: Function, now: float) -> None:
        key = id(fn)
        stable = self.stable.setdefault(key, Window(60.0)).average(now)
        panic = self.panic.setdefault(key, Window(6.0)).average(now)
        ready = max(1, sum(1 for p in fn.pods if p.ready(now)))
        current = len(fn.pods)
        want = math.ceil(stable / TARGET - 1e-9)
        panic_want = math.ceil(panic / TARGET - 1e-9)
        # Max scale-down rate 2; max scale-up rate 1000.
        want = max(want, math.floor(ready / 2)) if want > 0 else 0
        over = panic / TARGET / ready >= 2.0
        since = self.panic_since.get(key)
        if over:
            since = now
        elif since is not None and now - since >= 60:
            since = None
        self.panic_since[key] = since
        if since is not None:
            self.panic_pods[key] = max(self.panic_pods.get(key, 0), panic_want, current)
            want = max(want, self.panic_pods[key])
        else:
            self.panic_pods[key] = 0
        if want == 0 and current > 0:
            # The scale-to-zero grace: keep the last pod 30 s after the window went empty.
            zero = self.zero_since.get(key) or now
            self.zero_since[key] = zero
            if now - zero < 30:
                want = current
        else:
            self.zero_since[key] = None
        fn.scale_to(want, now, _newest_first)

    def poke(self, fn: Function, now: float) -> None:
        # The activator reports at once only when there is no pod at all.
        if not fn.pods:
            fn.scale_to(math.ceil(len(fn.queue) / TARGET - 1e-9), now, _newest_first)


class Hpa:
    name = "hpa"
    tick = 30.0

    def __init__(self) -> None:
        self.busy: dict[int, list[float]] = {}
        self.recommendations: dict[int, list[tuple[float, int]]] = {}

    def on_second(self, fn: Function, now: float) -> None:
        fn.second(now)
        ready = sum(1 for p in fn.pods if p.ready(now)) or 1
        self.busy.setdefault(id(fn), []).append(min(1.0, fn.busy(now) / ready))

    def on_tick(self, fn: Function, now: float) -> None:
        key = id(fn)
        samples = self.busy.get(key, [])[-30:]
        self.busy[key] = []
        current = max(1, len(fn.pods))
        utilisation = sum(samples) / len(samples) if samples else 0.0
        ratio = utilisation / TARGET
        # Saturated slots hide the queue, as CPU hides it: 100 % is all HPA can see.
        want = current if abs(ratio - 1) <= 0.1 else math.ceil(current * ratio)
        want = max(1, min(want, max(current + 4, 2 * current)))
        history = [(t, r) for t, r in self.recommendations.get(key, []) if now - t < 300]
        history.append((now, want))
        self.recommendations[key] = history
        fn.scale_to(max(r for _, r in history), now, _newest_first)

    def start(self, fn: Function, now: float) -> None:
        fn.scale_to(1, now, _newest_first)


# --------------------------------------------------------------------- traces


def _poisson(rng: random.Random, rate: Callable[[float], float], end: float, peak: float,
             duration: Callable[[], float]) -> list[Request]:  # fmt: skip
    """Arrivals of a Poisson process with a time-varying rate (thinning)."""
    t, found = 0.0, []
    while True:
        t += rng.expovariate(peak)
        if t >= end:
            return found
        if rng.random() * peak <= rate(t):
            found.append(Request(t, duration()))


def _constant(rate: float) -> Callable[[float], float]:
    return lambda _t: rate


def traces(seed: int, hours: float) -> dict[str, list[list[Request]]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible traces, not secrets
    end = hours * 3600

    def dur(mean: float) -> Callable[[], float]:
        return lambda: min(30.0, rng.expovariate(1 / mean))

    steady = _poisson(rng, lambda _t: 5.0, end, 5.0, dur(0.2))
    diurnal = _poisson(
        rng, lambda t: 0.5 + 9.75 * (1 - math.cos(2 * math.pi * t / end)), end, 20.0, dur(0.3)
    )
    bursts_at = sorted(rng.uniform(0, end - 30) for _ in range(int(hours * 12)))

    def spiky_rate(t: float) -> float:
        i = bisect.bisect_right(bursts_at, t) - 1
        return 40.0 if i >= 0 and t - bursts_at[i] < 20 else 1.0

    spiky = _poisson(rng, spiky_rate, end, 40.0, dur(0.25))
    windows_on: list[tuple[float, float]] = []
    t = 0.0
    while t < end:
        windows_on.append((t, t + 120))
        t += 120 + rng.uniform(30, 600)

    def on_rate(t: float) -> float:
        return 10.0 if any(a <= t < b for a, b in windows_on) else 0.0

    onoff = _poisson(rng, on_rate, end, 10.0, dur(0.2))
    small = [_poisson(rng, _constant(rng.uniform(1 / 300, 1 / 60)), end, 1 / 60, dur(0.1))
             for _ in range(40)]  # fmt: skip
    return {
        "steady": [steady],
        "diurnal": [diurnal],
        "spiky": [spiky],
        "on-off": [onoff],
        "many-small": small,
    }


def simulate(
    policy_factory: Callable[[], object], trace: list[list[Request]], end: float
) -> Figures:
    policy = policy_factory()
    functions = [Function(requests) for requests in trace]
    if isinstance(policy, Hpa):
        for fn in functions:
            policy.start(fn, 0.0)
    poke = getattr(policy, "poke", None)
    tick = policy.tick  # type: ignore[attr-defined]
    next_second, next_tick = 1.0, tick
    steps = round(end / STEP)
    for index in range(1, steps + 1):
        now = index * STEP
        for fn in functions:
            fn.step(now, poke)
        if now >= next_second - 1e-9:
            next_second += 1.0
            for fn in functions:
                on_second = getattr(policy, "on_second", None)
                if on_second is not None:
                    on_second(fn, now)
                elif now < next_tick - 1e-9:
                    fn.second(now)
        if now >= next_tick - 1e-9:
            next_tick += tick
            for fn in functions:
                policy.on_tick(fn, now)  # type: ignore[attr-defined]
    total = Figures()
    for fn in functions:
        fn.finish(end)
        total.add(fn.figures)
    return total


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="length of each trace")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    end = args.hours * 3600
    print(f"traces of {args.hours:g} h, seed {args.seed}; cold start {COLD_START:g} s, "
          f"max queue wait {MAX_WAIT:g} s, perPod 1, target utilisation {TARGET:g}")  # fmt: skip
    header = (f"{'trace':<11} {'policy':<6} {'calls':>7} {'cold starts':>11} {'pods made':>9} "
              f"{'p99 wait s':>10} {'pod-seconds':>11} {'throttled':>9}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for name, trace in traces(args.seed, args.hours).items():
        for factory in (Kappa, Kpa, Hpa):
            figures = simulate(factory, trace, end)
            print(
                f"{name:<11} {factory.name:<6} {figures.served + figures.throttled:>7} "
                f"{figures.cold_starts:>11} {figures.pods_started:>9} {p99(figures.waits):>10.2f} "
                f"{figures.pod_seconds:>11.0f} {figures.throttled:>9}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
