"""When an event runs again: Lambda's retry delays and the requeue back-off (pure).

Two kinds of "again", as in Lambda:

- a **function error** (the handler raised, timed out, or its runtime died) is
  retried at most ``maximumRetryAttempts`` (0-2) times, the first retry after
  ``delays[0]`` (Lambda: about a minute), the second after ``delays[1]``
  (about two minutes);
- a **throttle** (429: reserved concurrency, the cluster limit, a full wait
  queue) or a **system error** (the pod vanished mid-call, no pod ever became
  ready) is requeued without counting as an attempt, after a delay that doubles
  from ``first`` up to ``cap`` (Lambda: 1 s to 5 min), until the event is
  older than ``maximumEventAgeSeconds``.

A finished event whose destination Function does not exist is requeued the
same way until it has waited ``destination_wait`` seconds past its maximum age.
"""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """The delays of one deployment (settings); tests use short ones."""

    retry_delays: Sequence[float] = (60.0, 120.0)
    requeue_first: float = 1.0
    requeue_cap: float = 300.0
    destination_wait: float = 86_400.0


def retry_delay(retry: int, backoff: Backoff) -> float:
    """Seconds before retry number ``retry`` (1-based) after a function error.

    Past the configured delays the last one repeats (Lambda allows two retries).
    """
    if retry < 1:
        raise ValueError(f"retry numbers start at 1, not {retry}")
    delays = backoff.retry_delays
    return float(delays[min(retry, len(delays)) - 1]) if delays else 0.0


def requeue_delay(requeues: int, backoff: Backoff) -> float:
    """Seconds before the event is offered again after its ``requeues``-th throttle (0-based)."""
    if requeues < 0:
        raise ValueError(f"requeue counts start at 0, not {requeues}")
    # 2**60 already dwarfs any cap; bounding the exponent keeps the float finite.
    return min(backoff.requeue_first * 2.0 ** min(requeues, 60), backoff.requeue_cap)
