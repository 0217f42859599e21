import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.api.filters import FilterPatternError, matches_any, parse, parse_all

EVENT: dict[str, Any] = {
    "body": {
        "kind": "order",
        "city": "Seattle",
        "price": 12.5,
        "count": 3,
        "tags": ["red", "blue"],
        "empty": "",
        "nothing": None,
        "flag": True,
        "file": "images/cat.png",
        "nested": {"level": "deep"},
    },
    "attributes": {"ApproximateReceiveCount": "1"},
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        pytest.param({"body": {"kind": ["order"]}}, True, id="exact"),
        pytest.param({"body": {"kind": ["refund", "order"]}}, True, id="exact-or-list"),
        pytest.param({"body": {"kind": ["refund"]}}, False, id="exact-mismatch"),
        pytest.param({"body": {"kind": ["ORDER"]}}, False, id="exact-is-case-sensitive"),
        pytest.param({"body": {"count": [3]}}, True, id="number"),
        pytest.param({"body": {"count": [3.0]}}, True, id="number-as-float"),
        pytest.param({"body": {"count": ["3"]}}, False, id="number-is-not-string"),
        pytest.param({"body": {"nothing": [None]}}, True, id="null"),
        pytest.param({"body": {"flag": [True]}}, True, id="boolean"),
        pytest.param({"body": {"flag": [1]}}, False, id="boolean-is-not-one"),
        pytest.param({"body": {"empty": [""]}}, True, id="empty-string"),
        pytest.param({"body": {"city": [{"prefix": "Sea"}]}}, True, id="prefix"),
        pytest.param({"body": {"city": [{"prefix": "sea"}]}}, False, id="prefix-case"),
        pytest.param({"body": {"file": [{"suffix": ".png"}]}}, True, id="suffix"),
        pytest.param({"body": {"file": [{"suffix": ".jpg"}]}}, False, id="suffix-mismatch"),
        pytest.param(
            {"body": {"city": [{"equals-ignore-case": "SEATTLE"}]}}, True, id="equals-ignore-case"
        ),
        pytest.param(
            {"body": {"kind": [{"anything-but": ["refund"]}]}}, True, id="anything-but-list"
        ),
        pytest.param({"body": {"kind": [{"anything-but": "order"}]}}, False, id="anything-but-one"),
        pytest.param(
            {"body": {"city": [{"anything-but": {"prefix": "Sea"}}]}},
            False,
            id="anything-but-prefix",
        ),
        pytest.param(
            {"body": {"missing": [{"anything-but": "x"}]}}, False, id="anything-but-needs-the-field"
        ),
        pytest.param({"body": {"price": [{"numeric": [">", 10]}]}}, True, id="numeric-greater"),
        pytest.param(
            {"body": {"price": [{"numeric": [">", 0, "<=", 12.5]}]}}, True, id="numeric-range"
        ),
        pytest.param(
            {"body": {"price": [{"numeric": [">", 0, "<", 12.5]}]}}, False, id="numeric-open-end"
        ),
        pytest.param({"body": {"price": [{"numeric": ["=", 12.5]}]}}, True, id="numeric-equal"),
        pytest.param({"body": {"kind": [{"numeric": [">", 0]}]}}, False, id="numeric-on-string"),
        pytest.param({"body": {"city": [{"exists": True}]}}, True, id="exists"),
        pytest.param({"body": {"missing": [{"exists": True}]}}, False, id="exists-missing"),
        pytest.param({"body": {"missing": [{"exists": False}]}}, True, id="not-exists"),
        pytest.param({"body": {"city": [{"exists": False}]}}, False, id="not-exists-present"),
        pytest.param(
            {"body": {"absent": {"inner": [{"exists": False}]}}},
            True,
            id="not-exists-under-missing-parent",
        ),
        pytest.param({"body": {"tags": ["blue"]}}, True, id="array-any-element"),
        pytest.param({"body": {"tags": ["green"]}}, False, id="array-no-element"),
        pytest.param({"body": {"file": [{"wildcard": "images/*.png"}]}}, True, id="wildcard"),
        pytest.param({"body": {"file": [{"wildcard": "*.jpg"}]}}, False, id="wildcard-mismatch"),
        pytest.param({"body": {"nested": {"level": ["deep"]}}}, True, id="nested"),
        pytest.param({"body": {"kind": ["order"], "city": ["Paris"]}}, False, id="keys-are-anded"),
        pytest.param(
            {"body": {"$or": [{"kind": ["refund"]}, {"city": ["Seattle"]}]}},
            True,
            id="or-across-keys",
        ),
        pytest.param(
            {"body": {"$or": [{"kind": ["refund"]}, {"city": ["Paris"]}]}},
            False,
            id="or-none",
        ),
        pytest.param({"attributes": {"ApproximateReceiveCount": ["1"]}}, True, id="metadata-field"),
        pytest.param({"body": {"kind": {"deeper": ["x"]}}}, False, id="nested-on-a-string"),
    ],
)
def test_matching(pattern: dict[str, Any], *, expected: bool) -> None:
    assert parse(json.dumps(pattern)).matches(EVENT) is expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("{not json", "not JSON", id="not-json"),
        pytest.param("[]", "non-empty JSON object", id="not-an-object"),
        pytest.param("{}", "non-empty JSON object", id="empty"),
        pytest.param('{"body": "order"}', 'e.g. ["order"]', id="bare-value"),
        pytest.param('{"body": {"k": []}}', "at least one value", id="empty-list"),
        pytest.param('{"k": [{"prefix": 1}]}', "prefix takes a string", id="prefix-number"),
        pytest.param('{"k": [{"numeric": [">"]}]}', "numeric takes", id="numeric-short"),
        pytest.param('{"k": [{"numeric": ["~", 1]}]}', "numeric takes", id="numeric-operator"),
        pytest.param('{"k": [{"exists": "yes"}]}', "exists takes true or false", id="exists"),
        pytest.param('{"k": [{"regex": "a"}]}', "unknown rule 'regex'", id="unknown-rule"),
        pytest.param('{"k": [{"prefix": "a", "suffix": "b"}]}', "one key", id="two-rules"),
        pytest.param('{"$or": [{"a": [1]}]}', "at least two patterns", id="or-of-one"),
        pytest.param('{"k": [{"anything-but": []}]}', "non-empty list", id="anything-but-empty"),
        pytest.param(
            '{"k": [{"anything-but": {"wildcard": "a"}}]}', "anything-but takes", id="anything-but"
        ),
    ],
)
def test_bad_patterns_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(FilterPatternError) as excinfo:
        parse(text)
    assert says in str(excinfo.value)


