"""Schedule expressions and their next fire time, in a time zone.

The forms ``spec.schedule.cron`` takes:

- ``cron(minute hour day-of-month month day-of-week year)``, as EventBridge
  writes it: one of day-of-month and day-of-week is ``?``; day-of-week runs
  1-7 with 1 = Sunday (or ``SUN``-``SAT``); ``L`` (the month's last day, or
  with a weekday ``6L`` its last Friday), ``W`` (``15W``: the weekday nearest
  the 15th, in the same month; ``LW``: the last weekday), ``#`` (``3#2``: the
  second Tuesday); year 1970-2199.
- ``rate(1 minute|hour|day)`` or ``rate(N minutes|hours|days)`` for N > 1
  (EventBridge's rule: singular for 1, plural above). A rate counts from the
  schedule's last fire (from when the poller started, for a new mapping).
- ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
  (``@midnight``), ``@hourly``.
- crontab's five fields, ``minute hour day-of-month month day-of-week``
  (weekday 0 and 7 are Sunday; when both day fields are restricted and
  neither starts with ``*``, a day matching either fires: Debian cron's rule).
- six fields with a leading ``second`` field (Kappa's form for schedules
  finer than a minute), read so only when it cannot be EventBridge's six
  fields: one whose last field is ``?`` or a year, or ``*`` with a ``?`` in
  EventBridge's day fields (``0 12 * * ? *``), is refused and must be
  written ``cron(...)``. ``*/10 * * * * *`` stays every ten seconds.

Fields are matched by cronsim (L, LW, ``#``, ``nL``, steps, names); what it
does not read is kept here: ``?``, ``W`` next to a day, the year field,
EventBridge's weekday numbering, rates and macros.

Times are wall-clock times of the schedule's zone: ``0 9 * * *`` in
Europe/Paris fires at 09:00 Paris time all year. Across DST changes: a wall
time that does not exist (the hour skipped in spring) does not fire; a wall
time that happens twice (the hour repeated in autumn) fires once, at its
first occurrence.

Pure: ``now`` is an argument.
"""

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

SEARCH_YEARS: Final = 5
"""How far ahead a next fire time is looked for (``cron(0 0 29 2 ? 2199)`` is far)."""
YEAR_LOW: Final = 1970
YEAR_HIGH: Final = 2199

_FIELD: Final = r"[-*/,0-9A-Za-z?#]+"
_ANY: Final = r"[^ ]+"
MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
SCHEDULE_PATTERN: Final = "|".join(
    (
        rf"cron\({_FIELD}( +{_FIELD}){{5}}\)",
        r"rate\(.*\)",
        "@(" + "|".join(m.removeprefix("@") for m in MACROS) + ")",
        rf"{_FIELD}( +{_FIELD}){{4,5}}",
    )
)
"""The forms a schedule takes (the fields themselves are checked by :func:`parse`)."""
SCHEDULE_MESSAGE: Final = (
    "spec.schedule.cron must be cron(minute hour day-of-month month day-of-week year) "
    "as EventBridge writes it, e.g. cron(0 12 * * ? *); rate(5 minutes); @hourly, @daily, "
    "@weekly, @monthly or @yearly; or crontab's five fields, e.g. '*/5 * * * *'"
)
RATE_FORM: Final = r"rate\(.*"
RATE_PATTERN: Final = r"rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]{1,5}) (minutes|hours|days))\)"
RATE_MESSAGE: Final = (
    "spec.schedule.cron: a rate is rate(1 minute|hour|day) or rate(N minutes|hours|days) "
    "for N from 2 to 999999 (singular for 1, plural above, as EventBridge has it)"
)
EVENTBRIDGE_BARE_PATTERN: Final = "|".join(
    (
        rf"{_ANY}( +{_ANY}){{4}} +(\?|[0-9]{{4}}[-,/0-9]*)",
        rf"{_ANY} +{_ANY} +\? +{_ANY} +{_ANY} +\*",
        rf"{_ANY}( +{_ANY}){{3}} +\? +\*",
    )
)
"""Six bare fields that read as EventBridge's (ending in ``?`` or a year, or ``*`` after a
``?`` in EventBridge's day fields): refused, since Kappa reads six bare fields seconds first."""
EVENTBRIDGE_BARE_MESSAGE: Final = (
    "spec.schedule.cron reads as EventBridge's six fields (minute hour day-of-month month "
    "day-of-week year), but six bare fields are read seconds first here. EventBridge syntax? "
    "write cron(...), e.g. cron(0 12 * * ? *) for every day at 12:00"
)
_EVENTBRIDGE_RANGES: Final = (
    "minute 0-59, hour 0-23, day-of-month 1-31 (L, LW, 15W), month 1-12 or JAN-DEC, "
    "day-of-week 1-7 or SUN-SAT (6L, 3#2), year 1970-2199"
)
_CRONTAB_RANGES: Final = (
    "second 0-59 when six fields, minute 0-59, hour 0-23, day-of-month 1-31 (L, LW), "
    "month 1-12 or JAN-DEC, day-of-week 0-7 or SUN-SAT (5L, 2#2)"
)
_EVENTBRIDGE_BARE: Final = re.compile(EVENTBRIDGE_BARE_PATTERN)
_RATE: Final = re.compile(RATE_PATTERN)
_RATE_UNITS: Final = {"minute": 60, "hour": 3600, "day": 86400}
_NEAREST_WEEKDAY: Final = re.compile(r"([0-9]{1,2})W")
_EVENTBRIDGE_WEEKDAY_NUMBER: Final = re.compile(r"(?<![#/0-9])([0-9]+)")


