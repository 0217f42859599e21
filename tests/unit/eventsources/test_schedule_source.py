"""The schedule source through its public API, on a fake clock: what it hands out, when,
how long it sleeps, retries, acks, its backlog and what it saves."""

import asyncio
import json
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from kappa.api.event_source_mapping import ScheduleSource as ScheduleBlock
from kappa.eventsources.schedule import STATE_KEY, ScheduleSource, open_source
from kappa.eventsources.source import Record, SourceConfig, SourceError
from tests.unit.eventsources.fake_clock import FakeClock

# Friday 27 November 2026, 08:00 UTC.
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
T = TypeVar("T")


class _State:
    """The state store, in memory (the cluster's is the mapping's status)."""

    def __init__(self, last: datetime | None = None) -> None:
        self.values = {} if last is None else {STATE_KEY: last.isoformat()}

    async def load(self, key: str) -> str | None:
        return self.values.get(key)

    async def save(self, key: str, value: str) -> None:
        self.values[key] = value


def _run(step: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(step)


def _config(block: dict[str, Any], state: _State | None, *, name: str = "tick") -> SourceConfig:
    return SourceConfig(
        block=ScheduleBlock.model_validate(block),
        namespace="team-a",
        mapping_name=name,
        consumer_name="poller-0",
        group=f"kappa-team-a-{name}",
        batch_size=1,
        region="eu-west-3",
        state=state,
    )


def _open(cron: str, clock: FakeClock, state: _State | None, **block: str) -> ScheduleSource:
    return _run(open_source(_config({"cron": cron, **block}, state), clock))


def _clock(at: datetime) -> FakeClock:
    return FakeClock(now=at.timestamp())


def _fired(records: list[Record]) -> list[datetime]:
    """The fire times of ``records``, from their events."""
    return [datetime.fromisoformat(json.loads(r.body)["time"]) for r in records]


def test_the_record_of_a_fire_in_a_zone() -> None:
    # 09:00 in Paris is 08:00 UTC in November.
    clock, state = _clock(T0 + timedelta(seconds=30)), _State(T0 - timedelta(hours=1))
    source = _open("cron(0 9 * * ? *)", clock, state, timeZone="Europe/Paris")
    [record] = _run(source.fetch(10, 0.0))
    assert source.event_source_arn == "arn:aws:events:eu-west-3:team-a:rule/tick"
    assert (record.id, record.key, record.attempt) == ("20261127T080000Z", "", 1)
    assert record.timestamp_ms == int(T0.timestamp()) * 1000
    event = json.loads(record.body)
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "team-a",
        "time": "2026-11-27T08:00:00Z",
        "region": "eu-west-3",
        "resources": ["arn:aws:events:eu-west-3:team-a:rule/tick"],
        "detail": {},
    }
    # Saved before it is handed out, as the fire time in UTC.
    assert state.values == {STATE_KEY: "2026-11-27T08:00:00+00:00"}


def test_catching_up_reads_each_time_in_the_zone() -> None:
    # Down from yesterday's 09:00 in Paris (08:00 UTC) to 10:00 UTC: today's 09:00 fires.
    clock = _clock(T0 + timedelta(hours=2))
    source = _open(
        "cron(0 9 * * ? *)", clock, _State(T0 - timedelta(days=1)), timeZone="Europe/Paris"
    )
    assert _fired(_run(source.fetch(1, 0.0))) == [T0]


def test_the_event_id_names_the_rule_and_the_time() -> None:
    ids = set()
    for name in ("tick", "tock"):
        for hours in (1, 2):
            clock = _clock(T0 + timedelta(hours=hours))
            source = _run(open_source(_config({"cron": "@hourly"}, _State(T0), name=name), clock))
            [record] = _run(source.fetch(1, 0.0))
            ids.add(json.loads(record.body)["id"])
    assert len(ids) == 4


