"""The rule machinery of the API models: one rule, checked by the API server and by Python.

Each validation rule is one :class:`Rule`: a CEL expression for the API server's
``x-kubernetes-validations`` and a Python predicate for the models, side by side,
with one message that says what to change (``kappa.api.crd`` writes the CEL into
the CRDs; the models check the predicate). Pure: pydantic and the standard library.
"""

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import (
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema


def cel_string(value: str) -> str:
    """``value`` as a CEL string literal, quoted so as to need the fewest escapes."""
    quote = '"' if "'" in value and '"' not in value else "'"
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def cel_list(values: tuple[str, ...] | frozenset[str]) -> str:
    """A CEL list literal of ``values`` (sorted, so the CRDs do not change between runs)."""
    return "[" + ", ".join(cel_string(v) for v in sorted(values)) + "]"


def cel_matches(pattern: str) -> str:
    """The argument of CEL's ``matches`` that holds only when the whole string matches."""
    return cel_string(f"^({pattern})$")


class Reason(enum.StrEnum):
    """The ``reason`` of a CEL rule: how ``kubectl`` words the refusal."""

    INVALID = "FieldValueInvalid"
    REQUIRED = "FieldValueRequired"


@dataclass(frozen=True)
class Rule:
    """A validation rule, for the API server (CEL) and for the models (Python) alike.

    ``problem`` returns None when the value is valid, else the message, which
    must be what ``message_expression`` (or ``message``) makes of the same value.
    As ``Annotated`` metadata it checks a field; listed in a model's ``rules``
    it checks the model. ``cel`` is None for a rule the schema itself enforces
    in another way (then the API server words the refusal).
    """

    cel: str | None
    message: str
    problem: Callable[[Any], str | None]
    message_expression: str | None = None
    field_path: str | None = None
    reason: Reason = Reason.INVALID

    def validation(self) -> dict[str, str] | None:
        """This rule as an entry of ``x-kubernetes-validations`` (None: not a CEL rule)."""
        if self.cel is None:
            return None
        entry = {"rule": self.cel, "message": self.message}
        if self.message_expression is not None:
            entry["messageExpression"] = self.message_expression
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        if self.reason is not Reason.INVALID:
            entry["reason"] = str(self.reason)
        return entry

    def check(self, value: Any) -> None:
        """Raise ValueError with the rule's message when ``value`` breaks it."""
        problem = self.problem(value)
        if problem is not None:
            raise ValueError(problem)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def check(value: Any) -> Any:
            self.check(value)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        add_validations(handler.resolve_ref_schema(json_schema), (self,))
        return json_schema


def add_validations(json_schema: JsonSchemaValue, rules: tuple[Rule, ...]) -> None:
    """Add the CEL of ``rules`` to a JSON schema's ``x-kubernetes-validations``."""
    entries = [entry for rule in rules if (entry := rule.validation()) is not None]
    if entries:
        json_schema.setdefault("x-kubernetes-validations", []).extend(entries)


def pattern_rule(pattern: str, message: str, *, when: str | None = None) -> Rule:
    """A rule that the whole string matches ``pattern`` (if ``when`` is given: where it matches)."""
    compiled = re.compile(pattern)
    cel = f"self.matches({cel_matches(pattern)})"
    if when is None:
        return Rule(
            cel=cel,
            message=message,
            problem=lambda value: None if compiled.fullmatch(value) else message,
        )
    condition = re.compile(when)
    return Rule(
        cel=f"!self.matches({cel_matches(when)}) || {cel}",
        message=message,
        problem=lambda value: (
            None if not condition.fullmatch(value) or compiled.fullmatch(value) else message
        ),
    )


def refused_pattern_rule(pattern: str, message: str) -> Rule:
    """A rule that the whole string does not match ``pattern``."""
    compiled = re.compile(pattern)
    return Rule(
        cel=f"!self.matches({cel_matches(pattern)})",
        message=message,
        problem=lambda value: message if compiled.fullmatch(value) else None,
    )


def exactly_one(names: tuple[str, ...], message: str) -> Rule:
    """A model rule: exactly one of the (camelCase) fields ``names`` is set."""
    attributes = tuple(snake_case(name) for name in names)
    count = " + ".join(f"(has(self.{name}) ? 1 : 0)" for name in names)
    return Rule(
        cel=f"{count} == 1",
        message=message,
        problem=lambda model: (
            None if sum(getattr(model, a) is not None for a in attributes) == 1 else message
        ),
    )


def snake_case(camel: str) -> str:
    """The Python attribute of a camelCase field name: ``maxReplicas`` → ``max_replicas``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()
