"""Settings from environment variables: one reader, one error.

Every process parses its settings once, at start-up, from a mapping (tests hand
it a dict; production hands it ``os.environ``). :class:`EnvReader` converts and
checks each variable and collects every problem, so that one
:class:`SettingsError` names all the variables to fix at once.

    read = EnvReader(env)
    port = read.integer("KAPPA_GATEWAY_PORT", 8000, lo=0, hi=65535)
    level = read.choice("KAPPA_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
    read.done()  # raises SettingsError naming every bad variable
"""

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """One or more environment variables hold values the process cannot use.

    The message names each variable, the value it holds and what it should hold.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class EnvReader:
    """Typed, bounded reads of one environment mapping; problems collected for :meth:`done`.

    An unset or empty variable takes its default. A bad value is recorded and
    the default returned, so parsing goes on and every problem is reported.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        """Record a problem found by the caller's own checks."""
        self.problems.append(message)

    def raw(self, name: str) -> str | None:
        """The stripped value of ``name``; None when unset or empty."""
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def string(self, name: str, default: str) -> str:
        """The value of ``name``, or ``default``."""
        value = self.raw(name)
        return default if value is None else value

    def optional(self, name: str) -> str | None:
        """The value of ``name``, or None."""
        return self.raw(name)

    def _convert(
        self, name: str, default: T, convert: Callable[[str], T], what: str, ok: Callable[[T], bool]
    ) -> T:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = convert(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not {what}")
            return default
        if not ok(value):
            self.problems.append(f"{name}={raw!r} is out of range: it must be {what}")
            return default
        return value

    def integer(
        self, name: str, default: int, *, lo: int | None = None, hi: int | None = None
    ) -> int:
        """An integer within ``[lo, hi]`` (either bound may be open)."""
        what = _bounded("an integer", lo, hi)
        return self._convert(
            name,
            default,
            int,
            what,
            lambda v: (lo is None or v >= lo) and (hi is None or v <= hi),
        )

    def number(
        self, name: str, default: float, *, lo: float | None = None, hi: float | None = None
    ) -> float:
        """A finite number within ``[lo, hi]`` (either bound may be open)."""
        what = _bounded("a finite number", lo, hi)
        return self._convert(
            name,
            default,
            float,
            what,
            lambda v: math.isfinite(v) and (lo is None or v >= lo) and (hi is None or v <= hi),
        )

    def flag(self, name: str, *, default: bool) -> bool:
        """A boolean: 1/true/yes/on or 0/false/no/off (any case)."""
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        self.problems.append(f"{name}={raw!r} is not a boolean: use true or false")
        return default

    def choice(
        self, name: str, default: str, choices: Iterable[str], *, upper: bool = False
    ) -> str:
        """One of ``choices`` (compared upper-cased when ``upper``)."""
        allowed = tuple(choices)
        raw = self.raw(name)
        if raw is None:
            return default
        value = raw.upper() if upper else raw
        if value not in allowed:
            self.problems.append(f"{name}={raw!r} is not one of {', '.join(allowed)}")
            return default
        return value

    def done(self) -> None:
        """Raise :class:`SettingsError` naming every problem found so far, if any."""
        if self.problems:
            raise SettingsError(self.problems)


def _bounded(what: str, lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{what} from {lo:g} to {hi:g}"
    if lo is not None:
        return f"{what} of at least {lo:g}"
    if hi is not None:
        return f"{what} of at most {hi:g}"
    return what