def test_a_payload_is_the_event() -> None:
    clock = _clock(T0 + timedelta(seconds=1))
    source = _open("@hourly", clock, _State(T0 - timedelta(hours=1)), payload='{"job": "report"}')
    [record] = _run(source.fetch(1, 0.0))
    assert json.loads(record.body) == {"job": "report"}
    assert record.id == "20261127T080000Z"


def test_fetch_sleeps_until_the_next_fire() -> None:
    clock = _clock(T0)
    source = _open("rate(1 minute)", clock, _State(T0 - timedelta(seconds=30)))
    records = _run(source.fetch(1, 100.0))
    assert clock.slept == [30.0]
    assert _fired(records) == [T0 + timedelta(seconds=30)]


def test_fetch_gives_up_at_its_deadline_and_fires_on_the_next_call() -> None:
    clock = _clock(T0)
    source = _open("rate(1 minute)", clock, _State(T0))
    assert _run(source.fetch(1, 10.0)) == []
    assert clock.slept == [10.0]
    assert _fired(_run(source.fetch(1, 100.0))) == [T0 + timedelta(minutes=1)]
    assert clock.slept == [10.0, 50.0]


def test_a_fire_is_due_at_its_very_time() -> None:
    clock = _clock(T0 + timedelta(minutes=1))
    source = _open("rate(1 minute)", clock, _State(T0))
    assert _fired(_run(source.fetch(1, 0.0))) == [T0 + timedelta(minutes=1)]
    assert clock.slept == []


def test_sleeps_are_never_shorter_than_ten_milliseconds() -> None:
    # The next fire is 4 ms away: the source sleeps 10 ms, then hands it out.
    clock = FakeClock(now=T0.timestamp() + MINUTE - 1 / 256)
    source = _open("rate(1 minute)", clock, _State(T0))
    assert _fired(_run(source.fetch(1, 1.0))) == [T0 + timedelta(minutes=1)]
    assert clock.slept == [0.01]


def test_a_schedule_with_no_fire_left_waits_out_the_fetch() -> None:
    clock = _clock(T0)
    source = _open("cron(0 0 1 1 ? 2026)", clock, _State(T0))
    assert _run(source.fetch(1, 30.0)) == []
    assert clock.slept == [30.0]
    assert _run(source.backlog()) == 0


def test_one_fire_out_at_a_time_until_it_is_acked() -> None:
    clock = _clock(T0 + timedelta(minutes=2, seconds=30))
    source = _open("rate(1 minute)", clock, _State(T0))
    [first] = _run(source.fetch(1, 0.0))
    assert _fired([first]) == [T0 + timedelta(minutes=2)]  # the latest missed time only
    assert _run(source.fetch(1, 5.0)) == []  # at once, while the fire is out
    assert clock.slept == []
    assert _run(source.backlog()) == 1
    other = replace(first, id="20261127T070000Z")
    _run(source.ack([other]))  # not the fire that is out: it stays out
    assert _run(source.fetch(1, 5.0)) == []
    _run(source.ack([first]))
    assert _run(source.backlog()) == 0
    assert _fired(_run(source.fetch(1, 100.0))) == [T0 + timedelta(minutes=3)]
    assert clock.slept == [30.0]


def test_ack_with_nothing_out_changes_nothing() -> None:
    clock = _clock(T0)
    source = _open("rate(1 minute)", clock, _State(T0))
    stray = Record(id="20261127T080000Z", key="", body=b"{}", timestamp_ms=0)
    _run(source.ack([stray]))
    assert _run(source.backlog()) == 0
    assert _fired(_run(source.fetch(1, 100.0))) == [T0 + timedelta(minutes=1)]


