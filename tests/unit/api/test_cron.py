import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kappa.api.cron import (
    EVENTBRIDGE_BARE_MESSAGE,
    RATE_MESSAGE,
    SCHEDULE_MESSAGE,
    Cron,
    CronError,
    Rate,
    fire_id,
    nearest_weekday,
    next_fire,
    parse,
    zone,
)

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
        pytest.param("cron(0 12 ? * 7 *)", UTC_ZONE, "2026-11-28T12:00:00", id="seven-is-saturday"),
        pytest.param("cron(0 12 ? * WED *)", UTC_ZONE, "2026-12-02T12:00:00", id="wed-is-no-w"),
        pytest.param("0 12 * * WED", UTC_ZONE, "2026-12-02T12:00:00", id="crontab-wed-is-no-w"),
        pytest.param("0 0 LW * *", UTC_ZONE, "2026-11-30T00:00:00", id="crontab-last-weekday"),
        # Looked for day by day: the 16th is a Wednesday, after a day that is not it.
        pytest.param("cron(0 9 16W * ? *)", UTC_ZONE, "2026-12-16T09:00:00", id="16w-each-day"),
        # The search reaches SEARCH_YEARS * 366 days ahead of `now`, that moment included.
        pytest.param(
            "cron(0 8 1 12 ? 2031)", UTC_ZONE, "2031-12-01T08:00:00", id="at-the-search-end"
        ),
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
        pytest.param(2027, 1, 2, 1, id="saturday-the-2nd-to-friday-the-1st"),
        pytest.param(2026, 5, 31, 29, id="sunday-the-31st-to-friday"),
        pytest.param(2026, 5, 30, 29, id="saturday-the-30th-to-friday"),
        pytest.param(2026, 11, 1, 2, id="sunday-the-1st-to-monday"),
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


def _fires(expression: str, after: datetime, count: int) -> list[int | None]:
    """The years of the next ``count`` fires of a once-a-year schedule (None: no more)."""
    schedule, years = parse(expression), []
    fire: datetime | None = after
    for _ in range(count):
        fire = next_fire(schedule, UTC_ZONE, fire) if fire is not None else None
        years.append(fire.year if fire is not None else None)
    return years


@pytest.mark.parametrize(
    ("year_field", "after", "years"),
    [
        pytest.param("2027", NOW, [2027, None], id="one-year"),
        pytest.param("2026-2028", NOW, [2027, 2028, None], id="a-range-each-year"),
        pytest.param("2027-2030/1", NOW, [2027, 2028, 2029], id="a-step-of-one"),
        pytest.param("2027/2", NOW, [2027, 2029, 2031], id="a-step-runs-on"),
        pytest.param("2026-2032/3", NOW, [2029, 2032, None], id="a-stepped-range"),
        pytest.param("*/2", NOW, [2028, 2030], id="every-other-year-from-1970"),
        pytest.param("2027,2029", NOW, [2027, 2029, None], id="a-list"),
        pytest.param("1970-2199", NOW, [2027, 2028], id="every-year-written-out"),
        pytest.param("1970", datetime(1969, 6, 1, tzinfo=UTC), [1970, None], id="the-first-year"),
        pytest.param("2199", datetime(2198, 6, 1, tzinfo=UTC), [2199, None], id="the-last-year"),
    ],
)
def test_the_year_field(year_field: str, after: datetime, years: list[int | None]) -> None:
    assert _fires(f"cron(0 0 1 1 ? {year_field})", after, len(years)) == years


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("cron(0 12 * * ? *)", Cron("0 12 * * *"), id="every-year-is-no-year-set"),
        pytest.param(
            "cron(0 12 ? * 2-6 1970,2199)",
            Cron("0 12 * * 1-5", frozenset({1970, 2199})),
            id="weekdays-shifted-and-edge-years",
        ),
        pytest.param("cron(0 9 15W * ? *)", Cron("0 9 * * *", None, 15), id="nearest-weekday"),
        pytest.param("cron(0 12 ? * L *)", Cron("0 12 * * SAT"), id="l-alone-is-saturday"),
        pytest.param("0 12 * * ?", Cron("0 12 * * *"), id="crontab-question-is-any"),
    ],
)
def test_what_parse_reads(expression: str, expected: Cron) -> None:
    assert parse(expression) == expected


def test_nothing_is_looked_for_past_the_search_end() -> None:
    # One minute past NOW + SEARCH_YEARS * 366 days (2031-12-01T08:00Z).
    assert next_fire(parse("cron(1 8 1 12 ? 2031)"), UTC_ZONE, NOW) is None


def test_microseconds_of_after_are_dropped() -> None:
    after = datetime(2026, 11, 27, 8, 0, 0, 500_000, tzinfo=UTC)
    assert next_fire(parse("* * * * * *"), UTC_ZONE, after) == datetime(
        2026, 11, 27, 8, 0, 1, tzinfo=UTC
    )
    late = datetime(2026, 11, 27, 8, 0, 59, 999_999, tzinfo=UTC)
    assert next_fire(parse("* * * * *"), PARIS, late) == datetime(2026, 11, 27, 8, 1, tzinfo=UTC)


