"""Lambda's event filtering: parse ``filterCriteria`` patterns and match records against them.

The syntax is EventBridge's event pattern language as Lambda documents it for
event source mappings:

=====================  ====================================  ==========================
rule                   pattern                               matches a value that...
=====================  ====================================  ==========================
exact (or-list)        ``{"k": ["a", 5, null, true]}``       equals one of them
empty string           ``{"k": [""]}``                       is ""
prefix / suffix        ``{"k": [{"prefix": "ab"}]}``         is a string starting/ending so
equals-ignore-case     ``{"k": [{"equals-ignore-case": "A"}]}`` equals it, case aside
anything-but           ``{"k": [{"anything-but": ["a"]}]}``  is present and none of them
                       (also a single value, or a prefix/suffix/equals-ignore-case rule)
numeric                ``{"k": [{"numeric": [">", 0, "<=", 5]}]}`` is a number in range
exists                 ``{"k": [{"exists": true}]}``          is present (false: absent)
wildcard               ``{"k": [{"wildcard": "a*.png"}]}``    is a string the glob matches
nesting                ``{"body": {"k": [...]}}``              object fields, recursively
or across keys         ``{"$or": [{"a": [1]}, {"b": [2]}]}``   one of the sub-patterns
=====================  ====================================  ==========================

Keys of one object are ANDed, values of one list ORed; a field whose value is
an array matches when one of its elements does. A record matches the filter
criteria when it matches at least one of the (up to five) patterns.

Pure: no I/O, no clock.
"""

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