def test_a_released_fire_is_retried_with_a_doubling_backoff_up_to_a_minute() -> None:
    clock, state = _clock(T0 + timedelta(seconds=1)), _State(T0 - timedelta(hours=1))
    source = _open("@hourly", clock, state)
    [fire] = _run(source.fetch(1, 0.0))
    tries = [fire]
    for _ in range(8):
        _run(source.release([tries[-1]]))
        assert _run(source.backlog()) == 1
        tries += _run(source.fetch(1, 100.0))
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert tries == [replace(fire, attempt=n) for n in range(1, 10)]
    assert state.values == {STATE_KEY: "2026-11-27T08:00:00+00:00"}


def test_a_retry_is_not_handed_out_before_its_backoff() -> None:
    clock = _clock(T0 + timedelta(seconds=1))
    source = _open("@hourly", clock, _State(T0 - timedelta(hours=1)))
    [fire] = _run(source.fetch(1, 0.0))
    _run(source.release([fire]))
    assert _run(source.fetch(1, 0.5)) == []
    assert clock.slept == [0.5]
    assert _run(source.fetch(1, 0.5)) == [replace(fire, attempt=2)]
    assert clock.slept == [0.5, 0.5]


def test_a_retry_goes_before_a_later_fire_without_spinning() -> None:
    # The fire of 08:01 fails at 08:01:59.5; the 08:02 one comes due during its backoff.
    clock = _clock(T0 + timedelta(minutes=1))
    source = _open("rate(1 minute)", clock, _State(T0))
    [fire] = _run(source.fetch(1, 0.0))
    clock.now += 59.5
    _run(source.release([fire]))
    assert _run(source.fetch(1, 100.0)) == [replace(fire, attempt=2)]
    assert clock.slept == [1.0]  # one sleep to the retry, not 10 ms at a time past 08:02
    _run(source.ack([replace(fire, attempt=2)]))
    assert _fired(_run(source.fetch(1, 0.0))) == [T0 + timedelta(minutes=2)]


def test_a_new_mapping_fires_from_its_first_time_after_the_start() -> None:
    # No state store at all: nothing saved, the source starts from its opening time.
    clock = _clock(T0 + timedelta(seconds=1))
    source = _open("@hourly", clock, None)
    assert _run(source.fetch(1, 0.0)) == []  # 08:00 was before the start
    assert _fired(_run(source.fetch(1, 2 * HOUR))) == [T0 + timedelta(hours=1)]
    assert clock.slept == [HOUR - 1]


def test_a_new_rate_counts_from_the_start() -> None:
    state = _State()
    clock = _clock(T0 + timedelta(seconds=30))
    source = _open("rate(5 minutes)", clock, state)
    assert _fired(_run(source.fetch(1, HOUR))) == [T0 + timedelta(minutes=5, seconds=30)]
    assert clock.slept == [5 * MINUTE]
    assert state.values == {STATE_KEY: "2026-11-27T08:05:30+00:00"}


def test_a_restart_resumes_after_the_saved_fire() -> None:
    state = _State()
    clock = _clock(T0 + timedelta(minutes=1))
    first = _open("rate(1 minute)", clock, state)
    assert _run(first.fetch(1, 100.0)) != []
    # A new source on the same store (a restarted poller) does not fire 08:02 again.
    again = _open("rate(1 minute)", clock, state)
    assert _run(again.fetch(1, 0.0)) == []
    assert _fired(_run(again.fetch(1, 100.0))) == [T0 + timedelta(minutes=3)]


@pytest.mark.parametrize(
    ("down_until", "fired"),
    [
        pytest.param(
            T0 + timedelta(days=7, hours=1), T0 + timedelta(days=7), id="missed-an-hour-ago"
        ),
        pytest.param(
            T0 + timedelta(days=8) - timedelta(seconds=1),
            T0 + timedelta(days=7),
            id="missed-a-second-short-of-a-day-ago",
        ),
        pytest.param(T0 + timedelta(days=8), None, id="missed-a-day-ago-is-not-made-up"),
    ],
)
def test_a_missed_fire_is_made_up_within_a_day(
    down_until: datetime, fired: datetime | None
) -> None:
    # Weekly on Fridays at 08:00; the last fire saved is T0's, the poller was down since.
    clock = _clock(down_until)
    source = _open("cron(0 8 ? * FRI *)", clock, _State(T0))
    assert _fired(_run(source.fetch(1, 0.0))) == ([] if fired is None else [fired])


