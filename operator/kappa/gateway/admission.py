"""Whether an invocation may start, and what to do when no slot is free.

``admit`` runs first, on this gateway's counts of running invocations::

    condition (first that holds)                        decision
    reserved == 0                                       Throttle Reserved…LimitExceeded
    namespace quota given and its in-flight >= limit    Throttle ConcurrentInvocationLimitExceeded
    cluster in-flight >= cluster limit                  Throttle ConcurrentInvocationLimitExceeded
    reserved set and function in-flight >= reserved     Throttle Reserved…LimitExceeded
    reserved unset and unreserved in-flight >= pool     Throttle ConcurrentInvocationLimitExceeded
      (pool = cluster limit - sum of reserved)
    otherwise                                           Admit

``when_full`` runs when admitted but no slot is free right now::

    reserved set and the function's slots >= reserved   Throttle Reserved…LimitExceeded
    namespace quota given and its slots >= limit        Throttle ConcurrentInvocationLimitExceeded
    cluster slots >= cluster limit                      Throttle ConcurrentInvocationLimitExceeded
    otherwise                                           Wait (capacity may come: scale-up)

Why ``when_full``: each gateway replica counts only its own invocations, so
``admit`` alone would let N replicas run N times the limit. The autoscaler never
gives a function more slots than its reserved concurrency (nor the cluster
more than its limit), and an agent refuses work beyond its slots; so when every
slot is busy and the slots are already at the cap, no capacity is coming and
the caller is throttled at once, with the reason of the cap that binds.

A namespace's ConcurrencyQuota holds the same way: the registry reports the
namespace's ``maxConcurrency`` (the tightest of its quotas) with the slots of
its ready pods (``NamespaceQuota``); ``admit`` throttles on this gateway's count
of the namespace's invocations, and ``when_full`` once the namespace's slots
reach its limit, which the autoscaler never exceeds
(``kappa.quota.headroom.namespace_headroom``). Where the slots exceed the limit
(pods made before the quota was lowered, or several slots per pod), each
replica still holds the namespace to the limit on its own count.
"""

from dataclasses import dataclass

from kappa.invocation.errors import ThrottleReason


@dataclass(frozen=True, slots=True)
class Limits:
    """Cluster-wide limits (operator settings, as Lambda's account limits)."""

    cluster: int
    reserved_total: int = 0  # the sum of every function's reserved concurrency

    @property
    def unreserved_pool(self) -> int:
        """Concurrency shared by functions without reserved concurrency."""
        return max(self.cluster - self.reserved_total, 0)


@dataclass(frozen=True, slots=True)
class Load:
    """Running invocations as this gateway counts them."""

    cluster: int = 0
    unreserved: int = 0  # of functions without reserved concurrency
    function: int = 0


@dataclass(frozen=True, slots=True)
class NamespaceQuota:
    """A namespace's concurrency quota (``maxConcurrency``) and its use."""

    limit: int
    in_flight: int  # as this gateway counts them
    slots: int = 0  # of the namespace's ready, non-terminating pods


@dataclass(frozen=True, slots=True)
class Admit:
    """The invocation may go on."""


@dataclass(frozen=True, slots=True)
class Wait:
    """No slot now, but capacity may come: queue the invocation."""


@dataclass(frozen=True, slots=True)
class Throttle:
    """429 with this reason."""

    reason: ThrottleReason
    message: str


RESERVED = ThrottleReason.RESERVED_FUNCTION_CONCURRENT_INVOCATION_LIMIT_EXCEEDED
CONCURRENT = ThrottleReason.CONCURRENT_INVOCATION_LIMIT_EXCEEDED
_RATE_MESSAGE = "Rate Exceeded."


def admit(
    *,
    reserved: int | None,
    load: Load,
    limits: Limits,
    quota: NamespaceQuota | None = None,
) -> Admit | Throttle:
    """Admit or throttle per the first table of the module docstring."""
    if reserved == 0:
        return Throttle(RESERVED, _RATE_MESSAGE)
    if quota is not None and quota.in_flight >= quota.limit:
        return Throttle(CONCURRENT, _RATE_MESSAGE)
    if load.cluster >= limits.cluster:
        return Throttle(CONCURRENT, _RATE_MESSAGE)
    if reserved is not None:
        if load.function >= reserved:
            return Throttle(RESERVED, _RATE_MESSAGE)
    elif load.unreserved >= limits.unreserved_pool:
        return Throttle(CONCURRENT, _RATE_MESSAGE)
    return Admit()


def when_full(
    *,
    reserved: int | None,
    function_slots: int,
    cluster_slots: int,
    cluster_limit: int,
    quota: NamespaceQuota | None = None,
) -> Wait | Throttle:
    """Wait or throttle per the second table of the module docstring."""
    if reserved is not None and function_slots >= reserved:
        return Throttle(RESERVED, _RATE_MESSAGE)
    if quota is not None and quota.slots >= quota.limit:
        return Throttle(CONCURRENT, _RATE_MESSAGE)
    if cluster_slots >= cluster_limit:
        return Throttle(CONCURRENT, _RATE_MESSAGE)
    return Wait()
