"""What an invocation's answer means for each record of its batch, and what happens next.

Decision table (``judge``), from Lambda's documented behaviour:

=============================================  ============  ==========================
invoke answer                                  verdict       records
=============================================  ============  ==========================
200, no ``X-Amz-Function-Error``               SUCCESS       all done
  + ReportBatchItemFailures, body null/empty,  SUCCESS       all done
    not an object, no or empty
    ``batchItemFailures``
  + ``batchItemFailures`` naming records       PARTIAL       those failed (ordered: per
                                                             key, the lowest named and
                                                             every later one; only the
                                                             named ones count an attempt)
  + an entry that is not an object, lacks      FUNCTION_     all failed
    ``itemIdentifier``, names it empty, null   ERROR
    or unknown, or a body that is not JSON
200 with ``X-Amz-Function-Error``              FUNCTION_     all failed (bisected first
                                               ERROR         for streams that ask)
413 RequestTooLargeException                   TOO_LARGE     split; one record alone
                                                             goes to onFailure
429, 5xx, 404, no answer                       NOT_INVOKED   all released, no attempt
                                                             counted; the runner backs off
=============================================  ============  ==========================

``settle`` then sorts the failed records: a record whose attempts exceed
``maximumRetryAttempts`` (-1: no limit) or that is older than
``maximumRecordAgeSeconds`` (-1: no limit) goes to the failure destination and
is acknowledged; the rest are released for a retry.

Pure: no I/O, no clock (``now_ms`` is an argument).
"""

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from kappa.eventsources.source import FailureCondition, Record


class Verdict(enum.StrEnum):
    """How the invocation went, for the batch as a whole."""

    SUCCESS = "Success"
    PARTIAL = "PartialFailure"
    FUNCTION_ERROR = "FunctionError"
    TOO_LARGE = "PayloadTooLarge"
    NOT_INVOKED = "NotInvoked"


@dataclass(frozen=True)
class InvokeResult:
    """What the gateway answered (status 0: no answer at all)."""

    status: int
    payload: bytes = b""
    function_error: str | None = None
    error_type: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """Records of a batch sorted by what the invocation meant for them.

    ``failed`` count an attempt; ``released`` (ordered sources: records after
    the lowest failed of their key, and everything when the function was not
    invoked) go back without one.
    """

    verdict: Verdict
    succeeded: tuple[Record, ...] = ()
    failed: tuple[Record, ...] = ()
    released: tuple[Record, ...] = ()
    detail: str = ""


def judge(  # noqa: PLR0911 - one return per row of the decision table
    batch: Sequence[Record],
    result: InvokeResult,
    *,
    reports_item_failures: bool,
    ordered: bool,
) -> BatchOutcome:
    """Sort ``batch`` by ``result`` (see the module's table)."""
    records = tuple(batch)
    if result.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        return BatchOutcome(Verdict.TOO_LARGE, detail="PROBLEM: Payload too large")
    if result.status != HTTPStatus.OK:
        what = result.error_type or (f"HTTP {result.status}" if result.status else "no answer")
        return BatchOutcome(
            Verdict.NOT_INVOKED, released=records, detail=f"PROBLEM: Function call failed: {what}"
        )
    if result.function_error is not None:
        return _all_failed(records, f"PROBLEM: Function error: {result.function_error}")
    if not reports_item_failures:
        return BatchOutcome(Verdict.SUCCESS, succeeded=records, detail="OK")
    named = item_failures(result.payload, {r.id for r in records})
    if named is None:
        return _all_failed(records, "PROBLEM: Malformed batchItemFailures")
    if not named:
        return BatchOutcome(Verdict.SUCCESS, succeeded=records, detail="OK")
    return _partial(records, named, ordered=ordered)


def _all_failed(records: tuple[Record, ...], detail: str) -> BatchOutcome:
    return BatchOutcome(Verdict.FUNCTION_ERROR, failed=records, detail=detail)


