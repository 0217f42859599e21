from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kappa.api.cron import CronError, Rate, fire_id, nearest_weekday, next_fire, parse, zone

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


# EventBridge's expressions, and the other forms, from one fixed `now`: Friday
# 2026-11-27 08:00:00 UTC. Each id says what the expression means.
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "tz", "expected"),
    [
        pytest.param("cron(0 12 * * ? *)", UTC_ZONE, "2026-11-27T12:00:00", id="daily-at-noon"),
        pytest.param("cron(0 12 * * ? *)", PARIS, "2026-11-27T11:00:00", id="noon-in-paris"),
        pytest.param("cron(0 9 * * ? *)", PARIS, "2026-11-28T08:00:00", id="paris-9h-passed"),
        pytest.param(
            "cron(0 18 ? * MON-FRI *)", UTC_ZONE, "2026-11-27T18:00:00", id="weekdays-18h"
        ),
        pytest.param(
            "cron(0/10 * ? * MON-FRI *)", UTC_ZONE, "2026-11-27T08:10:00", id="every-10-min"
        ),
        pytest.param("cron(0 8 1 * ? *)", UTC_ZONE, "2026-12-01T08:00:00", id="first-of-month"),
        pytest.param("cron(0 12 ? * 1 *)", UTC_ZONE, "2026-11-29T12:00:00", id="one-is-sunday"),
        pytest.param("cron(0 12 ? * 2 *)", UTC_ZONE, "2026-11-30T12:00:00", id="two-is-monday"),
        pytest.param("cron(0 12 ? * SUN *)", UTC_ZONE, "2026-11-29T12:00:00", id="sunday-by-name"),
        pytest.param(
            "cron(0 12 ? * L *)", UTC_ZONE, "2026-11-28T12:00:00", id="l-weekday-saturday"
        ),
        pytest.param("cron(0 0 L * ? *)", UTC_ZONE, "2026-11-30T00:00:00", id="last-day-of-month"),
        pytest.param("cron(0 0 LW 1 ? *)", UTC_ZONE, "2027-01-29T00:00:00", id="last-weekday-jan"),
        pytest.param(
            "cron(15 10 ? * 6L 2027)", UTC_ZONE, "2027-01-29T10:15:00", id="last-friday-2027"
        ),
        pytest.param("cron(0 8 ? * 3#2 *)", UTC_ZONE, "2026-12-08T08:00:00", id="second-tuesday"),
        pytest.param("cron(0 9 15W * ? *)", UTC_ZONE, "2026-12-15T09:00:00", id="15w-on-a-tuesday"),
        pytest.param(
            "cron(0 9 16W 1 ? *)", UTC_ZONE, "2027-01-15T09:00:00", id="16w-saturday-to-friday"
        ),
        pytest.param(
            "cron(0 9 1W 5 ? 2027)", UTC_ZONE, "2027-05-03T09:00:00", id="1w-saturday-to-monday"
        ),
        pytest.param(
            "cron(0 9 31W 1 ? 2027)", UTC_ZONE, "2027-01-29T09:00:00", id="31w-sunday-to-friday"
        ),
        pytest.param("cron(0 0 29 2 ? *)", UTC_ZONE, "2028-02-29T00:00:00", id="leap-day"),
        pytest.param("cron(0 0 1 1 ? 2030)", UTC_ZONE, "2030-01-01T00:00:00", id="a-later-year"),
        pytest.param("cron(0 12 * * ? 2026,2028)", UTC_ZONE, "2026-11-27T12:00:00", id="year-list"),
        pytest.param("cron(0 12 1 * ? 2027/2)", UTC_ZONE, "2027-01-01T12:00:00", id="year-step"),
        pytest.param("rate(5 minutes)", UTC_ZONE, "2026-11-27T08:05:00", id="rate-minutes"),
        pytest.param("rate(1 minute)", UTC_ZONE, "2026-11-27T08:01:00", id="rate-one-minute"),
        pytest.param("rate(1 hour)", UTC_ZONE, "2026-11-27T09:00:00", id="rate-one-hour"),
        pytest.param("rate(2 days)", UTC_ZONE, "2026-11-29T08:00:00", id="rate-days"),
        pytest.param("@hourly", UTC_ZONE, "2026-11-27T09:00:00", id="hourly"),
        pytest.param("@daily", UTC_ZONE, "2026-11-28T00:00:00", id="daily"),
        pytest.param("@midnight", UTC_ZONE, "2026-11-28T00:00:00", id="midnight"),
        pytest.param("@weekly", UTC_ZONE, "2026-11-29T00:00:00", id="weekly-sunday"),
        pytest.param("@monthly", UTC_ZONE, "2026-12-01T00:00:00", id="monthly"),
        pytest.param("@yearly", UTC_ZONE, "2027-01-01T00:00:00", id="yearly"),
        pytest.param("@annually", UTC_ZONE, "2027-01-01T00:00:00", id="annually"),
        pytest.param("0 12 * * *", UTC_ZONE, "2026-11-27T12:00:00", id="crontab-noon"),
        pytest.param("0 12 * * ?", UTC_ZONE, "2026-11-27T12:00:00", id="crontab-question"),
        # Six bare fields that cannot be EventBridge's: seconds first, as before.
        pytest.param("*/10 * * * * *", UTC_ZONE, "2026-11-27T08:00:10", id="seconds-every-10"),
        pytest.param("30 0 12 * * MON", UTC_ZONE, "2026-11-30T12:00:30", id="seconds-first-monday"),
    ],
)
def test_next_fire_of_eventbridge_and_other_forms(
    expression: str, tz: ZoneInfo, expected: str
) -> None:
    fire = next_fire(parse(expression), tz, NOW)
    assert fire == datetime.fromisoformat(expected).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("year", "month", "day", "expected"),
    [
        pytest.param(2026, 12, 15, 15, id="weekday-stays"),
        pytest.param(2027, 1, 16, 15, id="saturday-to-friday"),
        pytest.param(2027, 1, 17, 18, id="sunday-to-monday"),
        pytest.param(2027, 5, 1, 3, id="saturday-the-1st-to-monday"),
        pytest.param(2027, 1, 31, 29, id="sunday-the-last-to-friday"),
        pytest.param(2027, 4, 31, None, id="no-such-day"),
    ],
)
def test_nearest_weekday_stays_in_the_month(
    year: int, month: int, day: int, expected: int | None
) -> None:
    assert nearest_weekday(year, month, day) == expected


