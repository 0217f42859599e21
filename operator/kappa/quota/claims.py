"""What Functions set aside, whether a Function fits, and which do not.

A Function *claims* its reserved concurrency, or, without one, its provisioned
concurrency (provisioned environments of a Function with reserved concurrency
come out of that reservation, as in Lambda). Against its namespace's quota a
Function must fit all three sums; against the cluster, the claims may not eat
into the unreserved minimum::

    check                                           limit
    namespace reserved sum + reserved               maxReserved
    namespace provisioned sum + provisioned         maxProvisioned
    namespace claims + claim                        maxConcurrency
    cluster claims + claim                          cluster limit - unreserved minimum

``problem`` answers for one Function against the sums of the others: the
admission webhook refuses a Function it returns a message for. What the
webhook cannot know (a quota lowered after its Functions exist, a Function
applied while the webhook was down) is found by ``held``: Functions are taken
first come, first served (creation time, then namespace and name) and each one
that does not fit what came before it is held, with the message why, while it
adds nothing to the sums. A Function that claims nothing is never held.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kappa.quota.limits import ClusterLimits, NamespaceLimits

FunctionKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class Claim:
    """The concurrency a Function sets aside."""

    namespace: str
    name: str
    reserved: int | None = None
    provisioned: int = 0
    created: str = ""  # creationTimestamp (RFC 3339, so ordered as text); "" sorts first
    per_pod: int = 1  # slots of each of its pods (concurrency.perPod x perRuntime)
    uid: str = ""  # the Function's uid: its pods are those whose controller it is

    @property
    def key(self) -> FunctionKey:
        """(namespace, name)."""
        return (self.namespace, self.name)

    @property
    def claimed(self) -> int:
        """What it takes out of the pools: reserved, else provisioned."""
        return self.provisioned if self.reserved is None else self.reserved


def claim_of(obj: Mapping[str, Any]) -> Claim:
    """The claim of the Function ``obj`` (API JSON); values the schema forbids count as unset."""
    metadata = obj.get("metadata") or {}
    concurrency = (obj.get("spec") or {}).get("concurrency") or {}
    reserved = concurrency.get("reserved")
    provisioned = concurrency.get("provisioned")
    return Claim(
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        reserved=_count(reserved),
        provisioned=_count(provisioned) or 0,
        created=str(metadata.get("creationTimestamp") or ""),
        per_pod=max(_count(concurrency.get("perPod")) or 1, 1)
        * max(_count(concurrency.get("perRuntime")) or 1, 1),
        uid=str(metadata.get("uid") or ""),
    )


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def grows(new: Claim, old: Claim | None) -> bool:
    """Whether ``new`` asks for more than ``old`` did (a new Function: whether it claims at all).

    An update that asks for no more is always let through, even in a namespace already
    over its quota, so that a user can always lower what a Function holds.
    """
    if old is None:
        return new.claimed > 0
    return (
        (new.reserved or 0) > (old.reserved or 0)
        or new.provisioned > old.provisioned
        or new.claimed > old.claimed
    )


@dataclass(slots=True)
class Sums:
    """Reserved, provisioned and claimed concurrency of a set of Functions."""

    reserved: int = 0
    provisioned: int = 0
    claimed: int = 0
    functions: int = 0

    def add(self, claim: Claim, sign: int = 1) -> None:
        """Count ``claim`` in (``sign`` -1: out)."""
        self.reserved += sign * (claim.reserved or 0)
        self.provisioned += sign * claim.provisioned
        self.claimed += sign * claim.claimed
        self.functions += sign

    def without(self, claim: Claim | None) -> "Sums":
        """These sums less ``claim`` (counted in them), as a new Sums."""
        rest = Sums(self.reserved, self.provisioned, self.claimed, self.functions)
        if claim is not None:
            rest.add(claim, -1)
        return rest

    @classmethod
    def of(cls, claims: Iterable[Claim]) -> "Sums":
        """The sums of ``claims``."""
        sums = cls()
        for claim in claims:
            sums.add(claim)
        return sums


def _left(limit: int, used: int) -> str:
    return f"{max(limit - used, 0)} left"


def problem(
    claim: Claim,
    *,
    namespace: Sums,
    cluster: Sums,
    limits: NamespaceLimits | None,
    cluster_limits: ClusterLimits,
) -> str | None:
    """Why ``claim`` does not fit next to the others (their sums), or None when it does."""
    ns = claim.namespace
    if claim.claimed == 0:
        return None
    if limits is not None:
        for what, asked, used, limit in (
            ("reserved", claim.reserved or 0, namespace.reserved, limits.reserved),
            ("provisioned", claim.provisioned, namespace.provisioned, limits.provisioned),
        ):
            if asked and used + asked > limit:
                return (
                    f"spec.concurrency.{what} {asked} would bring the {what} concurrency of "
                    f"namespace {ns} to {used + asked}, over its ConcurrencyQuota's "
                    f"max{what.capitalize()} {limit} ({_left(limit, used)}): lower {what} or "
                    "raise the quota"
                )
        if namespace.claimed + claim.claimed > limits.concurrency:
            return (
                f"setting aside {claim.claimed} (reserved, else provisioned concurrency) would "
                f"bring what namespace {ns} sets aside to {namespace.claimed + claim.claimed}, "
                f"over its ConcurrencyQuota's maxConcurrency {limits.concurrency} "
                f"({_left(limits.concurrency, namespace.claimed)}): lower it or raise the quota"
            )
    reservable = cluster_limits.reservable
    if cluster.claimed + claim.claimed > reservable:
        return (
            f"setting aside {claim.claimed} (reserved, else provisioned concurrency) would leave "
            f"less than the cluster's unreserved minimum of {cluster_limits.unreserved_minimum} "
            f"of its {cluster_limits.concurrency} concurrent executions "
            f"({_left(reservable, cluster.claimed)} to set aside): lower it, or ask the "
            "platform team to raise the cluster limit"
        )
    return None


def refusal(  # noqa: PLR0913 - the Function, before and after, and what it must fit
    new: Claim,
    old: Claim | None,
    *,
    namespace: Sums,
    cluster: Sums,
    limits: NamespaceLimits | None,
    cluster_limits: ClusterLimits,
) -> str | None:
    """The admission webhook's answer: why ``new`` is refused, or None.

    ``namespace`` and ``cluster`` are the sums of the other Functions (not this one).
    """
    if not grows(new, old):
        return None
    return problem(
        new, namespace=namespace, cluster=cluster, limits=limits, cluster_limits=cluster_limits
    )


@dataclass(frozen=True, slots=True)
class Held:
    """The Functions that do not fit, and the sums of those that do."""

    messages: Mapping[FunctionKey, str] = field(default_factory=dict)
    namespaces: Mapping[str, Sums] = field(default_factory=dict)
    cluster: Sums = field(default_factory=Sums)


def held(
    claims: Sequence[Claim],
    limits: Mapping[str, NamespaceLimits],
    cluster_limits: ClusterLimits,
) -> Held:
    """Take ``claims`` first come, first served; those that do not fit are held (see above)."""
    messages: dict[FunctionKey, str] = {}
    namespaces: dict[str, Sums] = {}
    cluster = Sums()
    for claim in sorted(claims, key=lambda c: (c.created, c.namespace, c.name)):
        sums = namespaces.setdefault(claim.namespace, Sums())
        why = problem(
            claim,
            namespace=sums,
            cluster=cluster,
            limits=limits.get(claim.namespace),
            cluster_limits=cluster_limits,
        )
        if why is None:
            sums.add(claim)
            cluster.add(claim)
        else:
            messages[claim.key] = why
    return Held(messages, namespaces, cluster)
