"""How many generic pods a warm pool keeps, and which go: pure (docs/warm-pools.md).

Inputs and ``now`` (seconds, any epoch) in, a ``PoolSize`` out. Claims are the times
the operator specialised a pool pod of this pool (it makes every claim itself).

| step     | rule                                                                         |
|----------|------------------------------------------------------------------------------|
| rate     | claims per second: the higher of the last 60 s and the last 10 s             |
| reactive | ceil(rate * refill_seconds): claims expected while a new pool pod starts     |
| want     | minimum + reactive, at most maximum                                          |
| quota    | at most the pool pods the namespace's free slots hold (below the floor too)  |
| create   | target - (ready + starting), at most ``burst``                               |
| remove   | (ready + starting) - target: starting pods first, then the newest ready      |
"""

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

RATE_WINDOW_SECONDS: Final = 60.0
BURST_WINDOW_SECONDS: Final = 10.0
DEFAULT_BURST: Final = 50
_EPSILON: Final = 1e-9


class Reason(enum.StrEnum):
    """What set the pool's target (its status reason; a bounded metric label)."""

    FLOOR = "Floor"
    REACTIVE = "Reactive"
    MAX_SIZE = "MaxSize"
    QUOTA_CAPPED = "QuotaCapped"


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """A WarmPool's sizing settings."""

    minimum: int
    maximum: int
    refill_seconds: float = 2.0
    burst: int = DEFAULT_BURST


@dataclass(frozen=True, slots=True)
class PoolPod:
    """A live pool pod (not claimed, not terminating)."""

    name: str
    ready: bool
    created: float


@dataclass(frozen=True, slots=True)
class PoolSize:
    """Where the pool is heading, what to do now, and why."""

    target: int
    create: int
    remove: tuple[str, ...]
    reason: Reason
    message: str


def claim_rate(claims: Sequence[float], now: float) -> float:
    """Claims per second: the higher of the 60 s and the 10 s rates (claims up to ``now``)."""
    recent = [t for t in claims if now - RATE_WINDOW_SECONDS < t <= now]
    burst = sum(1 for t in recent if now - t < BURST_WINDOW_SECONDS)
    return max(len(recent) / RATE_WINDOW_SECONDS, burst / BURST_WINDOW_SECONDS)


def size(
    spec: PoolSpec,
    pods: Sequence[PoolPod],
    claims: Sequence[float],
    *,
    quota_headroom: int | None,
    now: float,
) -> PoolSize:
    """Decide per the module docstring's table.

    ``quota_headroom``: slots the namespace's ConcurrencyQuota still has free beyond its
    pods (a pool pod counts as one), None without a quota.
    """
    rate = claim_rate(claims, now)
    reactive = math.ceil(rate * spec.refill_seconds - _EPSILON)
    want = spec.minimum + reactive
    reason = Reason.REACTIVE if reactive > 0 else Reason.FLOOR
    if want > spec.maximum:
        want, reason = spec.maximum, Reason.MAX_SIZE
    live = len(pods)
    if quota_headroom is not None and want > (fits := max(0, live + quota_headroom)):
        want, reason = fits, Reason.QUOTA_CAPPED
    create = min(max(0, want - live), spec.burst)
    remove: tuple[str, ...] = ()
    if live > want:
        order = sorted(pods, key=lambda p: (p.ready, -p.created))
        remove = tuple(p.name for p in order[: live - want])
    message = (
        f"{want} pool pod(s): floor {spec.minimum}, {rate * 60:.1f} claims/min over "
        f"{spec.refill_seconds:g} s to refill"
    )
    if reason is Reason.MAX_SIZE:
        message += f", capped by size.max {spec.maximum}"
    elif reason is Reason.QUOTA_CAPPED:
        message += ", capped by the namespace's concurrency quota"
    return PoolSize(want, create, remove, reason, message)
