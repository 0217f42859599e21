"""An alias's Ready says whether the Function and the versions it names exist."""

from typing import Any

import pytest

from kappa.api.meta import ConditionStatus, ConditionType
from kappa.controller.alias_status import AliasObserved, alias_conditions, shares

pytestmark = pytest.mark.unit


def spec(version: str, weights: dict[str, float] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"function": "hello", "functionVersion": version}
    if weights is not None:
        body["routingConfig"] = {"additionalVersionWeights": weights}
    return body


def seen(*versions: str, exists: bool = True) -> AliasObserved:
    return AliasObserved("hello", exists, frozenset(versions))


def test_an_alias_whose_versions_exist_routes_and_says_the_split() -> None:
    [ready] = alias_conditions(spec("1", {"2": 0.1}), seen("1", "2"))
    assert (ready.type, ready.status, ready.reason) == (
        ConditionType.READY, ConditionStatus.TRUE, "Routing"
    )  # fmt: skip
    assert ready.message == "calls go to 1 90%, 2 10%"


def test_latest_needs_only_the_function() -> None:
    [ready] = alias_conditions(spec("$LATEST"), seen())
    assert (ready.status, ready.message) == (ConditionStatus.TRUE, "calls go to $LATEST 100%")


@pytest.mark.parametrize(
    ("alias", "versions", "missing"),
    [
        (spec("3"), ("1", "2"), "version 3 of hello"),
        (spec("1", {"12": 0.5}), ("1", "2"), "version 12 of hello"),
        (spec("10", {"9": 0.5}), ("1",), "version 9, 10 of hello"),  # by number, not text
    ],
)
def test_a_missing_version_is_named_with_what_to_do(
    alias: dict[str, Any], versions: tuple[str, ...], missing: str
) -> None:
    [ready] = alias_conditions(alias, seen(*versions))
    assert (ready.status, ready.reason) == (ConditionStatus.FALSE, "VersionNotFound")
    assert missing in ready.message
    assert "kappa publish hello" in ready.message


def test_a_missing_function_comes_first() -> None:
    [ready] = alias_conditions(spec("3"), seen("1", exists=False))
    assert (ready.status, ready.reason) == (ConditionStatus.FALSE, "FunctionNotFound")
    assert "Function hello does not exist" in ready.message


def test_shares_sum_to_one_and_the_primary_gets_the_rest() -> None:
    assert shares(spec("1", {"2": 0.25})) == {"1": 0.75, "2": 0.25}
    assert shares({"function": "hello"}) == {"$LATEST": 1.0}
    assert shares(spec("1", {"2": 1.0})) == {"1": 0.0, "2": 1.0}
