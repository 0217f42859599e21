"""How a replica's workers share out between namespaces (pure).

Each namespace with queued events has a stream of its own (``P-events_<namespace>``)
with a consumer (``ns-<namespace>``) and, in every replica, a fetch loop of its own
(two while the shared stream of earlier versions still holds some of its events:
its consumer there is filtered to ``P.async.<namespace>.*``); the loops draw on the
replica's ``workers`` slots. A namespace may hold at
most its share of them while others have events too::

    share = ceil(workers / namespaces with events)      (all of them when alone)

so a backlog in one namespace (50,000 events of a throttled Function, requeued
for hours) leaves the other namespaces' events slots to start in at once, and no
loop waits on another's fetch.
"""

import math
from collections.abc import Mapping


def share(workers: int, namespaces: int) -> int:
    """The slots one namespace may hold while ``namespaces`` have events (at least 1)."""
    return max(1, math.ceil(workers / max(namespaces, 1)))


def grant(
    namespace: str, *, free: int, running: Mapping[str, int], namespaces: int, workers: int
) -> int:
    """How many events ``namespace``'s loop may fetch now: within the free slots and its share."""
    return max(0, min(free, share(workers, namespaces) - running.get(namespace, 0)))


def namespaces_of(subjects: Mapping[str, int], prefix: str) -> dict[str, int]:
    """Events per namespace, from the shared stream's (earlier versions') per-subject counts.

    Subjects are ``<prefix>.async.<namespace>.<function>``; any other is ignored.
    """
    counts: dict[str, int] = {}
    for subject, count in subjects.items():
        parts = subject.split(".")
        if len(parts) == 4 and parts[0] == prefix and parts[1] == "async" and count > 0:  # noqa: PLR2004
            counts[parts[2]] = counts.get(parts[2], 0) + count
    return counts


def per_namespace(sources: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """Events per namespace, from events per (stream, namespace): a namespace's share is one."""
    counts: dict[str, int] = {}
    for (_, namespace), count in sources.items():
        counts[namespace] = counts.get(namespace, 0) + count
    return counts