def test_parse_all_names_the_filter() -> None:
    with pytest.raises(FilterPatternError, match=r"filters\[1\]\.pattern"):
        parse_all(['{"a": [1]}', "nope"])


def test_no_filters_pass_everything_and_any_filter_may_match() -> None:
    assert matches_any((), EVENT)
    patterns = parse_all(['{"body": {"kind": ["x"]}}', '{"body": {"kind": ["order"]}}'])
    assert matches_any(patterns, EVENT)
    assert not matches_any(patterns[:1], EVENT)


@given(st.text(max_size=20), st.text(max_size=5))
def test_prefix_agrees_with_str_startswith(value: str, prefix: str) -> None:
    pattern = parse(json.dumps({"v": [{"prefix": prefix}]}))
    assert pattern.matches({"v": value}) is value.startswith(prefix)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_numeric_range_agrees_with_comparison(value: int, low: int, high: int) -> None:
    pattern = parse(json.dumps({"v": [{"numeric": [">=", low, "<", high]}]}))
    assert pattern.matches({"v": value}) is (low <= value < high)


@given(st.lists(st.text(max_size=4), min_size=1, max_size=4), st.text(max_size=4))
def test_anything_but_is_the_complement_of_the_or_list(excluded: list[str], value: str) -> None:
    exact = parse(json.dumps({"v": excluded}))
    anything_but = parse(json.dumps({"v": [{"anything-but": excluded}]}))
    assert anything_but.matches({"v": value}) is not exact.matches({"v": value})


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        pytest.param({"v": [{"exists": True}]}, [], False, id="an-empty-list-does-not-exist"),
        pytest.param({"v": [{"exists": False}]}, [], True, id="so-not-exists-matches-it"),
        pytest.param({"v": [{"exists": True}]}, [0], True, id="a-list-with-a-value-exists"),
        pytest.param({"v": [{"exists": True}]}, None, True, id="null-exists"),
        pytest.param({"v": [{"exists": True}]}, "", True, id="an-empty-string-exists"),
        pytest.param({"v": [0.3]}, 0.1 + 0.2, True, id="float-rounding-is-equal"),
        pytest.param({"v": [12.5]}, 12.5 + 1e-6, False, id="a-millionth-apart-is-not-equal"),
        pytest.param({"v": [12.5]}, 12.5 + 2e-9, False, id="past-the-tolerance-is-not-equal"),
        pytest.param({"v": [{"anything-but": [3]}]}, 3.0000000001, False, id="anything-but-close"),
        pytest.param({"v": [{"anything-but": [3]}]}, 3.001, True, id="anything-but-apart"),
    ],
)
def test_boundaries_of_exists_and_numeric_equality(
    pattern: dict[str, Any], value: object, *, expected: bool
) -> None:
    assert parse(json.dumps(pattern)).matches({"v": value}) is expected


