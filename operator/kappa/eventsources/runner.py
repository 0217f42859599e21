"""The runner: drives one Source and invokes the function, with Lambda's batch semantics.

One cycle: fill a batch (``batching``), drop what the filters refuse (acked,
as Lambda deletes filtered-out messages), send records past their maximum age
to the failure destination, split what is left to fit 6 MB, invoke, then sort
the records by the answer (``outcome.judge``): ack what succeeded, bisect
function errors when asked (streams), count attempts of what failed, send
those out of retries to the failure destination (then ack them), release the
rest. Nothing is acked before its fate is settled, so a poller killed at any
point loses nothing: the broker redelivers.

Unordered sources run ``parallelizationFactor`` cycles side by side; ordered
ones one at a time (see ``kappa.eventsources.source``). The clock is injected.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final, Protocol

from kappa.api.filters import Pattern, matches_any
from kappa.base import logs
from kappa.eventsources.batching import BatchPolicy, split
from kappa.eventsources.clock import Clock
from kappa.eventsources.failure_record import failure_record
from kappa.eventsources.metrics import PollerMetrics
from kappa.eventsources.outcome import (
    BatchOutcome,
    InvokeResult,
    RetryPolicy,
    Verdict,
    halves,
    judge,
    settle,
)
from kappa.eventsources.source import (
    EventContext,
    Failure,
    FailureCondition,
    FailureDestination,
    FilterView,
    Record,
    Shape,
    Source,
    SourceError,
)
from kappa.eventsources.tasks import run_all

log = logging.getLogger(__name__)

ATTEMPTS_REMEMBERED: Final = 100_000
"""Attempt counts kept for records in retry (oldest forgotten first): bounded memory."""
BACKOFF_MAX_SECONDS: Final = 30.0


class Invoker(Protocol):
    """Invokes functions (the gateway's Invoke API)."""

    async def invoke(
        self, namespace: str, name: str, event: object, *, asynchronous: bool = False
    ) -> InvokeResult:
        """Invoke ``namespace/name`` with ``event``."""
        ...


@dataclass(frozen=True)
class RunnerConfig:
    """The mapping's spec, as the runner needs it."""

    namespace: str
    function_name: str
    batch: BatchPolicy
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    reports_item_failures: bool = False
    bisect: bool = False
    parallelization: int = 1
    patterns: tuple[Pattern, ...] = ()
    failure_function: str | None = None


@dataclass
class RunnerStatus:
    """What the runner has seen lately; the poller reports it in the mapping's status."""

    last_result: str = "No records processed"
    records_processed: int = 0
    records_filtered: int = 0
    records_dead_lettered: int = 0
    batches: int = 0
    function_missing: bool = False
    source_error: SourceError | None = None


async def _unless_stopped(
    fetch: Coroutine[Any, Any, list[Record]], stop: asyncio.Event
) -> list[Record] | None:
    """The fetch's records, or None when ``stop`` was set first."""
    if stop.is_set():
        fetch.close()
        return None
    fetching = asyncio.ensure_future(fetch)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if fetching.done():
        return fetching.result()
    fetching.cancel()
    return None


def _backoff(failures: int) -> float:
    return float(min(BACKOFF_MAX_SECONDS, 2 ** min(failures, 5)))


class Runner:
    """Feeds one function from one source."""

    def __init__(  # noqa: PLR0913 - the runner's collaborators, each injected
        self,
        source: Source,
        *,
        shape: Shape,
        filter_view: FilterView,
        context: EventContext,
        invoker: Invoker,
        config: RunnerConfig,
        clock: Clock,
        destination: FailureDestination | None = None,
        metrics: PollerMetrics | None = None,
    ) -> None:
        self._source = source
        self._shape = shape
        self._filter_view = filter_view
        self._context = context
        self._invoker = invoker
        self._config = config
        self._clock = clock
        self._destination = destination
        self._attempts: OrderedDict[str, int] = OrderedDict()
        self._not_invoked = 0
        self.status = RunnerStatus()
        self._metrics = metrics or PollerMetrics()

    # ----------------------------------------------------------------- loops

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle until ``stop`` is set (parallel loops for unordered sources).

        A loop that fails on anything but a ``SourceError`` (which it retries) stops
        the others and the error is raised: the process exits and is restarted, what
        was in hand unacked comes back by the broker's redelivery.
        """
        loops = 1 if self._source.ordered else self._config.parallelization
        await run_all(*(self._loop(stop) for _ in range(loops)))

    async def _loop(self, stop: asyncio.Event) -> None:
        fetch_failures = 0
        while not stop.is_set():
            try:
                await self.cycle(stop)
                fetch_failures = 0
                self.status.source_error = None
            except SourceError as error:
                fetch_failures += 1
                self.status.source_error = error
                log.warning("source: %s (retry in %.0f s)", error, _backoff(fetch_failures))
                await self._clock.sleep(_backoff(fetch_failures))

    async def cycle(self, stop: asyncio.Event | None = None) -> int:
        """Fetch one batch and settle it; the number of records handled (0: none came).

        Once ``stop`` is set, a fetch still waiting is abandoned (what it may yet
        receive returns by the broker's redelivery) and what is in hand is processed.
        """
        records = await self._collect(stop or asyncio.Event())
        if records:
            await self.process(records)
        return len(records)

    async def _collect(self, stop: asyncio.Event) -> list[Record]:
        policy = self._config.batch
        records: list[Record] = []
        started: float | None = None
        while not policy.ready(records, started, self._clock.monotonic()):
            wait = policy.wait_seconds(started, self._clock.monotonic())
            got = await _unless_stopped(
                self._source.fetch(policy.batch_size - len(records), wait), stop
            )
            if got is None:
                return records
            if not got and started is None:
                return records
            if got and started is None:
                started = self._clock.monotonic()
            records.extend(got)
        return records

    # ------------------------------------------------------------ processing

    async def process(self, records: Sequence[Record]) -> None:
        """Filter, age-check, invoke and settle ``records`` (already fetched)."""
        kept = [
            r
            for r in records
            if matches_any(self._config.patterns, self._filter_view(r, self._context))
        ]
        kept_ids = {r.id for r in kept}
        dropped = [r for r in records if r.id not in kept_ids]
        if dropped:
            self.status.records_filtered += len(dropped)
            self._metrics.records.labels("filtered").inc(len(dropped))
            await self._source.ack(dropped)
        now_ms = self._clock.wall_ms()
        expired = [r for r in kept if self._config.retry.expired(r, now_ms)]
        if expired:
            await self._dead_letter(expired, FailureCondition.RECORD_AGE_EXCEEDED, None)
            expired_ids = {r.id for r in expired}
            kept = [r for r in kept if r.id not in expired_ids]
        blocked: set[str] = set()
        for batch in split(kept, self._config.batch.payload_limit):
            blocked |= await self._invoke(batch, blocked)

    async def _invoke(self, batch: Sequence[Record], blocked: set[str]) -> set[str]:
        """Invoke ``batch`` and settle it; the keys left unfinished (ordered sources)."""
        if self._source.ordered and blocked:
            # An earlier record of these keys is going round again: keep the order.
            held = [r for r in batch if r.key in blocked]
            await self._source.release(held)
            batch = [r for r in batch if r.key not in blocked]
            if not batch:
                return set()
        event = self._shape(batch, self._context)
        started = self._clock.monotonic()
        result = await self._invoker.invoke(
            self._config.namespace, self._config.function_name, event
        )
        self._metrics.invoke_seconds.observe(self._clock.monotonic() - started)
        with logs.serving(result.request_id):  # the lines about its fate carry the call's id
            return await self._settle_batch(batch, result)

    async def _settle_batch(self, batch: Sequence[Record], result: InvokeResult) -> set[str]:
        """Judge the gateway's answer for ``batch`` and act on it; the keys left unfinished."""
        self.status.batches += 1
        outcome = judge(
            batch,
            result,
            reports_item_failures=self._config.reports_item_failures,
            ordered=self._source.ordered,
        )
        self.status.last_result = outcome.detail
        self._metrics.batches.labels(str(outcome.verdict)).inc()
        if outcome.verdict is Verdict.TOO_LARGE:
            return await self._too_large(batch, result)
        if outcome.verdict is Verdict.NOT_INVOKED:
            return await self._not_invoked_backoff(batch, result)
        self._not_invoked = 0
        self.status.function_missing = False
        if outcome.verdict is Verdict.FUNCTION_ERROR and self._config.bisect and len(batch) > 1:
            first, second = halves(batch)
            left = await self._invoke(first, set())
            return left | await self._invoke(second, left)
        await self._settle(outcome, result)
        return {r.key for r in (*outcome.failed, *outcome.released)}

    async def _too_large(self, batch: Sequence[Record], result: InvokeResult) -> set[str]:
        if len(batch) == 1:
            await self._dead_letter(batch, FailureCondition.PAYLOAD_TOO_LARGE, result)
            return set()
        first, second = halves(batch)
        left = await self._invoke(first, set())
        return left | await self._invoke(second, left)

    async def _not_invoked_backoff(self, batch: Sequence[Record], result: InvokeResult) -> set[str]:
        self._not_invoked += 1
        self.status.function_missing = result.status == HTTPStatus.NOT_FOUND
        await self._source.release(batch)
        await self._clock.sleep(_backoff(self._not_invoked))
        return {r.key for r in batch}

    async def _settle(self, outcome: BatchOutcome, result: InvokeResult) -> None:
        if outcome.succeeded:
            await self._source.ack(outcome.succeeded)
            self.status.records_processed += len(outcome.succeeded)
            self._metrics.records.labels("succeeded").inc(len(outcome.succeeded))
            self._forget(outcome.succeeded)
        for record in outcome.failed:
            counted = max(self._attempts.pop(record.id, 0) + 1, record.attempt)
            self._attempts[record.id] = counted
        while len(self._attempts) > ATTEMPTS_REMEMBERED:
            self._attempts.popitem(last=False)
        settlement = settle(
            outcome.failed, self._attempts, self._config.retry, self._clock.wall_ms()
        )
        for condition, dead in settlement.dead.items():
            await self._dead_letter(dead, condition, result)
        retry = (*settlement.retry, *outcome.released)
        if retry:
            self._metrics.records.labels("retried").inc(len(retry))
            await self._source.release(retry)

    async def _dead_letter(
        self,
        records: Sequence[Record],
        condition: FailureCondition,
        result: InvokeResult | None,
    ) -> None:
        """Send ``records`` to the failure destination, then ack them (or keep them on error)."""
        failure = Failure(
            condition=condition,
            function_error=None if result is None else result.function_error,
            response_payload=None if result is None else result.payload,
            approximate_invoke_count=max(self._attempts.get(r.id, r.attempt) for r in records),
            request_id=None if result is None else result.request_id,
            timestamp_ms=self._clock.wall_ms(),
        )
        try:
            await self._deliver(records, failure)
        except SourceError as error:
            log.warning("failure destination refused %d records: %s", len(records), error)
            await self._source.release(records)
            return
        log.info("%d records to the failure destination: %s", len(records), condition)
        await self._source.ack(records)
        self.status.records_dead_lettered += len(records)
        self._metrics.records.labels("dead_lettered").inc(len(records))
        self._forget(records)

    async def _deliver(self, records: Sequence[Record], failure: Failure) -> None:
        if self._destination is not None:
            await self._destination.deliver(records, failure)
            return
        if self._config.failure_function is None:
            return  # no destination: discarded, as Lambda does
        event = failure_record(
            failure, self._context.function_arn, self._shape(records, self._context)
        )
        answer = await self._invoker.invoke(
            self._config.namespace, self._config.failure_function, event, asynchronous=True
        )
        if answer.status != 202:  # noqa: PLR2004 - Accepted
            msg = f"onFailure function {self._config.failure_function}: HTTP {answer.status}"
            raise SourceError(msg)

    def _forget(self, records: Sequence[Record]) -> None:
        for record in records:
            self._attempts.pop(record.id, None)
