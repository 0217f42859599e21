"""When the durable service tries again and how long a timer message waits (pure).

All durations are milliseconds; ``now`` and due times are epoch milliseconds, passed in.

- A **failed invocation** (the function raised or timed out, its pod was lost, its
  answer was no valid durable output) is invoked again after 5 s, doubling to 5 min,
  until the execution has failed ``attempts`` invocations (5 by default, the testing
  package's figure; ``KAPPA_DURABLE_INVOCATION_ATTEMPTS``): then it FAILS.
- A **throttled** invocation (429 from admission, no pod ready in time) is requeued after
  1 s, doubling to 5 min, not counted against the attempts.
- A **timer** message fetched before it is due is nak'ed for the time left, at most an
  hour (so a changed timer is seen again within the hour), and at least nothing.
"""

from dataclasses import dataclass
from typing import Final

INVOCATION_ATTEMPTS: Final = 5
"""Failed invocations an execution survives by default (the last one fails it)."""
FAILED_FIRST_MS: Final = 5_000
THROTTLED_FIRST_MS: Final = 1_000
BACKOFF_CAP_MS: Final = 300_000
NAK_MAX_MS: Final = 3_600_000


def _doubling(first_ms: int, times: int) -> int:
    """``first_ms`` doubled ``times - 1`` times, capped; ``times`` counts from 1."""
    if times < 1:
        raise ValueError(f"a back-off counts from 1, not {times}")
    delay = first_ms
    for _ in range(times - 1):
        if delay >= BACKOFF_CAP_MS:
            break
        delay *= 2
    return min(delay, BACKOFF_CAP_MS)


@dataclass(frozen=True, slots=True)
class InvokeAgain:
    """Invoke the execution again at ``at_ms``."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class GiveUp:
    """The execution has failed its last allowed invocation: it FAILS."""


def after_failed_invocation(
    failed: int, now_ms: int, attempts: int = INVOCATION_ATTEMPTS
) -> InvokeAgain | GiveUp:
    """What follows the execution's ``failed``-th failed invocation (counted from 1)."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    if failed >= attempts:
        return GiveUp()
    return InvokeAgain(now_ms + _doubling(FAILED_FIRST_MS, failed))


def throttled_delay_ms(requeues: int) -> int:
    """How long the ``requeues``-th requeue of a throttled invocation (from 1) waits."""
    return _doubling(THROTTLED_FIRST_MS, requeues)


def nak_delay_ms(due_ms: int, now_ms: int) -> int:
    """The nak delay of a timer message due at ``due_ms``: ``min(due - now, 1 h)``, at least 0."""
    return max(0, min(due_ms - now_ms, NAK_MAX_MS))