class CronError(ValueError):
    """A schedule expression or time zone Kappa cannot read; the message says which part."""


@dataclass(frozen=True)
class Cron:
    """A calendar schedule: cronsim's expression, and what cronsim does not read.

    ``expression`` has crontab's weekday numbers (0 = Sunday) and five fields, or six
    with seconds first; ``years`` None is every year; ``nearest_weekday`` is the N of
    ``NW`` (day-of-month), which the expression then leaves as ``*``.
    """

    expression: str
    years: frozenset[int] | None = None
    nearest_weekday: int | None = None

    def day_allowed(self, day: date) -> bool:
        """Whether ``day`` passes what cronsim does not check (the year, ``NW``)."""
        if self.years is not None and day.year not in self.years:
            return False
        return self.nearest_weekday is None or day.day == nearest_weekday(
            day.year, day.month, self.nearest_weekday
        )

    def resume_after(self, day: date) -> date | None:
        """The day to look from after ``day`` failed :meth:`day_allowed` (None: no year left)."""
        if self.years is None or day.year in self.years:
            return day + timedelta(days=1)
        later = [year for year in self.years if year > day.year]
        return date(min(later), 1, 1) if later else None


@dataclass(frozen=True)
class Rate:
    """A fixed period, counted from the schedule's last fire."""

    period: timedelta


Schedule = Cron | Rate


def nearest_weekday(year: int, month: int, day: int) -> int | None:
    """The weekday (Monday-Friday) nearest ``day`` in the month, never crossing into another.

    Quartz's and EventBridge's ``W``: a Saturday moves to the Friday before (the Monday
    after when it is the 1st), a Sunday to the Monday after (the Friday before when it
    is the month's last day). None: the month has no such day (``31W`` in April).
    """
    last = calendar.monthrange(year, month)[1]
    if day > last:
        return None
    weekday = date(year, month, day).weekday()
    if weekday == calendar.SATURDAY:
        return day - 1 if day > 1 else day + 2
    if weekday == calendar.SUNDAY:
        return day + 1 if day < last else day - 2
    return day


def _years(text: str) -> frozenset[int] | None:
    """The years of EventBridge's year field (None: every year; ``?`` was refused before)."""
    if text == "*":
        return None
    years: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        if step_text and not (step_text.isdigit() and int(step_text) > 0):
            raise CronError(f"year field: step {step_text!r} must be a positive number")
        step = int(step_text or 1)
        first, _, last = base.partition("-")
        if base == "*":
            first, last = str(YEAR_LOW), str(YEAR_HIGH)
        if not first.isdigit() or (last and not last.isdigit()):
            raise CronError(f"year field: {part!r} is not a year, a range or *")
        low = int(first)
        high = int(last) if last else (YEAR_HIGH if step_text else low)
        if not (YEAR_LOW <= low <= YEAR_HIGH and YEAR_LOW <= high <= YEAR_HIGH):
            raise CronError(f"year field: {part!r} must be years from {YEAR_LOW} to {YEAR_HIGH}")
        if high < low:
            raise CronError(f"year field: {part!r} runs backwards: write the earlier year first")
        years.update(range(low, high + 1, step))
    return frozenset(years)