def test_a_rate_counts_from_its_last_fire() -> None:
    rate = parse("rate(10 minutes)")
    assert rate == Rate(timedelta(minutes=10))
    last = datetime(2026, 11, 27, 8, 3, 17, 500_000, tzinfo=UTC)
    assert next_fire(rate, PARIS, last) == datetime(2026, 11, 27, 8, 13, 17, tzinfo=UTC)


def test_a_date_that_never_comes_has_no_fire() -> None:
    # 29 February 2027 does not exist, and the year field allows no other year.
    assert next_fire(parse("cron(0 0 29 2 ? 2027)"), UTC_ZONE, _at("2026-01-01T00:00:00")) is None


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        pytest.param("* * * *", "has 4 fields", id="four-fields"),
        pytest.param("60 * * * *", "bad minute", id="minute-range"),
        pytest.param("* 24 * * *", "bad hour", id="hour-range"),
        pytest.param("* * 0 * *", "bad day-of-month", id="day-zero"),
        pytest.param("* * * FOO *", "bad month", id="month-name"),
        pytest.param("*/0 * * * *", "bad minute", id="step-zero"),
        pytest.param("5-1 * * * *", "bad minute", id="backwards"),
        pytest.param("* * * * MON-XYZ", "bad day-of-week", id="weekday-name"),
        pytest.param("0 0 30 2 *", "a day no month of the schedule has", id="never"),
        pytest.param(
            "0 9 15W * *", "W (nearest weekday) is read inside cron(...) only", id="w-bare"
        ),
        pytest.param("cron(0 12 * * ?)", "cron(...) has six fields", id="cron-five-fields"),
        pytest.param(
            "cron(0 12 * * * *)",
            "exactly one of day-of-month and day-of-week must be ?",
            id="cron-no-question",
        ),
        pytest.param(
            "cron(0 12 ? * ? *)",
            "exactly one of day-of-month and day-of-week must be ?",
            id="cron-two-questions",
        ),
        pytest.param(
            "cron(? 12 * * ? *)",
            "? stands only for day-of-month or day-of-week",
            id="cron-question-minute",
        ),
        pytest.param("cron(0 25 * * ? *)", "bad hour", id="cron-hour"),
        pytest.param("cron(0 12 ? * 0 *)", "0 is out of 1-7 (1 is Sunday", id="cron-weekday-zero"),
        pytest.param("cron(0 12 ? * 8 *)", "8 is out of 1-7", id="cron-weekday-eight"),
        pytest.param("cron(0 12 * * ? 1969)", "years from 1970 to 2199", id="cron-year-low"),
        pytest.param("cron(0 12 * * ? 20x6)", "is not a year", id="cron-year-text"),
        pytest.param("cron(0 12 15#2 * ? *)", "# belongs to day-of-week", id="cron-hash-in-day"),
        pytest.param("cron(0 12 32W * ? *)", "out of 1W-31W", id="cron-w-range"),
        pytest.param("rate(1 minutes)", "singular for 1, plural above", id="rate-plural-one"),
        pytest.param("rate(5 minute)", "singular for 1, plural above", id="rate-singular-many"),
        pytest.param("rate(0 minutes)", "rate(1 minute|hour|day)", id="rate-zero"),
        pytest.param("rate(5 seconds)", "rate(N minutes|hours|days)", id="rate-seconds"),
        pytest.param("@reboot", "@hourly, @daily", id="unknown-macro"),
        # Six bare fields that read as EventBridge's: refused, not read seconds first.
        pytest.param(
            "0 12 * * ? *", "EventBridge syntax? write cron(...)", id="bare-eventbridge-noon"
        ),
        pytest.param(
            "0 0 12 * * ?", "EventBridge syntax? write cron(...)", id="bare-question-last"
        ),
        pytest.param(
            "0 12 * * MON 2027", "EventBridge syntax? write cron(...)", id="bare-year-last"
        ),
        pytest.param(
            "0 12 ? * MON-FRI *", "EventBridge syntax? write cron(...)", id="bare-question-day"
        ),
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


