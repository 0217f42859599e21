"""The autoscaler's shell: feeds the decider, keeps its state, wakes the Function's reconcile.

- The reconcile of each Function calls ``observe`` with its spec and live
  pods and gets the decision to plan with (the planner takes ``desired``).
- Gateways' reports (``report``, every second per gateway) land on the stats
  board; ``run`` ticks every second: one concurrency sample per Function into
  its windows, a decision, and a wake-up of the Function's reconcile when the
  decision changed (pods, target or reason).
- A poke (an invocation waits for a slot) decides for that Function at once
  and wakes its reconcile: the first pod is asked for within milliseconds of
  the request, not at the next tick.

Per-tick work is O(1) per Function (running sums), and none for a Function that is
quiet: no load, no pods above its floor. Such a Function is set aside until something
can change its decision (its reconcile's ``observe``, a gateway's report or poke of it),
so a tick at rest with 10,000 Functions decides for none of them. The cluster's unreserved pool (the
concurrency limit less every reservation, as Lambda's account pool) is shared
by the Functions without reserved concurrency; running totals give each its
headroom. ``namespace_headroom`` is the seam for namespace quotas.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from kappa.autoscaler.decider import Caps, Decision, Load, Pod, Spec, decide, floor_pods
from kappa.autoscaler.metrics import AutoscalerMetrics
from kappa.autoscaler.stats import Key, Sample, StatsBoard
from kappa.autoscaler.windows import Windows

log = logging.getLogger("kappa.autoscaler")

TICK_SECONDS: Final = 1.0
# The namespace's free slots for a Function (None: no quota); the quota feature plugs in here.
NamespaceHeadroom = Callable[[Key], int | None]


@dataclass
class _Facts:
    spec: Spec
    pods: tuple[Pod, ...]
    initial: int


@dataclass
class Autoscaler:
    """Decisions for every Function, from the gateways' stats and what the reconciles saw."""

    concurrency_limit: int
    burst_limit: int
    wake: Callable[[Key], None] = lambda _key: None
    clock: Callable[[], float] = time.time
    namespace_headroom: NamespaceHeadroom = lambda _key: None
    metrics: AutoscalerMetrics = field(default_factory=AutoscalerMetrics)
    board: StatsBoard = field(default_factory=StatsBoard)
    _facts: dict[Key, _Facts] = field(default_factory=dict)
    _windows: dict[Key, Windows] = field(default_factory=dict)
    _decisions: dict[Key, Decision] = field(default_factory=dict)
    _pokes: dict[Key, float] = field(default_factory=dict)  # earliest unanswered poke
    _active: set[Key] = field(default_factory=set)  # what a tick decides for: all but the quiet
    _quiet: dict[Key, int] = field(default_factory=dict)  # quiet at their floor: their target
    _quiet_target: int = 0
    _slots: dict[Key, int] = field(default_factory=dict)  # live slots of unreserved Functions
    _reserved: dict[Key, int] = field(default_factory=dict)
    _unreserved_slots: int = 0
    _reserved_total: int = 0

    # ------------------------------------------------------------- reconcile side

    def observe(
        self, key: Key, spec: Spec, pods: Sequence[Pod], *, initial: int, now: float
    ) -> Decision:
        """Record what the reconcile of ``key`` sees; the decision to plan with."""
        self._facts[key] = _Facts(spec, tuple(pods), initial)
        self._stir(key)
        self._account(key, spec, len(pods))
        decision, _ = self._decide(key, now)
        if decision.pods <= len(pods):
            self._pokes.pop(key, None)  # nothing to create: no poke left to time
        return decision

    def forget(self, key: Key) -> None:
        """``key`` is gone."""
        self._facts.pop(key, None)
        self._active.discard(key)
        self._quiet_target -= self._quiet.pop(key, 0)
        self._windows.pop(key, None)
        self._decisions.pop(key, None)
        self._pokes.pop(key, None)
        self._unreserved_slots -= self._slots.pop(key, 0)
        self._reserved_total -= self._reserved.pop(key, 0)
        self.metrics.functions.set(len(self._facts))

    def load(self, key: Key) -> Sample:
        """The gateways' summed figures for ``key``."""
        return self.board.total(key)

    def loaded(self, key: Key) -> bool:
        """Whether ``key`` had load within the stable window (its averages are not all 0)."""
        windows = self._windows.get(key)
        return windows is not None and not windows.stable.empty

    def created(self, key: Key, count: int) -> None:
        """The reconcile of ``key`` created ``count`` pods: time the poke that asked."""
        poked = self._pokes.pop(key, None)
        if poked is not None and count > 0:
            took = max(0.0, self.clock() - poked)
            self.metrics.poke_to_create.observe(took)
            log.info("%s/%s: poke to pod create %.1f ms", *key, took * 1000)

    # --------------------------------------------------------------- gateway side

    def report(
        self, gateway: str, functions: Mapping[Key, Sample], address: str | None = None
    ) -> None:
        """A gateway's figures for the last second (``address``: where it takes pushes)."""
        self.board.report(gateway, functions, self.clock(), address)
        self.metrics.reports.labels("stats").inc()

    def ready_addresses(self) -> tuple[str, ...]:
        """Where the live gateways take agents' readiness pushes (for new pods' agents)."""
        return self.board.ready_addresses()

    def poke(
        self,
        gateway: str,
        key: Key,
        sample: Sample,
        at: float | None = None,
        address: str | None = None,
    ) -> None:
        """An invocation of ``key`` waits at ``gateway`` since ``at`` (wall clock): decide now."""
        now = self.clock()
        self.metrics.reports.labels("poke").inc()
        self.board.poke(gateway, key, sample, now, address)
        self._pokes.setdefault(key, now if at is None else min(at, now))
        if key not in self._facts:
            return  # not reconciled yet: its first pass decides with the poke in
        self._stir(key)
        # Not into the windows (the next tick samples it): the decider's "now" term gives
        # what waits a slot at once.
        decision, changed = self._decide(key, now)
        if changed or decision.pods > len(self._facts[key].pods):
            self.wake(key)
        else:
            self._pokes.pop(key, None)  # nothing to create: capacity is there or capped

    # ---------------------------------------------------------------------- ticks

    async def run(self) -> None:
        """Tick every TICK_SECONDS until cancelled."""
        while True:
            started = time.perf_counter()
            try:
                self.tick(self.clock())
            except Exception:  # a bad tick must not stop autoscaling
                log.exception("autoscaler tick failed")
            self.metrics.tick_seconds.observe(time.perf_counter() - started)
            await asyncio.sleep(TICK_SECONDS)

    def tick(self, now: float) -> None:
        """Sample every Function's concurrency and decide; wake those whose decision changed."""
        self.board.expire(now)
        self.metrics.gateways.set(self.board.gateways)
        reported = self.board.keys()
        for key in reported & self._quiet.keys():  # load again
            self._stir(key)
        panicking = target = 0
        for key in list(self._active):
            facts = self._facts[key]
            windows = self._windows.get(key)
            if key not in reported and (windows is None or windows.stable.empty):
                previous = self._decisions.get(key)
                if (
                    previous is not None
                    and not previous.panic
                    and previous.target == floor_pods(facts.spec)
                    and previous.pods == len(facts.pods)
                ):
                    # Quiet at its floor: nothing can change without load, or new facts.
                    self._active.discard(key)
                    self._quiet[key] = previous.target
                    self._quiet_target += previous.target
                    if windows is not None:  # empty: its averages are 0, as with none
                        del self._windows[key]  # (two deques each, for 10,000 Functions)
                    continue
            if windows is None:
                windows = self._windows[key] = Windows()
            try:  # one Function's failure (a bad figure, a bug) never stops the others'
                windows.add(now, self.board.total(key).average)
                decision, changed = self._decide(key, now)
            except Exception:
                log.exception("autoscaler: deciding %s/%s failed; the others go on", *key)
                self.metrics.decision_errors.inc()
                continue
            panicking += decision.panic
            target += decision.target
            if changed:
                self.wake(key)
        self.metrics.panicking.set(panicking)
        self.metrics.target_pods.set(target + self._quiet_target)
        self.metrics.functions.set(len(self._facts))

    # ------------------------------------------------------------------ internals

    def _stir(self, key: Key) -> None:
        """``key`` may decide otherwise now: the ticks decide for it again."""
        self._quiet_target -= self._quiet.pop(key, 0)
        self._active.add(key)

    def _account(self, key: Key, spec: Spec, live: int) -> None:
        self._unreserved_slots -= self._slots.pop(key, 0)
        self._reserved_total -= self._reserved.pop(key, 0)
        if spec.reserved is None:
            self._slots[key] = live * spec.per_pod
            self._unreserved_slots += self._slots[key]
        else:
            self._reserved[key] = spec.reserved
            self._reserved_total += spec.reserved

    def _caps(self, key: Key, spec: Spec) -> Caps:
        cluster = None
        if spec.reserved is None:
            pool = max(0, self.concurrency_limit - self._reserved_total)
            cluster = pool - self._unreserved_slots
        return Caps(
            cluster_headroom=cluster,
            namespace_headroom=self.namespace_headroom(key),
            burst_limit=self.burst_limit,
        )

    def _decide(self, key: Key, now: float) -> tuple[Decision, bool]:
        facts = self._facts[key]
        total = self.board.total(key)
        windows = self._windows.get(key)
        stable, panic = windows.averages(now) if windows is not None else (0.0, 0.0)
        pods = [replace(p, in_flight=total.pods.get(p.name, 0)) for p in facts.pods]
        previous = self._decisions.get(key)
        decision = decide(
            spec=facts.spec,
            load=Load(stable=stable, panic=panic, now=total.now, queued=total.queued),
            pods=pods,
            caps=self._caps(key, facts.spec),
            state=None if previous is None else previous.state,
            now=now,
            initial=facts.initial,
        )
        self._decisions[key] = decision
        changed = previous is None or (previous.pods, previous.target, previous.reason) != (
            decision.pods,
            decision.target,
            decision.reason,
        )
        if changed:
            self.metrics.decisions.labels(decision.reason.value).inc()
            if previous is not None and decision.target != previous.target:
                direction = "up" if decision.target > previous.target else "down"
                self.metrics.scalings.labels(direction).inc()
        return decision, changed