_RULE_NAMES = "prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists"
_NUMERIC = (
    'numeric takes one or two comparisons, e.g. [">", 0, "<=", 5] (operators =, <, <=, >, >=)'
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('{"body": {"k": [{"prefix": 1}]}}', "pattern.body.k: prefix takes a string",
                     id="nested-path"),
        pytest.param('{"$or": [{"a": [1]}, {"b": {"c": "x"}}]}',
                     'pattern.$or[1].b.c must be an object or a list of values/rules, '
                     'e.g. ["x"] instead of "x"', id="or-path"),
        pytest.param('{"a": [[1]]}',
                     f"pattern.a: a rule is a value or an object with one key of {_RULE_NAMES}",
                     id="not-a-rule"),
        pytest.param('{"a": [{"regex": "x"}]}',
                     f"pattern.a: unknown rule 'regex'; use one of {_RULE_NAMES}", id="unknown"),
        pytest.param('{"a": [{"numeric": [1, ">"]}]}', f"pattern.a: {_NUMERIC}",
                     id="numeric-operator-first"),
        pytest.param('{"a": [{"numeric": [">", "x"]}]}', f"pattern.a: {_NUMERIC}",
                     id="numeric-bound-a-number"),
        pytest.param('{"a": [{"anything-but": {"equals-ignore-case": 1}}]}',
                     "pattern.a: equals-ignore-case takes a string", id="anything-but-inner"),
        pytest.param('{"a": [{"anything-but": {"wildcard": "a*"}}]}',
                     "pattern.a: anything-but takes values or one of prefix, suffix, "
                     "equals-ignore-case", id="anything-but-wildcard"),
        pytest.param('{"a": [{"anything-but": null}]}',
                     "pattern.a: anything-but takes a value, a list of values or a prefix/suffix "
                     "rule", id="anything-but-null"),
    ],
)  # fmt: skip
def test_a_bad_pattern_names_where_and_what(text: str, message: str) -> None:
    with pytest.raises(FilterPatternError) as excinfo:
        parse(text)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        pytest.param({"$or": [{"a": [1]}, {"b": [2]}], "c": [3]}, {"a": 1, "c": 4}, False,
                     id="an-or-then-a-field-that-fails"),
        pytest.param({"a": {"b": [1]}}, {"a": [{"b": 1}]}, False, id="a-list-is-not-an-object"),
        pytest.param({"a": [{"prefix": "1"}]}, {"a": 1}, False, id="string-rules-need-strings"),
        pytest.param({"a": [True]}, {"a": 1}, False, id="true-is-not-one"),
        pytest.param({"a": [1]}, {"a": True}, False, id="one-is-not-true"),
        pytest.param({"a": [{"wildcard": "x*y"}]}, {"a": "x\ny"}, True,
                     id="wildcard-spans-lines"),
    ],
)  # fmt: skip
def test_matching_edges(pattern: dict[str, Any], event: dict[str, Any], *, expected: bool) -> None:
    assert parse(json.dumps(pattern)).matches(event) is expected