def test_after_a_missed_fire_it_sleeps_to_the_next_one_without_spinning() -> None:
    clock = _clock(T0 + timedelta(days=9))  # the fire of day 7 is two days old
    source = _open("cron(0 8 ? * FRI *)", clock, _State(T0))
    assert _fired(_run(source.fetch(1, 10 * DAY))) == [T0 + timedelta(days=14)]
    assert clock.slept == [5 * DAY]


def test_a_rate_of_days_fires_every_period() -> None:
    clock = _clock(T0)
    source = _open("rate(2 days)", clock, _State(T0))
    fired = []
    for _ in range(3):
        [record] = _run(source.fetch(1, 3 * DAY))
        _run(source.ack([record]))
        fired += _fired([record])
    assert fired == [T0 + timedelta(days=2 * n) for n in (1, 2, 3)]
    assert clock.slept == [2 * DAY] * 3


@pytest.mark.parametrize(
    ("rate", "down_for", "fired", "then_sleeps"),
    [
        # Down three days and a half hour: the latest time in phase fires, the next in phase.
        pytest.param(
            "rate(1 hour)",
            timedelta(days=3, minutes=30),
            T0 + timedelta(days=3),
            30 * MINUTE,
            id="hourly",
        ),
        # Down ten days: the fire of day 7 is more than a day old, day 14 comes next.
        pytest.param("rate(7 days)", timedelta(days=10), None, 4 * DAY, id="weekly"),
        pytest.param(
            "rate(1 day)", timedelta(days=3, hours=5), T0 + timedelta(days=3), 19 * HOUR, id="daily"
        ),
    ],
)
def test_a_rate_keeps_its_phase_after_a_down_time(
    rate: str, down_for: timedelta, fired: datetime | None, then_sleeps: float
) -> None:
    clock = _clock(T0 + down_for)
    source = _open(rate, clock, _State(T0))
    records = _run(source.fetch(1, 0.0))
    assert _fired(records) == ([] if fired is None else [fired])
    _run(source.ack(records))
    [following] = _run(source.fetch(1, 10 * DAY))
    assert clock.slept == [then_sleeps]
    assert _fired([following]) == [T0 + down_for + timedelta(seconds=then_sleeps)]


def test_backlog_is_one_while_a_fire_is_due() -> None:
    clock = _clock(T0 + timedelta(seconds=59))
    source = _open("rate(1 minute)", clock, _State(T0))
    assert _run(source.backlog()) == 0
    clock.now += 1
    assert _run(source.backlog()) == 1


@pytest.mark.parametrize(
    ("block", "message"),
    [
        pytest.param(
            {"cron": "0 0 30 2 *"},
            "spec.schedule: 0 0 30 2 *: bad day-of-month (or a day no month of the schedule has) "
            "(second 0-59 when six fields, minute 0-59, hour 0-23, day-of-month 1-31 (L, LW), "
            "month 1-12 or JAN-DEC, day-of-week 0-7 or SUN-SAT (5L, 2#2))",
            id="a-day-that-never-comes",
        ),
        pytest.param(
            {"cron": "@hourly", "timeZone": "Mars/Olympus"},
            "spec.schedule: unknown time zone 'Mars/Olympus': use an IANA name such as UTC or "
            "Europe/Paris",
            id="an-unknown-zone",
        ),
    ],
)
def test_a_schedule_that_cannot_be_read_says_what_to_fix(
    block: dict[str, str], message: str
) -> None:
    with pytest.raises(SourceError) as excinfo:
        _run(open_source(_config(block, _State()), FakeClock()))
    assert str(excinfo.value) == message
