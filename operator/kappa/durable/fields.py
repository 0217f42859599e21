"""Reading the durable API's wire JSON strictly, one field at a time (pure).

Each reader takes a value and the field's path as the caller spelt it
(``Updates[2].StepOptions.NextAttemptDelaySeconds``) and returns it typed, or raises
:class:`FieldError` naming that path and what is wrong. The rules are botocore's Lambda
model's: string lengths and patterns (matched whole), integer ranges, enums, required
members. A JSON ``null`` is an absent member; members the model does not know are left
to the caller (the shapes ignore them, as Lambda does, since every 400 fails a durable
execution for good).
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypeVar

# The largest timestamp taken (9999-12-31T23:59:59.999Z), in epoch milliseconds.
TIMESTAMP_MAX_MS: Final = 253_402_300_799_999

# The largest counter taken (a log sequence, a count): JetStream's sequences are u64.
COUNTER_MAX: Final = 2**64 - 1

E = TypeVar("E", bound=StrEnum)


class FieldError(ValueError):
    """A wire value that breaks the model's rules; the message names the field.

    The durable API answers it 400 ``InvalidParameterValueException`` with the message.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class TextRule:
    """A string shape of the model: its length bounds and the pattern it matches whole."""

    min_length: int
    max_length: int
    pattern: str | None = None

    def check(self, value: object, field: str) -> str:
        """``value`` when it is a string within the rule; FieldError otherwise."""
        if not isinstance(value, str):
            raise FieldError(field, "must be a string.")
        if not self.min_length <= len(value) <= self.max_length:
            raise FieldError(
                field,
                f"must be {self.min_length} to {self.max_length} characters long "
                f"(it is {len(value)}).",
            )
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise FieldError(field, f"must match {self.pattern}.")
        return value


def member(parent: str, name: str) -> str:
    """The path of member ``name`` of the object at ``parent`` (the top level: ``""``)."""
    return f"{parent}.{name}" if parent else name


def obj(value: object, field: str) -> Mapping[str, Any]:
    """``value`` when it is a JSON object."""
    if not isinstance(value, dict):
        raise FieldError(field, "must be an object.")
    return value


def array(value: object, field: str) -> list[Any]:
    """``value`` when it is a JSON list."""
    if not isinstance(value, list):
        raise FieldError(field, "must be a list.")
    return value


def present(value: object, field: str) -> object:
    """``value`` when it is there (not absent, not null): for required members."""
    if value is None:
        raise FieldError(field, "is required.")
    return value


def text(value: object, field: str, rule: TextRule) -> str:
    """A required string member."""
    return rule.check(present(value, field), field)


def optional_text(value: object, field: str, rule: TextRule) -> str | None:
    """An optional string member (None: absent)."""
    return None if value is None else rule.check(value, field)


def optional_integer(value: object, field: str, minimum: int, maximum: int) -> int | None:
    """An optional whole number from ``minimum`` to ``maximum`` (None: absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise FieldError(field, f"must be a whole number from {minimum} to {maximum}.")
    return value


def counter(value: object, field: str) -> int:
    """A required whole number from 0 to 2**64 - 1 (a sequence, a count, a timestamp)."""
    found = optional_integer(value, field, 0, COUNTER_MAX)
    if found is None:
        raise FieldError(field, "is required.")
    return found


def optional_boolean(value: object, field: str) -> bool | None:
    """An optional ``true``/``false`` (None: absent)."""
    if value is None or isinstance(value, bool):
        return value
    raise FieldError(field, "must be true or false.")


def choice(value: object, field: str, enum: type[E]) -> E:
    """A required member of the enum ``enum``."""
    present(value, field)
    allowed = [item.value for item in enum]
    if value not in allowed:
        raise FieldError(field, f"must be one of {', '.join(allowed)}.")
    return enum(value)


def timestamp_ms(value: object, field: str, scale: int) -> int:
    """A required epoch timestamp sent in units of ``scale`` milliseconds, in milliseconds.

    ``scale`` is how many milliseconds one sent unit is: 1000 for seconds (the API's
    answers), 1 for milliseconds (the invocation's event).
    """
    present(value, field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError(field, "must be an epoch timestamp (a number).")
    ms = round(value * scale)
    if not 0 <= ms <= TIMESTAMP_MAX_MS:
        raise FieldError(field, "must be an epoch timestamp from 1970 to 9999.")
    return ms


def optional_timestamp_ms(value: object, field: str, scale: int) -> int | None:
    """An optional epoch timestamp (None: absent; see :func:`timestamp_ms`)."""
    return None if value is None else timestamp_ms(value, field, scale)
