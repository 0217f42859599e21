"""When the Function controller passes again: the result of a pass, and the retry backoff.

As controller-runtime's ``reconcile.Result``: a pass that worked says when it
wants the next unprompted pass (``requeue_after``); a pass that failed is
retried after a delay that doubles with each failure in a row, from
``BASE_SECONDS`` to ``CAP_SECONDS``, and starts again from the base after a
pass that worked. Pure: the reconciler counts the failures.
"""

from dataclasses import dataclass
from typing import Final

BASE_SECONDS: Final = 0.5
CAP_SECONDS: Final = 60.0


@dataclass(frozen=True)
class Result:
    """What one pass asks for: the next pass in ``requeue_after`` seconds (or at a wake-up)."""

    requeue_after: float


def retry_delay(failures: int) -> float:
    """Seconds before retrying after ``failures`` (≥ 1) failed passes in a row.

    | failures | 1   | 2   | 3   | 4   | … | 8    | 9 and more |
    | delay s  | 0.5 | 1   | 2   | 4   | … | 60   | 60         |
    """
    if failures < 1:
        msg = f"retry_delay needs at least one failure, got {failures}"
        raise ValueError(msg)
    # The exponent is capped first, so that a long failure streak cannot overflow.
    return min(CAP_SECONDS, BASE_SECONDS * 2.0 ** min(failures - 1, 32))
