"""Which operator replica leads: the rules of a coordination.k8s.io Lease (pure).

One replica at a time runs the controller (kopf's handlers, the autoscaler's decisions,
the quota loop); the others wait, ready to take over, and meanwhile answer the admission
webhook. The Lease names the leader
(``holderIdentity``), when it last renewed (``renewTime``) and how long that holds
(``leaseDurationSeconds``). As client-go's leader election::

    no Lease, or no holder                          take it
    held by me                                      renew it
    held by another, renewed less than its
      duration ago                                  wait
    held by another, expired                        take it (leaseTransitions + 1)

A leader that cannot renew before its own duration runs out stops leading (the process
ends and comes back as a standby): two leaders at once would create pods twice.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

LEASE_SECONDS: Final = 10
RENEW_SECONDS: Final = 2.0
_MICRO_TIME: Final = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class LeaseView:
    """What a Lease says."""

    holder: str
    renewed: datetime | None
    duration: int
    transitions: int


class Step(StrEnum):
    """What a replica does next with the Lease."""

    TAKE = "take"
    RENEW = "renew"
    WAIT = "wait"


def next_step(lease: LeaseView | None, me: str, now: datetime) -> Step:
    """The table of the module docstring."""
    if lease is None or not lease.holder:
        return Step.TAKE
    if lease.holder == me:
        return Step.RENEW
    if lease.renewed is None or now - lease.renewed >= timedelta(seconds=lease.duration):
        return Step.TAKE
    return Step.WAIT


def lease_view(spec: dict[str, Any] | None) -> LeaseView | None:
    """The Lease's spec as the API serves it, in JSON (None: there is no Lease).

    A renewTime that does not parse counts as expired: the Lease can be taken.
    """
    if spec is None:
        return None
    return LeaseView(
        holder=str(spec.get("holderIdentity") or ""),
        renewed=_micro_time(spec.get("renewTime")),
        duration=int(spec.get("leaseDurationSeconds") or LEASE_SECONDS),
        transitions=int(spec.get("leaseTransitions") or 0),
    )


def _micro_time(value: object) -> datetime | None:
    """RFC 3339 as the API server writes it (``...Z``) or as clients echo it (``+00:00``)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def held_spec(lease: LeaseView | None, me: str, now: datetime) -> dict[str, Any]:
    """The spec that makes (or keeps) ``me`` the holder at ``now``."""
    mine = lease is not None and lease.holder == me
    transitions = 0 if lease is None else lease.transitions + (0 if mine else 1)
    return {
        "holderIdentity": me,
        "leaseDurationSeconds": LEASE_SECONDS,
        "renewTime": now.strftime(_MICRO_TIME),
        **({} if mine else {"acquireTime": now.strftime(_MICRO_TIME)}),
        "leaseTransitions": transitions,
    }


def released_spec(lease: LeaseView, me: str) -> dict[str, Any] | None:
    """The spec that gives the Lease up (a replica stopping), or None when not ``me``'s."""
    if lease.holder != me:
        return None
    return {"holderIdentity": "", "leaseTransitions": lease.transitions}