_MISSING: Final = object()
_NUMERIC_OPERATORS: Final[Mapping[str, Callable[[float, float], bool]]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_STRING_RULES: Final = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_RULES: Final = (*_STRING_RULES, "anything-but", "numeric", "exists")


class FilterPatternError(ValueError):
    """A filter pattern Kappa cannot read; the message says where and what to fix."""


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern: the JSON object, checked."""

    tree: Mapping[str, Any]

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` (the record as its filter view) matches."""
        return _match_object(self.tree, event)


def parse(text: str) -> Pattern:
    """The pattern in ``text`` (JSON), or FilterPatternError saying what is wrong."""
    try:
        tree = json.loads(text)
    except ValueError as error:
        msg = f"filter pattern is not JSON: {error}"
        raise FilterPatternError(msg) from error
    _check_object(tree, "pattern")
    return Pattern(tree)


def parse_all(texts: Sequence[str]) -> tuple[Pattern, ...]:
    """Every pattern of ``filterCriteria.filters``, numbered in errors (filters[i])."""
    patterns = []
    for index, text in enumerate(texts):
        try:
            patterns.append(parse(text))
        except FilterPatternError as error:
            msg = f"spec.filterCriteria.filters[{index}].pattern: {error}"
            raise FilterPatternError(msg) from error
    return tuple(patterns)


def matches_any(patterns: Sequence[Pattern], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` passes the filter criteria (no patterns: everything passes)."""
    return not patterns or any(p.matches(event) for p in patterns)


# -------------------------------------------------------------------- checks


def _check_object(node: Any, path: str) -> None:
    if not isinstance(node, dict) or not node:
        msg = f"{path} must be a non-empty JSON object"
        raise FilterPatternError(msg)
    for key, value in node.items():
        where = f"{path}.{key}"
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:  # noqa: PLR2004 - "or" needs two
                msg = f"{where} must be a list of at least two patterns"
                raise FilterPatternError(msg)
            for index, sub in enumerate(value):
                _check_object(sub, f"{where}[{index}]")
        elif isinstance(value, dict):
            _check_object(value, where)
        elif isinstance(value, list):
            if not value:
                msg = f"{where} must list at least one value or rule"
                raise FilterPatternError(msg)
            for rule in value:
                _check_rule(rule, where)
        else:
            msg = (
                f"{where} must be an object or a list of values/rules, e.g. "
                f'["{value}"] instead of {json.dumps(value)}'
            )
            raise FilterPatternError(msg)


def _check_rule(rule: Any, where: str) -> None:  # noqa: PLR0912 - one branch per rule
    if rule is None or isinstance(rule, str | int | float | bool):
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        msg = f"{where}: a rule is a value or an object with one key of {', '.join(_RULES)}"
        raise FilterPatternError(msg)
    ((name, argument),) = rule.items()
    if name in _STRING_RULES:
        if not isinstance(argument, str):
            msg = f"{where}: {name} takes a string"
            raise FilterPatternError(msg)
    elif name == "exists":
        if not isinstance(argument, bool):
            msg = f"{where}: exists takes true or false"
            raise FilterPatternError(msg)
    elif name == "numeric":
        _check_numeric(argument, where)
    elif name == "anything-but":
        if isinstance(argument, dict):
            if len(argument) != 1 or next(iter(argument)) not in _STRING_RULES[:3]:
                msg = (
                    f"{where}: anything-but takes values or one of prefix, suffix, "
                    "equals-ignore-case"
                )
                raise FilterPatternError(msg)
            _check_rule(argument, where)
        elif isinstance(argument, list):
            if not argument or any(isinstance(a, dict | list) for a in argument):
                msg = f"{where}: anything-but takes a non-empty list of plain values"
                raise FilterPatternError(msg)
        elif not isinstance(argument, str | int | float):
            msg = f"{where}: anything-but takes a value, a list of values or a prefix/suffix rule"
            raise FilterPatternError(msg)
    else:
        msg = f"{where}: unknown rule {name!r}; use one of {', '.join(_RULES)}"
        raise FilterPatternError(msg)


def _check_numeric(argument: Any, where: str) -> None:
    ok = isinstance(argument, list) and len(argument) in {2, 4}
    if ok:
        for index in range(0, len(argument), 2):
            operator, bound = argument[index], argument[index + 1]
            ok = ok and operator in _NUMERIC_OPERATORS and _is_number(bound)
    if not ok:
        msg = (
            f'{where}: numeric takes one or two comparisons, e.g. [">", 0, "<=", 5] '
            f"(operators {', '.join(_NUMERIC_OPERATORS)})"
        )
        raise FilterPatternError(msg)


# ------------------------------------------------------------------ matching


def _match_object(pattern: Mapping[str, Any], data: Any) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_match_object(p, data) for p in sub):
                return False
            continue
        value = data.get(key, _MISSING) if isinstance(data, Mapping) else _MISSING
        if isinstance(sub, dict):
            # A missing or non-object field still matches nested `exists: false` rules.
            nested = value if isinstance(value, Mapping) else {}
            if not _match_object(sub, nested):
                return False
        elif not any(_match_rule(rule, value) for rule in sub):
            return False
    return True


def _match_rule(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict) and "exists" in rule:
        present = value is not _MISSING and value != []
        return present is rule["exists"]
    if value is _MISSING:
        return False
    values = value if isinstance(value, list) else [value]
    return any(_match_one(rule, v) for v in values)


def _match_one(rule: Any, value: Any) -> bool:  # noqa: PLR0911 - one return per rule
    if not isinstance(rule, dict):
        return _equal(rule, value)
    ((name, argument),) = rule.items()
    if name == "numeric":
        return _is_number(value) and all(
            _NUMERIC_OPERATORS[argument[i]](value, argument[i + 1])
            for i in range(0, len(argument), 2)
        )
    if name == "anything-but":
        if isinstance(argument, dict):
            return isinstance(value, str) and not _match_one(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_equal(e, value) for e in excluded)
    if not isinstance(value, str):
        return False
    if name == "prefix":
        return value.startswith(argument)
    if name == "suffix":
        return value.endswith(argument)
    if name == "equals-ignore-case":
        return bool(value.casefold() == argument.casefold())
    return _wildcard(argument).fullmatch(value) is not None


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return math.isclose(expected, value, rel_tol=0, abs_tol=1e-9)
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    return type(expected) is type(value) and bool(expected == value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _wildcard(glob: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")), re.DOTALL)
