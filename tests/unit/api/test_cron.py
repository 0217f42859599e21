from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kappa.api.cron import Cron, CronError, fire_id, next_fire, parse, zone

UTC_ZONE = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")


def _at(text: str, tz: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("expression", "tz", "after", "expected"),
    [
        pytest.param(
            "* * * * *", UTC_ZONE, "2026-11-27T08:00:30", "2026-11-27T08:01:00", id="every-minute"
        ),
        pytest.param(
            "* * * * *", UTC_ZONE, "2026-11-27T08:01:00", "2026-11-27T08:02:00", id="strictly-after"
        ),
        pytest.param(
            "*/15 * * * *", UTC_ZONE, "2026-11-27T08:16:00", "2026-11-27T08:30:00", id="step"
        ),
        pytest.param(
            "0 9 * * MON-FRI",
            UTC_ZONE,
            "2026-11-27T10:00:00",
            "2026-11-30T09:00:00",
            id="weekdays-skip-weekend",
        ),
        pytest.param(
            "0 0 1 JAN *", UTC_ZONE, "2026-11-27T00:00:00", "2027-01-01T00:00:00", id="yearly"
        ),
        pytest.param(
            "30 2 * * *", UTC_ZONE, "2026-11-27T02:29:59", "2026-11-27T02:30:00", id="same-day"
        ),
        pytest.param(
            "0 12 13 * 5",
            UTC_ZONE,
            "2026-11-01T00:00:00",
            "2026-11-06T12:00:00",
            id="day-or-weekday",
        ),
        pytest.param(
            "0 0 * * 7",
            UTC_ZONE,
            "2026-11-27T00:00:00",
            "2026-11-29T00:00:00",
            id="seven-is-sunday",
        ),
        pytest.param(
            "*/5 * * * * *", UTC_ZONE, "2026-11-27T08:00:03", "2026-11-27T08:00:05", id="seconds"
        ),
        pytest.param(
            "0 0 29 2 *", UTC_ZONE, "2026-03-01T00:00:00", "2028-02-29T00:00:00", id="leap-day"
        ),
        pytest.param(
            "0 9 * * *",
            PARIS,
            "2026-11-27T07:00:00+00:00",
            "2026-11-27T08:00:00",
            id="paris-winter",
        ),
        pytest.param(
            "0 9 * * *",
            PARIS,
            "2026-07-01T06:00:00+00:00",
            "2026-07-01T07:00:00",
            id="paris-summer",
        ),
        # 2026-03-29 02:30 does not exist in Paris: the next day's 02:30 fires.
        pytest.param(
            "30 2 * * *",
            PARIS,
            "2026-03-28T12:00:00+00:00",
            "2026-03-30T00:30:00",
            id="dst-gap-skipped",
        ),
        # 2026-10-25 02:30 happens twice in Paris: the first (00:30 UTC) fires, not the second.
        pytest.param(
            "30 2 * * *",
            PARIS,
            "2026-10-24T12:00:00+00:00",
            "2026-10-25T00:30:00",
            id="dst-overlap-first",
        ),
        pytest.param(
            "30 2 * * *",
            PARIS,
            "2026-10-25T00:30:00+00:00",
            "2026-10-26T01:30:00",
            id="dst-overlap-once",
        ),
    ],
)
def test_next_fire(expression: str, tz: ZoneInfo, after: str, expected: str) -> None:
    start = datetime.fromisoformat(after)
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
    assert next_fire(parse(expression), tz, start) == datetime.fromisoformat(expected).replace(
        tzinfo=UTC
    )


def test_a_date_that_never_comes_has_no_fire() -> None:
    assert next_fire(parse("0 0 30 2 *"), UTC_ZONE, _at("2026-01-01T00:00:00")) is None


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        pytest.param("* * * *", "5 fields", id="four-fields"),
        pytest.param("60 * * * *", "minute field: 60 is out of 0-59", id="minute-range"),
        pytest.param("* 24 * * *", "hour field: 24 is out of 0-23", id="hour-range"),
        pytest.param("* * 0 * *", "day-of-month field: 0 is out of 1-31", id="day-zero"),
        pytest.param(
            "* * * FOO *", "month field: 'FOO' is not a number or a name", id="month-name"
        ),
        pytest.param("*/0 * * * *", "step '0' must be a positive number", id="step-zero"),
        pytest.param("5-1 * * * *", "range 5-1 runs backwards", id="backwards"),
        pytest.param("* * * * MON-XYZ", "day-of-week field: 'XYZ'", id="weekday-name"),
    ],
)
def test_bad_expressions_say_which_part(expression: str, says: str) -> None:
    with pytest.raises(CronError) as excinfo:
        parse(expression)
    assert says in str(excinfo.value)


def test_unknown_zone_says_what_to_use() -> None:
    with pytest.raises(CronError, match="IANA name"):
        zone("Mars/Olympus")


def test_fire_id_is_the_utc_time() -> None:
    assert fire_id(_at("2026-11-27T08:00:00")) == "20261127T080000Z"


def _matches(cron: Cron, moment: datetime, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz)
    return (
        cron.day_matches(local.date())
        and local.hour in cron.hours
        and local.minute in cron.minutes
        and local.second in cron.seconds
    )


_FIELDS = st.tuples(
    st.sampled_from(["*", "*/7", "5", "0,30", "10-20/5"]),
    st.sampled_from(["*", "*/5", "9", "0-3"]),
    st.sampled_from(["*", "1", "15,28", "*/10"]),
    st.sampled_from(["*", "JAN-MAR", "11", "*/2"]),
    st.sampled_from(["*", "MON-FRI", "0", "6"]),
)


# hypothesis takes naive bounds and attaches the zone itself.
_SINCE, _UNTIL = datetime(2025, 1, 1), datetime(2030, 1, 1)  # noqa: DTZ001


@settings(max_examples=60, deadline=None)
@given(
    _FIELDS,
    st.datetimes(min_value=_SINCE, max_value=_UNTIL, timezones=st.just(UTC)),
    st.sampled_from([UTC_ZONE, PARIS, ZoneInfo("America/New_York")]),
)
def test_next_fire_is_the_first_matching_time_after(
    fields: tuple[str, ...], after: datetime, tz: ZoneInfo
) -> None:
    cron = parse(" ".join(fields))
    fire = next_fire(cron, tz, after)
    assert fire is not None
    assert fire > after
    assert _matches(cron, fire, tz)
    # No minute between `after` and the fire matches (checked up to a day back from it).
    probe = max(
        after.replace(second=0, microsecond=0) + timedelta(minutes=1), fire - timedelta(days=1)
    )
    while probe < fire:
        assert not _matches(cron, probe, tz)
        probe += timedelta(minutes=1)
