"""Decides which pods to create and delete: desired pods and revision vs what runs.

Pure: observations and `now` in, a `Plan` out.

Decision table (N = desired pods, "current" = pods of the desired revision; a pod
"crashed" when it ended after having been Ready, it "failed to init" otherwise):

| situation                                      | action                                        |
|------------------------------------------------|-----------------------------------------------|
| `hold` (the spec or its code is broken)        | create nothing; delete only ended pods        |
| fewer live current pods than N, none failed    | create the missing ones (attempt 0)           |
| current pods crashed                           | delete them, replace at once (attempt 0)      |
| current pods failed to init, back-off not over | wait (requeue when it is), keep them for logs |
| current pods failed to init, back-off over     | delete them, create replacements (attempt+1)  |
| more live current pods than N                  | delete the surplus: those the autoscaler named|
|                                                | first, then not-ready and newest first        |
| old-revision pods Pending or ended             | delete at once                                |
| old-revision pods Running, not ready           | delete once N current pods are ready          |
| old-revision pods ready                        | delete one per current pod that is ready      |
|                                                | beyond N (surge: new ready before old goes)   |

Of the pods to create, the first are provisioned ones while fewer than
`provisioned` live current pods are.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from kappa.controller.observed import Phase, PodView

BACKOFF_BASE: Final = timedelta(seconds=10)
BACKOFF_MAX: Final = timedelta(minutes=5)
_ENDED: Final = frozenset({Phase.SUCCEEDED, Phase.FAILED})


@dataclass(frozen=True)
class Plan:
    """What to do now, and when to look again if nothing else happens first.

    Of the `create` pods, the first `provisioned` count towards provisioned concurrency.
    """

    create: int = 0
    attempt: int = 0
    delete: tuple[str, ...] = ()
    requeue_after: timedelta | None = None
    provisioned: int = 0


def backoff(attempt: int) -> timedelta:
    """Wait before recreating an environment that failed `attempt` + 1 times in a row."""
    return min(BACKOFF_BASE * (1 << min(attempt, 16)), BACKOFF_MAX)


def plan(  # noqa: PLR0913 - the observations and the wish, all by keyword
    pods: Sequence[PodView],
    *,
    revision: str,
    desired: int,
    now: datetime,
    provisioned: int = 0,
    hold: bool = False,
    remove_first: Sequence[str] = (),
) -> Plan:
    """The create/delete plan that moves `pods` towards `desired` pods of `revision`.

    `provisioned` is how many of the desired pods count towards provisioned
    concurrency. `hold` freezes the Function (its spec or code is broken): pods that
    may serve stay, whatever their revision, and nothing new is made.
    `remove_first` names the pods to remove first when there are too many (the
    autoscaler's order: idle before busy).
    """
    active = [p for p in pods if not p.terminating]
    if hold:
        return Plan(delete=tuple(p.name for p in active if p.phase in _ENDED))
    current = [p for p in active if p.revision == revision]
    old = [p for p in active if p.revision != revision]
    live = [p for p in current if p.live]
    failed = [p for p in current if p.phase is Phase.FAILED]
    init_failed = [p for p in failed if not p.was_ready]
    # An environment that served and then ended (OOM, eviction…) is no init problem.
    crashed = [p for p in failed if p.was_ready]
    delete: list[str] = [p.name for p in current if p.phase is Phase.SUCCEEDED]
    delete += [p.name for p in crashed]
    requeue: timedelta | None = None

    create = max(0, desired - len(live))
    attempt = 0
    if init_failed:
        last = max(init_failed, key=lambda p: (p.finished or p.created, p.attempt))
        retry_at = (last.finished or last.created) + backoff(last.attempt)
        if now < retry_at:
            create = 0
            requeue = retry_at - now
        else:
            delete += [p.name for p in init_failed]
            attempt = last.attempt + 1
    if len(live) > desired:
        rank = {name: index for index, name in enumerate(remove_first)}
        surplus = sorted(
            live,
            key=lambda p: (
                rank.get(p.name, len(rank)),
                p.ready,
                p.provisioned,
                -p.created.timestamp(),
            ),
        )
        delete += [p.name for p in surplus[: len(live) - desired]]

    ready_current = sum(1 for p in live if p.ready)
    old_running = [p for p in old if p.phase is Phase.RUNNING]
    old_ready = [p for p in old_running if p.ready]
    # Pending pods never served; ended ones never will again.
    delete += [p.name for p in old if p.phase is not Phase.RUNNING]
    # A Running pod that is not ready may only be between two readiness checks.
    if ready_current >= desired:
        delete += [p.name for p in old_running if not p.ready]
    removable = max(0, ready_current + len(old_ready) - desired)
    # Oldest first: they have served longest.
    delete += [p.name for p in sorted(old_ready, key=lambda p: p.created)[:removable]]

    kept_provisioned = sum(1 for p in live if p.provisioned and p.name not in delete)
    return Plan(
        create=create,
        attempt=attempt,
        delete=tuple(delete),
        requeue_after=requeue,
        provisioned=min(create, max(0, provisioned - kept_provisioned)),
    )