@pytest.fixture
def machine_in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone set to Asia/Tokyo: results must not depend on it."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("machine_in_tokyo")
def test_fire_times_and_ids_are_utc_whatever_the_machines_zone() -> None:
    paris_nine = datetime(2026, 11, 27, 9, 0, tzinfo=PARIS)
    assert fire_id(paris_nine) == "20261127T080000Z"
    fire = next_fire(parse("cron(0 12 * * ? *)"), PARIS, NOW)
    assert fire is not None
    assert fire.isoformat() == "2026-11-27T11:00:00+00:00"
    tick = next_fire(parse("rate(5 minutes)"), PARIS, NOW)
    assert tick is not None
    assert tick.isoformat() == "2026-11-27T08:05:00+00:00"


def test_a_date_that_never_comes_has_no_fire() -> None:
    # 29 February 2027 does not exist, and the year field allows no other year.
    assert next_fire(parse("cron(0 0 29 2 ? 2027)"), UTC_ZONE, _at("2026-01-01T00:00:00")) is None


# The ranges a refused field's message lists, as the user reads them.
CRONTAB_RANGES = (
    "(second 0-59 when six fields, minute 0-59, hour 0-23, day-of-month 1-31 (L, LW), "
    "month 1-12 or JAN-DEC, day-of-week 0-7 or SUN-SAT (5L, 2#2))"
)
EVENTBRIDGE_RANGES = (
    "(minute 0-59, hour 0-23, day-of-month 1-31 (L, LW, 15W), month 1-12 or JAN-DEC, "
    "day-of-week 1-7 or SUN-SAT (6L, 3#2), year 1970-2199)"
)
NO_SUCH_DAY = "bad day-of-month (or a day no month of the schedule has)"
ONE_QUESTION_MARK = (
    "exactly one of day-of-month and day-of-week must be ? (EventBridge's rule), "
    "e.g. cron(0 12 * * ? *) or cron(0 12 ? * MON-FRI *)"
)
MISPLACED = "# belongs to day-of-week (3#2) and W to day-of-month (15W, LW)"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("* * * *", f"{SCHEDULE_MESSAGE}; '* * * *' has 4 fields", id="four-fields"),
        pytest.param(
            "cron 0 12 * * ? *)",
            f"{SCHEDULE_MESSAGE}; 'cron 0 12 * * ? *)' has 7 fields",
            id="cron-without-its-parenthesis",
        ),
        pytest.param("60 * * * *", f"60 * * * *: bad minute {CRONTAB_RANGES}", id="minute-range"),
        pytest.param("* 24 * * *", f"* 24 * * *: bad hour {CRONTAB_RANGES}", id="hour-range"),
        pytest.param("* * 0 * *", f"* * 0 * *: {NO_SUCH_DAY} {CRONTAB_RANGES}", id="day-zero"),
        pytest.param("* * * FOO *", f"* * * FOO *: bad month {CRONTAB_RANGES}", id="month-name"),
        pytest.param("*/0 * * * *", f"*/0 * * * *: bad minute {CRONTAB_RANGES}", id="step-zero"),
        pytest.param("5-1 * * * *", f"5-1 * * * *: bad minute {CRONTAB_RANGES}", id="backwards"),
        pytest.param(
            "* * * * MON-XYZ",
            f"* * * * MON-XYZ: bad day-of-week {CRONTAB_RANGES}",
            id="weekday-name",
        ),
        pytest.param("0 0 30 2 *", f"0 0 30 2 *: {NO_SUCH_DAY} {CRONTAB_RANGES}", id="never"),
        pytest.param(
            "0 9 15W * *",
            "0 9 15W * *: W (nearest weekday) is read inside cron(...) only",
            id="w-bare",
        ),
        pytest.param(
            "cron(0 12 * * ?)",
            "cron(0 12 * * ?): cron(...) has six fields, minute hour day-of-month month "
            "day-of-week year; it has 5",
            id="cron-five-fields",
        ),
        pytest.param(
            "cron(0 12 * * * *)",
            f"cron(0 12 * * * *): {ONE_QUESTION_MARK}",
            id="cron-no-question",
        ),
        pytest.param(
            "cron(0 12 ? * ? *)",
            f"cron(0 12 ? * ? *): {ONE_QUESTION_MARK}",
            id="cron-two-questions",
        ),
        pytest.param(
            "cron(? 12 * * ? *)",
            "cron(? 12 * * ? *): ? stands only for day-of-month or day-of-week",
            id="cron-question-minute",
        ),
        pytest.param(
            "cron(0 12 * * ? ?)",
            "cron(0 12 * * ? ?): ? stands only for day-of-month or day-of-week",
            id="cron-question-year",
        ),
        pytest.param(
            "cron(0 25 * * ? *)",
            f"cron(0 25 * * ? *): bad hour {EVENTBRIDGE_RANGES}",
            id="cron-hour",
        ),
        pytest.param(
            "cron(0 0 30 2 ? *)",
            f"cron(0 0 30 2 ? *): {NO_SUCH_DAY} {EVENTBRIDGE_RANGES}",
            id="cron-never",
        ),
        pytest.param(
            "cron(0 12 ? * 0 *)",
            "cron(0 12 ? * 0 *): day-of-week field: 0 is out of 1-7 "
            "(1 is Sunday, as EventBridge has it)",
            id="cron-weekday-zero",
        ),
        pytest.param(
            "cron(0 12 ? * 8 *)",
            "cron(0 12 ? * 8 *): day-of-week field: 8 is out of 1-7 "
            "(1 is Sunday, as EventBridge has it)",
            id="cron-weekday-eight",
        ),
        pytest.param(
            "cron(0 12 * * ? 1969)",
            "cron(0 12 * * ? 1969): year field: '1969' must be years from 1970 to 2199",
            id="cron-year-low",
        ),
        pytest.param(
            "cron(0 12 * * ? 2200)",
            "cron(0 12 * * ? 2200): year field: '2200' must be years from 1970 to 2199",
            id="cron-year-high",
        ),
        pytest.param(
            "cron(0 12 * * ? 1969-2027)",
            "cron(0 12 * * ? 1969-2027): year field: '1969-2027' must be years from 1970 to 2199",
            id="cron-year-range-starts-low",
        ),
        pytest.param(
            "cron(0 12 * * ? 2027-2200)",
            "cron(0 12 * * ? 2027-2200): year field: '2027-2200' must be years from 1970 to 2199",
            id="cron-year-range-ends-high",
        ),
        pytest.param(
            "cron(0 12 * * ? 2030-2027)",
            "cron(0 12 * * ? 2030-2027): year field: '2030-2027' runs backwards: "
            "write the earlier year first",
            id="cron-year-range-backwards",
        ),
        pytest.param(
            "cron(0 12 * * ? 20x6)",
            "cron(0 12 * * ? 20x6): year field: '20X6' is not a year, a range or *",
            id="cron-year-text",
        ),
        pytest.param(
            "cron(0 12 * * ? 2027-x)",
            "cron(0 12 * * ? 2027-x): year field: '2027-X' is not a year, a range or *",
            id="cron-year-range-text",
        ),
        pytest.param(
            "cron(0 12 * * ? 2027/0)",
            "cron(0 12 * * ? 2027/0): year field: step '0' must be a positive number",
            id="cron-year-step-zero",
        ),
        pytest.param(
            "cron(0 12 * * ? 2027/x)",
            "cron(0 12 * * ? 2027/x): year field: step 'X' must be a positive number",
            id="cron-year-step-text",
        ),
        pytest.param(
            "cron(0 12 15#2 * ? *)", f"cron(0 12 15#2 * ? *): {MISPLACED}", id="cron-hash-in-day"
        ),
        pytest.param(
            "cron(0 12 ? * 2W *)", f"cron(0 12 ? * 2W *): {MISPLACED}", id="cron-w-in-weekday"
        ),
        pytest.param(
            "cron(0 12 32W * ? *)",
            "cron(0 12 32W * ? *): day-of-month field: 32W is out of 1W-31W",
            id="cron-w-range",
        ),
        pytest.param("rate(1 minutes)", RATE_MESSAGE, id="rate-plural-one"),
        pytest.param("rate(5 minute)", RATE_MESSAGE, id="rate-singular-many"),
        pytest.param("rate(0 minutes)", RATE_MESSAGE, id="rate-zero"),
        pytest.param("rate(5 seconds)", RATE_MESSAGE, id="rate-seconds"),
        pytest.param("@reboot", f"{SCHEDULE_MESSAGE}; '@reboot' has 1 fields", id="unknown-macro"),
        # Six bare fields that read as EventBridge's: refused, not read seconds first.
        pytest.param("0 12 * * ? *", EVENTBRIDGE_BARE_MESSAGE, id="bare-eventbridge-noon"),
        pytest.param("0 0 12 * * ?", EVENTBRIDGE_BARE_MESSAGE, id="bare-question-last"),
        pytest.param("0 12 * * MON 2027", EVENTBRIDGE_BARE_MESSAGE, id="bare-year-last"),
        pytest.param("0 12 ? * MON-FRI *", EVENTBRIDGE_BARE_MESSAGE, id="bare-question-day"),
    ],
)
def test_bad_expressions_say_which_part(expression: str, message: str) -> None:
    with pytest.raises(CronError) as excinfo:
        parse(expression)
    assert str(excinfo.value) == message


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
