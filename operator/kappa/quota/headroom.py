"""How many slots a Function may still add under its namespace's quota.

The gateway throttles a namespace on its own count of invocations, and each
gateway replica counts only its own; what holds a quota across replicas is
the cap on slots (the agents refuse work beyond their slots): as long as the
namespace never has more slots than ``maxConcurrency``, no number of gateways
can run more. The autoscaler therefore never gives a Function more new slots
than ``namespace_headroom`` (None: no quota, no cap), and the gateway, seeing
every slot busy and the namespace at its cap, throttles at once
(``admission.when_full``) instead of waiting for capacity that will not come.

Reserved concurrency is set aside within the namespace as within the cluster:
Functions without reserved concurrency share ``maxConcurrency`` less the
namespace's reserved sum, so they can never take the slots another Function
reserved::

    Function        headroom
    reserved set    maxConcurrency - slots
    reserved unset  min(maxConcurrency - slots,
                        maxConcurrency - reserved sum - slots of unreserved Functions)
    (never below 0; the Function's own reserved cap is the decider's business)

``slots`` counts every live pod of the namespace, ready or starting (a pod
being created will have its slots), but not terminating ones.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from kappa.quota.limits import NamespaceLimits


@dataclass(frozen=True, slots=True)
class NamespaceUse:
    """What a namespace holds now."""

    slots: int = 0  # of live (ready or starting, not terminating) pods, every Function
    unreserved_slots: int = 0  # of those, the slots of Functions without reserved concurrency
    reserved: int = 0  # the sum of the namespace's reserved concurrency


def namespace_use(functions: Iterable[tuple[int | None, int]]) -> NamespaceUse:
    """The use of a namespace whose Functions are ``(reserved, slots of live pods)`` pairs."""
    slots = unreserved = reserved_sum = 0
    for reserved, live in functions:
        slots += live
        if reserved is None:
            unreserved += live
        else:
            reserved_sum += reserved
    return NamespaceUse(slots=slots, unreserved_slots=unreserved, reserved=reserved_sum)


def namespace_headroom(
    limits: NamespaceLimits | None, use: NamespaceUse, *, reserved: int | None
) -> int | None:
    """Slots a Function (with ``reserved``, or None) may still add; None: no namespace quota."""
    if limits is None:
        return None
    room = limits.concurrency - use.slots
    if reserved is None:
        pool = limits.concurrency - use.reserved
        room = min(room, pool - use.unreserved_slots)
    return max(room, 0)
