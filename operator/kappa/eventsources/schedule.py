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

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

from kappa.api.cron import CronError, Rate, Schedule, fire_id, next_fire, parse, zone
from kappa.api.event_source_mapping import ScheduleSource as ScheduleBlock
from kappa.eventsources.clock import Clock, SystemClock
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


def _wall(clock: Clock) -> datetime:
    """The clock's wall time, aware UTC."""
    return datetime.fromtimestamp(clock.wall_ms() / 1000, UTC)


class _NoState:
    """The store of a poller run without one (``kappa poller --mapping`` without --state).

    Nothing outlives the source: a source opened again starts from its opening time.
    """

    async def load(self, key: str) -> str | None:  # noqa: ARG002 - nothing is kept
        return None

    async def save(self, key: str, value: str) -> None:
        """Forgets ``value``."""


class ScheduleSource:
    """Hands out one record per fire time; time comes from ``clock``."""

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
        clock: Clock,
    ) -> None:
        self._schedule = schedule
        self._zone = zone(block.time_zone)
        self._block = block
        self._state = state
        self._last = last_fire
        self._region = region
        self._namespace = namespace
        self._clock = clock
        self.event_source_arn = rule_arn(region, namespace, name)
        self._retry: tuple[Record, float] | None = None
        """The fire to try again, and when (on the clock's monotonic seconds)."""
        self._out: Record | None = None

    def _record(self, fire: datetime) -> Record:
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
        )

    def _due(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The latest fire time in (last, now] if any, and the first after ``now`` (None: never).

        Calendar times more than ``CATCH_UP`` back are not looked at; a rate skips whole
        periods from its last fire, so it keeps its phase.
        """
        start = max(self._last, now - CATCH_UP)
        if isinstance(self._schedule, Rate):
            period = self._schedule.period
            start = self._last + (start - self._last) // period * period
        due, upcoming = None, next_fire(self._schedule, self._zone, start)
        while upcoming is not None and upcoming <= now:
            due, upcoming = upcoming, next_fire(self._schedule, self._zone, upcoming)
        return due, upcoming

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:  # noqa: ARG002
        """The retry that is due, or the fire that is due, waiting up to ``wait_seconds``.

        While a retry waits its backoff, no other fire is handed out (one at a time).
        """
        if self._out is not None:
            return []
        deadline = self._clock.monotonic() + wait_seconds
        while True:
            now, moment = _wall(self._clock), self._clock.monotonic()
            wake = left = deadline - moment
            if self._retry is not None:
                record, at = self._retry
                if moment >= at:
                    self._retry, self._out = None, record
                    return [record]
                wake = min(left, at - moment)
            else:
                due, upcoming = self._due(now)
                if due is not None:
                    # Saved before the function runs: a restart never fires it again.
                    await self._state.save(STATE_KEY, due.isoformat())
                    self._last = due
                    self._out = self._record(due)
                    return [self._out]
                if upcoming is not None:
                    wake = min(left, (upcoming - now).total_seconds())
            if left <= 0:
                return []
            # Never less than 10 ms: a wall clock a hair behind the timer does not spin.
            await self._clock.sleep(max(0.01, wake))

    async def ack(self, records: Sequence[Record]) -> None:
        """The fire is done (its time was saved when it was handed out)."""
        if self._out is not None and any(r.id == self._out.id for r in records):
            self._out = None

    async def release(self, records: Sequence[Record]) -> None:
        """Try the fire again after a backoff (1 s, 2 s, 4 s... up to a minute)."""
        for record in records:
            backoff = min(RETRY_BACKOFF_MAX_SECONDS, 2.0 ** (record.attempt - 1))
            retry = replace(record, attempt=record.attempt + 1)
            self._retry = (retry, self._clock.monotonic() + backoff)
        self._out = None

    async def backlog(self) -> int | None:
        """1 while a fire is due, out or being retried, else 0."""
        if self._retry is not None or self._out is not None:
            return 1
        return int(self._due(_wall(self._clock))[0] is not None)

    async def close(self) -> None:
        """Nothing to let go of."""


async def open_source(config: SourceConfig, clock: Clock | None = None) -> ScheduleSource:
    """The schedule, resuming after the last saved fire time (or now, for a new mapping)."""
    block = config.block
    assert isinstance(block, ScheduleBlock)  # noqa: S101 - the registry hands each module its block
    try:
        schedule = parse(block.cron)
        zone(block.time_zone)
    except CronError as error:
        raise SourceError(f"spec.schedule: {error}") from error
    clock = clock or SystemClock()
    state = config.state or _NoState()
    saved = await state.load(STATE_KEY)
    return ScheduleSource(
        schedule,
        block,
        state,
        datetime.fromisoformat(saved) if saved else _wall(clock),
        region=config.region,
        namespace=config.namespace,
        name=config.mapping_name,
        clock=clock,
    )


SOURCE: Final = SourceModule(
    open_source=open_source,
    shape=shape,
    filter_view=default_filter_view,
    open_failure_destination=None,
)
