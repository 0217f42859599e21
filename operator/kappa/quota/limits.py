"""The limits that bind a namespace and the cluster.

A namespace may hold several ConcurrencyQuotas; all apply, as ResourceQuotas do,
so each of its limits is the tightest any of them sets. The cluster's limits
come from the operator's settings, as Lambda's account limits: a concurrency
limit (1,000) of which an unreserved minimum (100) may never be set aside.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from kappa.api.quota import ConcurrencyQuotaSpec


@dataclass(frozen=True, slots=True)
class NamespaceLimits:
    """A namespace's effective quota."""

    concurrency: int
    reserved: int
    provisioned: int
    queued_events: int | None = None  # None: no bound
    queued_bytes: int | None = None  # None: no bound

    @classmethod
    def of(cls, spec: ConcurrencyQuotaSpec) -> "NamespaceLimits":
        """The limits one ConcurrencyQuota sets (unset ones are ``maxConcurrency``)."""
        return cls(
            spec.max_concurrency, spec.reserved_limit, spec.provisioned_limit,
            spec.max_queued_events, spec.max_queued_bytes,
        )  # fmt: skip


def effective(specs: Iterable[ConcurrencyQuotaSpec]) -> NamespaceLimits | None:
    """The tightest of each limit of ``specs``; None when there is no quota."""
    limits = [NamespaceLimits.of(spec) for spec in specs]
    if not limits:
        return None
    return NamespaceLimits(
        concurrency=min(limit.concurrency for limit in limits),
        reserved=min(limit.reserved for limit in limits),
        provisioned=min(limit.provisioned for limit in limits),
        queued_events=_tightest(limit.queued_events for limit in limits),
        queued_bytes=_tightest(limit.queued_bytes for limit in limits),
    )


def _tightest(values: Iterable[int | None]) -> int | None:
    """The least of the values set; None when none is."""
    return min((value for value in values if value is not None), default=None)


@dataclass(frozen=True, slots=True)
class ClusterLimits:
    """The cluster's limits (operator settings)."""

    concurrency: int = 1000
    unreserved_minimum: int = 100

    @property
    def reservable(self) -> int:
        """What Functions may set aside in total: the limit less the unreserved minimum."""
        return max(self.concurrency - self.unreserved_minimum, 0)