def _values(text: str) -> frozenset[int]:
    """The values of the simple fields the property test samples, spelled out by hand."""
    return frozenset(
        {
            "*/7": range(0, 60, 7),
            "5": [5],
            "0,30": [0, 30],
            "10-20/5": [10, 15, 20],
            "*/5": range(0, 24, 5),
            "9": [9],
            "0-3": range(4),
            "1": [1],
            "15,28": [15, 28],
            "*/10": range(1, 32, 10),
            "JAN-MAR": [1, 2, 3],
            "11": [11],
            "*/2": range(1, 13, 2),
            "MON-FRI": range(1, 6),
            "0": [0],
            "6": [6],
        }[text]
    )


def _matches(fields: tuple[str, ...], moment: datetime, tz: ZoneInfo) -> bool:
    """Crontab's reading of five fields, written independently of the module."""
    minute, hour, day, month, weekday = fields
    local = moment.astimezone(tz)

    def has(text: str, value: int) -> bool:
        return text == "*" or value in _values(text)

    in_month = has(day, local.day)
    in_week = has(weekday, local.isoweekday() % 7)
    # Debian cron: when either day field starts with *, both must match; else either.
    days = (in_month and in_week) if "*" in {day[0], weekday[0]} else (in_month or in_week)
    return (
        local.second == 0
        and has(minute, local.minute)
        and has(hour, local.hour)
        and has(month, local.month)
        and days
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
    fire = next_fire(parse(" ".join(fields)), tz, after)
    assert fire is not None
    assert fire > after
    assert _matches(fields, fire, tz)
    # No minute between `after` and the fire matches (checked up to a day back from it).
    probe = max(
        after.replace(second=0, microsecond=0) + timedelta(minutes=1), fire - timedelta(days=1)
    )
    while probe < fire:
        assert not _matches(fields, probe, tz)
        probe += timedelta(minutes=1)