def item_failures(payload: bytes, ids: set[str]) -> frozenset[str] | None:  # noqa: PLR0911
    """The ids a ReportBatchItemFailures answer names; None when it is malformed."""
    text = payload.strip()
    if not text:
        return frozenset()
    try:
        body: Any = json.loads(text)
    except (ValueError, RecursionError):  # a function's answer nested too deep is malformed
        return None
    if not isinstance(body, Mapping):
        return frozenset()
    entries = body.get("batchItemFailures")
    if entries is None:
        return frozenset()
    if not isinstance(entries, list):
        return None
    named: set[str] = set()
    for entry in entries:
        identifier = entry.get("itemIdentifier") if isinstance(entry, Mapping) else None
        if isinstance(identifier, int) and not isinstance(identifier, bool):
            identifier = str(identifier)  # stream sequence numbers sent as numbers
        if not isinstance(identifier, str) or identifier not in ids:
            return None
        named.add(identifier)
    return frozenset(named)


def _partial(records: tuple[Record, ...], named: frozenset[str], *, ordered: bool) -> BatchOutcome:
    if not ordered:
        failed = tuple(r for r in records if r.id in named)
        succeeded = tuple(r for r in records if r.id not in named)
        return BatchOutcome(
            Verdict.PARTIAL,
            succeeded=succeeded,
            failed=failed,
            detail=f"PROBLEM: {len(failed)} of {len(records)} records failed",
        )
    # Per key, the checkpoint is the lowest failed record: it and all after it go again.
    stopped: set[str] = set()
    succeeded_list: list[Record] = []
    failed_list: list[Record] = []
    released_list: list[Record] = []
    for record in records:
        if record.id in named:
            (released_list if record.key in stopped else failed_list).append(record)
            stopped.add(record.key)
        elif record.key in stopped:
            released_list.append(record)
        else:
            succeeded_list.append(record)
    return BatchOutcome(
        Verdict.PARTIAL,
        succeeded=tuple(succeeded_list),
        failed=tuple(failed_list),
        released=tuple(released_list),
        detail=f"PROBLEM: {len(failed_list) + len(released_list)} of {len(records)} records failed",
    )


# ------------------------------------------------------------------ settling


@dataclass(frozen=True)
class RetryPolicy:
    """``maximumRetryAttempts`` and ``maximumRecordAgeSeconds`` (-1: no limit)."""

    maximum_retry_attempts: int = -1
    maximum_record_age_seconds: int = -1

    def expired(self, record: Record, now_ms: int) -> bool:
        """Whether ``record`` is older than the maximum record age."""
        limit = self.maximum_record_age_seconds
        return limit >= 0 and now_ms - record.timestamp_ms > limit * 1000

    def exhausted(self, attempts: int) -> bool:
        """Whether a record that failed ``attempts`` times has no retry left."""
        limit = self.maximum_retry_attempts
        return limit >= 0 and attempts > limit


@dataclass(frozen=True)
class Settlement:
    """Failed records sorted: give back for a retry, or send to onFailure (then ack)."""

    retry: tuple[Record, ...] = ()
    dead: Mapping[FailureCondition, tuple[Record, ...]] = field(default_factory=dict)


def settle(
    failed: Sequence[Record],
    attempts: Mapping[str, int],
    policy: RetryPolicy,
    now_ms: int,
) -> Settlement:
    """Which failed records are retried and which go to the failure destination, and why.

    ``attempts`` counts the failed invocations of each record, this one included.
    """
    retry: list[Record] = []
    dead: dict[FailureCondition, list[Record]] = {}
    for record in failed:
        if policy.expired(record, now_ms):
            dead.setdefault(FailureCondition.RECORD_AGE_EXCEEDED, []).append(record)
        elif policy.exhausted(attempts.get(record.id, record.attempt)):
            dead.setdefault(FailureCondition.RETRIES_EXHAUSTED, []).append(record)
        else:
            retry.append(record)
    return Settlement(tuple(retry), {k: tuple(v) for k, v in dead.items()})


def halves(batch: Sequence[Record]) -> tuple[tuple[Record, ...], tuple[Record, ...]]:
    """``batch`` bisected: the first half (the larger when odd) and the rest."""
    middle = (len(batch) + 1) // 2
    return tuple(batch[:middle]), tuple(batch[middle:])
