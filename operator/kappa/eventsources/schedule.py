"""Schedule source: fires the function at each time of a schedule, in a time zone.

The schedule is any form ``kappa.api.cron`` reads: EventBridge's ``cron(...)`` and
``rate(...)``, ``@hourly``-style macros, crontab's five fields, or six with seconds
first. A rate counts from the last fire (from the poller's start for a new mapping).

At most once per fire time, even across poller restarts: the fire time is
saved (``SourceConfig.state``: the mapping's ``status.source.state`` in a
cluster) *before* the record is handed out, and a restarted poller starts
after the saved time. A fire that fails is retried while the poller runs
(``maximumRetryAttempts``, backing off up to a minute), then goes to
``onFailure``; a restart during its retries drops them (the price of never
running twice). Fire times missed while no poller ran are not made up,
but for the latest one: a poller down at 09:00 fires the 09:00 run when it
starts at 09:03, and never the ones before (EventBridge does not queue
those either). A new mapping fires from its first fire time after the poller
starts.

Ordered: one fire at a time; the Deployment runs one pod with the Recreate
strategy, so two pollers never fire together.
"""

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from kappa.api.cron import CronError, Schedule, fire_id, next_fire, parse, zone
from kappa.api.event_source_mapping import ScheduleSource as ScheduleBlock
from kappa.eventsources.schedule_event import rule_arn, scheduled_event, shape
from kappa.eventsources.source import (
    Record,
    SourceConfig,
    SourceError,
    SourceModule,
    StateStore,
    default_filter_view,
)

STATE_KEY: Final = "lastFire"
RETRY_BACKOFF_MAX_SECONDS: Final = 60.0
CATCH_UP: Final = timedelta(days=1)
"""Missed fire times further back than this are not looked at."""


class _MemoryState:
    """State for a poller run without a store (``kappa poller --mapping`` without --state)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    async def load(self, key: str) -> str | None:
        return self._values.get(key)

    async def save(self, key: str, value: str) -> None:
        self._values[key] = value


class ScheduleSource:
    """Hands out one record per fire time."""

    ordered = True

    def __init__(  # noqa: PLR0913 - the schedule and where it lives
        self,
        schedule: Schedule,
        block: ScheduleBlock,
        state: StateStore,
        last_fire: datetime,
        *,
        region: str,
        namespace: str,
        name: str,
    ) -> None:
        self._schedule = schedule
        self._zone = zone(block.time_zone)
        self._block = block
        self._state = state
        self._last = last_fire
        self._region = region
        self._namespace = namespace
        self.event_source_arn = rule_arn(region, namespace, name)
        self._retry: Record | None = None
        self._retry_at = 0.0
        self._out: Record | None = None

    def _record(self, fire: datetime, attempt: int = 1) -> Record:
        event = scheduled_event(
            fire=fire,
            region=self._region,
            namespace=self._namespace,
            rule=self.event_source_arn,
            payload=self._block.payload,
        )
        return Record(
            id=fire_id(fire),
            key="",
            body=json.dumps(event).encode(),
            timestamp_ms=int(fire.timestamp() * 1000),
            attempt=attempt,
        )

    def _due(self, now: datetime) -> datetime | None:
        """The latest fire time in (last, now], if any."""
        due = None
        candidate = next_fire(self._schedule, self._zone, max(self._last, now - CATCH_UP))
        while candidate is not None and candidate <= now:
            due = candidate
            candidate = next_fire(self._schedule, self._zone, candidate)
        return due

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:  # noqa: ARG002
        """The retry that is due, or the fire that is due, waiting up to ``wait_seconds``."""
        if self._out is not None:
            return []
        deadline = time.monotonic() + wait_seconds
        while True:
            now = datetime.now(UTC)
            if self._retry is not None and time.monotonic() >= self._retry_at:
                record, self._retry = self._retry, None
                self._out = record
                return [record]
            due = self._due(now) if self._retry is None else None
            if due is not None:
                # Saved before the function runs: a restart never fires it again.
                await self._state.save(STATE_KEY, due.isoformat())
                self._last = due
                self._out = self._record(due)
                return [self._out]
            upcoming = next_fire(self._schedule, self._zone, self._last)
            wake = deadline - time.monotonic()
            if upcoming is not None:
                wake = min(wake, (upcoming - now).total_seconds())
            if self._retry is not None:
                wake = min(wake, self._retry_at - time.monotonic())
            if time.monotonic() >= deadline:
                return []
            await asyncio.sleep(max(0.01, min(wake, deadline - time.monotonic())))

    async def ack(self, records: Sequence[Record]) -> None:
        """The fire is done (its time was saved when it was handed out)."""
        if self._out is not None and any(r.id == self._out.id for r in records):
            self._out = None

    async def release(self, records: Sequence[Record]) -> None:
        """Try the fire again after a backoff (1 s, 2 s, 4 s... up to a minute)."""
        for record in records:
            self._retry = Record(
                id=record.id,
                key=record.key,
                body=record.body,
                timestamp_ms=record.timestamp_ms,
                attempt=record.attempt + 1,
            )
            backoff = min(RETRY_BACKOFF_MAX_SECONDS, 2.0 ** (record.attempt - 1))
            self._retry_at = time.monotonic() + backoff
        self._out = None

    async def backlog(self) -> int | None:
        """1 while a fire is due or being retried, else 0."""
        due = self._due(datetime.now(UTC)) is not None
        return int(due or self._retry is not None or self._out is not None)

    async def close(self) -> None:
        """Nothing to let go of."""


async def open_source(config: SourceConfig) -> ScheduleSource:
    """The schedule, resuming after the last saved fire time (or now, for a new mapping)."""
    block = config.block
    assert isinstance(block, ScheduleBlock)  # noqa: S101 - the registry hands each module its block
    try:
        schedule = parse(block.cron)
        zone(block.time_zone)
    except CronError as error:
        raise SourceError(f"spec.schedule: {error}") from error
    state = config.state or _MemoryState()
    saved = await state.load(STATE_KEY)
    last = datetime.fromisoformat(saved) if saved else None
    now = datetime.now(UTC)
    if last is None:
        last = now
    return ScheduleSource(
        schedule,
        block,
        state,
        last,
        region=config.region,
        namespace=config.namespace,
        name=config.mapping_name,
    )


SOURCE: Final = SourceModule(
    open_source=open_source,
    shape=shape,
    filter_view=default_filter_view,
    open_failure_destination=None,
)
