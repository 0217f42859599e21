"""When a Function's next unprompted pass is due, and why (pure: what a pass left, and ``now``).

A Function passes at once when something about it changes: its spec or deletion, one of
its pods, a ConfigMap or Layer its code names, a Function its destinations name, its
ConcurrencyQuota's hold, its namespace's warm pools, and whenever the autoscaler's
decision for it changes (its own tick finds the scale-down delay, the idle window and a
panic's end; a gateway's poke finds a call waiting). What only time brings is here: each
pass says when the next one is due if nothing wakes it first, the earliest of

| what the pass left                           | next pass at                               |
|----------------------------------------------|--------------------------------------------|
| a write the API server refused (a pod, its   | ``now`` + RETRY (10 s): a quota may have   |
| code ConfigMap, a deletion, an adoption)     | been raised, the API server may be back    |
| pods that failed to init, in their back-off  | the back-off's end (the planner's)         |
| pods made, not shown by the watch yet        | the oldest one's ``since`` +               |
|                                              | EXPECTATION_TTL: then the API is asked     |
| ``spec.publish`` refused ``n`` times in a    | ``now`` + the retry back-off of ``n``      |
| row                                          | (kappa.controller.backoff: 0.5 s … 60 s)   |
| calls in flight, or load in the autoscaler's | ``now`` + LOAD_REFRESH (30 s): inFlight    |
| windows (the last 60 s)                      | and the Scaled message follow the load     |
| nothing of the above (a Function at rest)    | ``now`` + the resync, spread ±RESYNC_SPREAD|
|                                              | by its key (10,000 never wake at once)     |

The resync (``KAPPA_RESYNC_SECONDS``) is the safety net, not how anything gets done:
it repairs what no event announced (a bug, a watch that lost an event).
"""

import enum
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from kappa.controller.backoff import retry_delay

Key = tuple[str, str]

RETRY: Final = timedelta(seconds=10)
LOAD_REFRESH: Final = timedelta(seconds=30)
# A pod we created but the watch has not shown yet counts as Pending; after this long
# the API server is asked whether it exists before it is forgotten.
EXPECTATION_TTL: Final = timedelta(seconds=60)
# The resync of each Function is moved by up to this share of it, earlier or later.
RESYNC_SPREAD: Final = 0.1


class Cause(enum.StrEnum):
    """What the next unprompted pass is for (a bounded label)."""

    RETRY = "Retry"
    INIT_BACKOFF = "InitBackoff"
    UNSEEN_POD = "UnseenPod"
    PUBLISH_RETRY = "PublishRetry"
    LOAD = "Load"
    RESYNC = "Resync"


@dataclass(frozen=True, slots=True)
class Left:
    """What a pass left that comes due with time."""

    refused: bool = False  # a write the API server refused
    backoff_end: datetime | None = None  # pods that failed to init may be replaced then
    unseen_since: tuple[datetime, ...] = ()  # pods made, not shown by the watch yet
    publish_failures: int = 0  # spec.publish refused this many times in a row
    load: bool = False  # calls in flight, or in the autoscaler's windows (the last 60 s)


@dataclass(frozen=True, slots=True)
class Due:
    """The next unprompted pass: when, and what for."""

    at: datetime
    cause: Cause


def spread(resync: timedelta, key: Key, share: float = RESYNC_SPREAD) -> timedelta:
    """``resync`` moved by up to ``share`` of it, earlier or later, by the Function's key.

    The same key always moves the same way (no randomness to inject), and keys spread
    evenly: Functions that passed in the same second (an operator's start) resync apart.
    """
    where = zlib.crc32(f"{key[0]}/{key[1]}".encode()) / 2**32  # in [0, 1)
    return resync * (1 - share + 2 * share * where)


def next_pass(now: datetime, left: Left, *, key: Key, resync: timedelta) -> Due:
    """The earliest of the table in the module docstring; never before ``now``."""
    due: list[Due] = []
    if left.refused:
        due.append(Due(now + RETRY, Cause.RETRY))
    if left.backoff_end is not None:
        due.append(Due(left.backoff_end, Cause.INIT_BACKOFF))
    if left.unseen_since:
        due.append(Due(min(left.unseen_since) + EXPECTATION_TTL, Cause.UNSEEN_POD))
    if left.publish_failures > 0:
        after = timedelta(seconds=retry_delay(left.publish_failures))
        due.append(Due(now + after, Cause.PUBLISH_RETRY))
    if left.load:
        due.append(Due(now + LOAD_REFRESH, Cause.LOAD))
    due.append(Due(now + spread(resync, key), Cause.RESYNC))  # last: a tie goes to the others
    first = min(due, key=lambda d: d.at)
    return first if first.at >= now else Due(now, first.cause)