def _weekdays(text: str) -> str:
    """EventBridge's day-of-week field in crontab's numbers (1 = Sunday becomes 0)."""
    if text == "L":  # alone: the last day of the week, Saturday (Quartz's rule)
        return "SAT"

    def shift(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not 1 <= number <= 7:  # noqa: PLR2004 - EventBridge's week runs 1-7
            msg = f"day-of-week field: {number} is out of 1-7 (1 is Sunday, as EventBridge has it)"
            raise CronError(msg)
        return str(number - 1)

    return _EVENTBRIDGE_WEEKDAY_NUMBER.sub(shift, text)


def _eventbridge(fields: list[str]) -> Cron:
    minute, hour, day, month, weekday, year = fields
    if (day == "?") == (weekday == "?"):
        msg = (
            "exactly one of day-of-month and day-of-week must be ? "
            "(EventBridge's rule), e.g. cron(0 12 * * ? *) or cron(0 12 ? * MON-FRI *)"
        )
        raise CronError(msg)
    if "?" in minute + hour + month + year:
        raise CronError("? stands only for day-of-month or day-of-week")
    if "#" in day + minute + hour + month or re.search("W(?!ED)", weekday):
        msg = "# belongs to day-of-week (3#2) and W to day-of-month (15W, LW)"
        raise CronError(msg)
    nearest = None
    if (found := _NEAREST_WEEKDAY.fullmatch(day)) is not None:
        nearest = int(found.group(1))
        if not 1 <= nearest <= 31:  # noqa: PLR2004 - days of a month
            raise CronError(f"day-of-month field: {day} is out of 1W-31W")
        day = "*"
    day = "*" if day == "?" else day
    weekday = "*" if weekday == "?" else _weekdays(weekday)
    crontab = f"{minute} {hour} {day} {month} {weekday}"
    return Cron(_checked(crontab, _EVENTBRIDGE_RANGES), _years(year), nearest)


def _checked(crontab: str, ranges: str) -> str:
    """``crontab`` once cronsim has read it, or CronError naming the field it refused."""
    try:
        CronSim(crontab, datetime(2000, 1, 1))  # noqa: DTZ001 - wall time
    except CronSimError as error:
        what = str(error).lower()  # cronsim names the field: "Bad minute"
        if "day-of-month" in what:
            what += " (or a day no month of the schedule has)"
        msg = f"{what} ({ranges})"
        raise CronError(msg) from error
    return crontab


def parse(expression: str) -> Schedule:
    """The schedule of ``expression`` (any of the module's forms), or CronError saying why not."""
    text = expression.strip()
    if text.startswith("rate("):
        if (found := _RATE.fullmatch(text)) is None:
            raise CronError(RATE_MESSAGE)
        count, unit = found.group(0)[len("rate(") : -1].split()
        return Rate(timedelta(seconds=int(count) * _RATE_UNITS[unit.removesuffix("s")]))
    if text in MACROS:
        return Cron(MACROS[text])
    if text.startswith("cron(") and text.endswith(")"):
        fields = text[len("cron(") : -1].split()
        if len(fields) != 6:  # noqa: PLR2004 - EventBridge's six fields
            msg = (
                f"{text}: cron(...) has six fields, minute hour day-of-month month "
                f"day-of-week year; it has {len(fields)}"
            )
            raise CronError(msg)
        try:
            return _eventbridge([f.upper() for f in fields])
        except CronError as error:
            raise CronError(f"{text}: {error}") from error
    fields = text.split()
    if len(fields) not in {5, 6}:
        raise CronError(f"{SCHEDULE_MESSAGE}; {expression!r} has {len(fields)} fields")
    if _EVENTBRIDGE_BARE.fullmatch(" ".join(fields)):
        raise CronError(EVENTBRIDGE_BARE_MESSAGE)
    if any(_NEAREST_WEEKDAY.search(f.upper()) for f in fields):
        raise CronError(f"{text}: W (nearest weekday) is read inside cron(...) only")
    crontab = " ".join("*" if f == "?" else f for f in fields)
    try:
        return Cron(_checked(crontab, _CRONTAB_RANGES))
    except CronError as error:
        raise CronError(f"{text}: {error}") from error


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or CronError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        msg = f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Paris"
        raise CronError(msg) from error


def _local_times(cron: Cron, after: datetime) -> Iterator[datetime]:
    """Naive wall-clock times matching ``cron``, strictly after ``after`` (naive), in order."""
    last = after + timedelta(days=366 * SEARCH_YEARS)
    cursor = after
    while True:  # ends: the cursor only moves on, and a moment past `last` returns
        for moment in CronSim(cron.expression, cursor):
            if moment > last:
                return
            if cron.day_allowed(moment.date()):
                yield moment
                continue
            resume = cron.resume_after(moment.date())
            if resume is None:
                return
            cursor = datetime.combine(resume, datetime.min.time()) - timedelta(seconds=1)
            break
        else:
            return  # cronsim found nothing for fifty years


def next_fire(schedule: Schedule, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (aware), as an aware UTC time; None: never.

    For a rate, ``after`` is its last fire: the next is one period later.
    """
    if isinstance(schedule, Rate):
        return after.astimezone(UTC).replace(microsecond=0) + schedule.period
    local_after = after.astimezone(tz).replace(tzinfo=None)  # cronsim drops its microseconds
    for wall in _local_times(schedule, local_after):
        moment = wall.replace(tzinfo=tz)
        exact = moment.astimezone(UTC)
        if exact.astimezone(tz).replace(tzinfo=None) != wall:
            continue  # skipped by a DST change: this wall time does not exist
        if exact > after:
            return exact
    return None


def fire_id(fire: datetime) -> str:
    """A stable identifier of a fire time (the record id): ``20261127T080000Z``."""
    return fire.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
