"""Decides which pods to create and delete: desired pods and revision vs what runs.

Pure: observations and `now` in, a `Plan` out.

Decision table (N = desired pods, "current" = pods of the desired revision):

| situation                                      | action                                        |
|------------------------------------------------|-----------------------------------------------|
| fewer live current pods than N, none failed    | create the missing ones (attempt 0)           |
| current pods failed, back-off not over         | wait (requeue when it is), keep them for logs |
| current pods failed, back-off over             | delete them, create replacements (attempt+1)  |
| more live current pods than N                  | delete the surplus, not-ready and newest first|
| old-revision pods not ready / ended            | delete at once                                |
| old-revision pods ready                        | delete one per current pod that is ready      |
|                                                | beyond N (surge: new ready before old goes)   |
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from kappa.controller.observed import Phase, PodView

BACKOFF_BASE: Final = timedelta(seconds=10)
BACKOFF_MAX: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class Plan:
    """What to do now, and when to look again if nothing else happens first."""

    create: int = 0
    attempt: int = 0
    delete: tuple[str, ...] = ()
    requeue_after: timedelta | None = None


def backoff(attempt: int) -> timedelta:
    """Wait before recreating an environment that failed `attempt` + 1 times in a row."""
    return min(BACKOFF_BASE * (1 << min(attempt, 16)), BACKOFF_MAX)


def plan(pods: Sequence[PodView], *, revision: str, desired: int, now: datetime) -> Plan:
    """The create/delete plan that moves `pods` towards `desired` pods of `revision`."""
    active = [p for p in pods if not p.terminating]
    current = [p for p in active if p.revision == revision]
    old = [p for p in active if p.revision != revision]
    live = [p for p in current if p.live]
    failed = [p for p in current if p.phase is Phase.FAILED]
    delete: list[str] = [p.name for p in current if p.phase is Phase.SUCCEEDED]
    requeue: timedelta | None = None

    missing = max(0, desired - len(live))
    attempt = 0
    create = missing
    if failed:
        last = max(failed, key=lambda p: (p.finished or p.created, p.attempt))
        retry_at = (last.finished or last.created) + backoff(last.attempt)
        if now < retry_at:
            create = 0
            requeue = retry_at - now
        else:
            delete += [p.name for p in failed]
            attempt = last.attempt + 1
    if len(live) > desired:
        surplus = sorted(live, key=lambda p: (p.ready, -p.created.timestamp()))
        delete += [p.name for p in surplus[: len(live) - desired]]

    ready_current = sum(1 for p in live if p.ready)
    old_ready = [p for p in old if p.ready and p.phase is Phase.RUNNING]
    delete += [p.name for p in old if p not in old_ready]
    removable = max(0, ready_current + len(old_ready) - desired)
    # Oldest first: they have served longest.
    delete += [p.name for p in sorted(old_ready, key=lambda p: p.created)[:removable]]
    return Plan(create=create, attempt=attempt, delete=tuple(delete), requeue_after=requeue)
