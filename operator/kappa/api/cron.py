"""Cron expressions and their next fire time, in a time zone.

Five fields, ``minute hour day-of-month month day-of-week``, as crontab(5);
or six, with a leading ``second`` field (as Spring and Quartz have), for
schedules finer than a minute. Each field takes ``*`` (``?`` too), numbers,
ranges ``a-b``, steps ``*/n`` and ``a-b/n``, and lists ``a,b``; months and
weekdays take names (``JAN``, ``MON``; weekday 0 and 7 are Sunday). When both
day-of-month and day-of-week are restricted, a day matching either fires
(crontab's rule).

Times are wall-clock times of the schedule's zone: ``0 9 * * *`` in
Europe/Paris fires at 09:00 Paris time all year. Across DST changes: a wall
time that does not exist (the hour skipped in spring) does not fire; a wall
time that happens twice (the hour repeated in autumn) fires once, at its
first occurrence.

Pure: ``now`` is an argument.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS: Final = {name: n for n, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
SEARCH_YEARS: Final = 5
"""How far ahead a next fire time is looked for (``0 0 30 2 *`` never comes)."""


class CronError(ValueError):
    """A cron expression or time zone Kappa cannot read; the message says which part."""


@dataclass(frozen=True)
class Field:
    """One field's bounds and names."""

    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_SECOND: Final = Field("second", 0, 59)
_FIELDS: Final = (
    Field("minute", 0, 59),
    Field("hour", 0, 23),
    Field("day-of-month", 1, 31),
    Field("month", 1, 12, _MONTHS),
    Field("day-of-week", 0, 7, _DAYS),
)


@dataclass(frozen=True)
class Cron:
    """A parsed expression: the allowed values of each field."""

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    def day_matches(self, day: date) -> bool:
        """Whether ``day`` is a day the schedule fires on."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def _value(text: str, field: Field) -> int:
    upper = text.upper()
    if field.names is not None and upper in field.names:
        return field.names[upper]
    if not text.isdigit():
        msg = f"{field.name} field: {text!r} is not a number"
        if field.names is not None:
            msg += f" or a name ({', '.join(field.names)})"
        raise CronError(msg)
    number = int(text)
    if not field.low <= number <= field.high:
        msg = f"{field.name} field: {number} is out of {field.low}-{field.high}"
        raise CronError(msg)
    return number


def _parse_field(text: str, field: Field) -> tuple[frozenset[int], bool]:
    """The values of one field, and whether it was ``*`` (unrestricted)."""
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                msg = f"{field.name} field: step {step_text!r} must be a positive number"
                raise CronError(msg)
            step = int(step_text)
        if base in {"*", "?"}:
            low, high = field.low, field.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, field), _value(last, field)
            if low > high:
                msg = f"{field.name} field: range {base} runs backwards"
                raise CronError(msg)
        else:
            low = _value(base, field)
            high = field.high if step_text else low
        values.update(range(low, high + 1, step))
    if field.name == "day-of-week" and 7 in values:  # noqa: PLR2004 - 7 is Sunday too
        values = (values - {7}) | {0}
    return frozenset(values), text in {"*", "?"}


def parse(expression: str) -> Cron:
    """The cron of ``expression`` (5 or 6 fields), or CronError saying what is wrong."""
    parts = expression.split()
    if len(parts) not in {5, 6}:
        msg = (
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week) "
            f"or 6 (with seconds first); {expression!r} has {len(parts)}"
        )
        raise CronError(msg)
    seconds = frozenset({0})
    if len(parts) == 6:  # noqa: PLR2004 - the seconds form
        seconds, _ = _parse_field(parts.pop(0), _SECOND)
    (minutes, _), (hours, _), (days, any_day), (months, _), (weekdays, any_weekday) = (
        _parse_field(text, field) for text, field in zip(parts, _FIELDS, strict=True)
    )
    return Cron(seconds, minutes, hours, days, months, weekdays, any_day, any_weekday)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or CronError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        msg = f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Paris"
        raise CronError(msg) from error


def _local_times(cron: Cron, start: datetime) -> Iterator[datetime]:
    """Naive wall-clock times matching ``cron``, from ``start`` (naive) on, in order."""
    day = start.date()
    last = day + timedelta(days=366 * SEARCH_YEARS)
    hours, minutes, seconds = sorted(cron.hours), sorted(cron.minutes), sorted(cron.seconds)
    while day <= last:
        if cron.day_matches(day):
            first_day = day == start.date()
            for hour in hours:
                if first_day and hour < start.hour:
                    continue
                first_hour = first_day and hour == start.hour
                for minute in minutes:
                    if first_hour and minute < start.minute:
                        continue
                    for second in seconds:
                        moment = datetime(day.year, day.month, day.day, hour, minute, second)  # noqa: DTZ001 - wall time
                        if moment >= start:
                            yield moment
        day += timedelta(days=1)


def next_fire(cron: Cron, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (aware), as an aware UTC time; None: never."""
    local_after = after.astimezone(tz).replace(tzinfo=None)
    start = local_after.replace(microsecond=0) + timedelta(seconds=1)
    for wall in _local_times(cron, start):
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
