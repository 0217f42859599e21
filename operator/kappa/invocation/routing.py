"""Which pod slot an invocation goes to, and this gateway's count of the slots it holds.

A slot runs one invocation at a time; a pod has ``spec.concurrency.perPod x
perRuntime`` of them (its runtime processes times the calls each takes at once;
1 x 1 is Lambda's one invocation per environment). This gateway only knows the invocations
it sent itself, so an agent may still answer ``429 Kappa.NoFreeSlot`` when
another gateway replica took the slot: the caller then *holds* that pod (treats
it as full) until a short back-off passes or one of our own invocations on it
ends. That is how replicas share pods without talking to each other: the
agents' slots are the ground truth.

Choice: among ready, non-terminating pods with a free slot that are not held,
the least loaded (in-flight / slots); ties are broken by the injected ``pick``
(random in the process, first in tests).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

FunctionKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A function pod's agent as the registry reports it."""

    pod: str
    address: str  # host:port of the agent's /invoke
    slots: int
    ready: bool = True
    terminating: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """An endpoint with this gateway's view of its load."""

    endpoint: Endpoint
    in_flight: int
    held_until: float = 0.0

    def free(self, now: float) -> bool:
        """Whether it may take an invocation now."""
        endpoint = self.endpoint
        return (
            endpoint.ready
            and not endpoint.terminating
            and self.in_flight < endpoint.slots
            and self.held_until <= now
        )

    @property
    def load(self) -> float:
        """The fraction of its slots in use."""
        return self.in_flight / self.endpoint.slots if self.endpoint.slots > 0 else 1.0


Pick = Callable[[Sequence[Candidate]], Candidate]


def first(candidates: Sequence[Candidate]) -> Candidate:
    """A tie-break that takes the first: stable, for tests."""
    return candidates[0]


def choose(candidates: Sequence[Candidate], now: float, pick: Pick = first) -> Candidate | None:
    """The least-loaded free candidate, or None when none is free."""
    free = [candidate for candidate in candidates if candidate.free(now)]
    if not free:
        return None
    lowest = min(candidate.load for candidate in free)
    return pick([candidate for candidate in free if candidate.load == lowest])


@dataclass(frozen=True, slots=True)
class Lease:
    """One slot of one pod, held by one invocation until released."""

    function: FunctionKey
    pod: str
    address: str


@dataclass(slots=True)
class _PodLoad:
    in_flight: int = 0
    held_until: float = 0.0


class SlotTable:
    """This gateway's in-flight invocations per pod and per function.

    Not thread-safe: one event loop owns it. No clock: callers pass ``now``.
    """

    def __init__(self, pick: Pick = first) -> None:
        self._pick = pick
        self._pods: dict[tuple[FunctionKey, str], _PodLoad] = {}
        self._functions: dict[FunctionKey, int] = {}
        self._namespaces: dict[str, int] = {}
        self._total = 0

    @property
    def total(self) -> int:
        """Invocations in flight through this gateway, all functions."""
        return self._total

    def in_flight(self, function: FunctionKey) -> int:
        """Invocations of ``function`` in flight through this gateway."""
        return self._functions.get(function, 0)

    def namespace_in_flight(self, namespace: str) -> int:
        """Invocations of the namespace's Functions in flight through this gateway."""
        return self._namespaces.get(namespace, 0)

    def functions_in_flight(self) -> dict[FunctionKey, int]:
        """Invocations in flight per function (functions with none left out)."""
        return {function: count for function, count in self._functions.items() if count}

    def pods_in_flight(self) -> dict[FunctionKey, dict[str, int]]:
        """Invocations in flight per pod, per function (pods with none left out)."""
        found: dict[FunctionKey, dict[str, int]] = {}
        for (function, pod), load in self._pods.items():
            if load.in_flight:
                found.setdefault(function, {})[pod] = load.in_flight
        return found

    def candidates(self, function: FunctionKey, endpoints: Sequence[Endpoint]) -> list[Candidate]:
        """``endpoints`` with this gateway's load on them."""
        result = []
        for endpoint in endpoints:
            load = self._pods.get((function, endpoint.pod))
            if load is None:
                result.append(Candidate(endpoint, 0))
            else:
                result.append(Candidate(endpoint, load.in_flight, load.held_until))
        return result

    def acquire(
        self, function: FunctionKey, endpoints: Sequence[Endpoint], now: float
    ) -> Lease | None:
        """Take a slot on the least-loaded free pod of ``function``; None when none is free."""
        chosen = choose(self.candidates(function, endpoints), now, self._pick)
        if chosen is None:
            return None
        pod = chosen.endpoint.pod
        load = self._pods.setdefault((function, pod), _PodLoad())
        load.in_flight += 1
        self._functions[function] = self._functions.get(function, 0) + 1
        self._namespaces[function[0]] = self._namespaces.get(function[0], 0) + 1
        self._total += 1
        return Lease(function, pod, chosen.endpoint.address)

    def release(self, lease: Lease) -> None:
        """Give the slot back (the invocation ended); a held pod is free again."""
        key = (lease.function, lease.pod)
        load = self._pods[key]
        load.in_flight -= 1
        load.held_until = 0.0
        if load.in_flight == 0:
            del self._pods[key]
        remaining = self._functions[lease.function] - 1
        if remaining:
            self._functions[lease.function] = remaining
        else:
            del self._functions[lease.function]
        namespace = lease.function[0]
        if self._namespaces[namespace] > 1:
            self._namespaces[namespace] -= 1
        else:
            del self._namespaces[namespace]
        self._total -= 1

    def hold(self, lease: Lease, until: float) -> None:
        """Release ``lease`` unused and treat its pod as full until ``until``.

        For an agent that said it had no free slot (another gateway holds it).
        """
        self.release(lease)
        load = self._pods.setdefault((lease.function, lease.pod), _PodLoad())
        load.held_until = max(load.held_until, until)

    def next_hold_end(self, function: FunctionKey, now: float) -> float | None:
        """When the earliest current hold on ``function``'s pods ends; None without holds."""
        ends = [
            load.held_until
            for (key, _), load in self._pods.items()
            if key == function and load.held_until > now
        ]
        return min(ends, default=None)

    def forget_holds(self, function: FunctionKey, pods: set[str]) -> None:
        """Drop the state of pods of ``function`` no longer listed that have nothing in flight."""
        for key in [k for k, load in self._pods.items() if k[0] == function]:
            if key[1] not in pods and self._pods[key].in_flight == 0:
                del self._pods[key]
