"""What a pod serves is named after its Function or one of its versions, and back."""

import pytest

from kappa.api.names import labelled_unit, unit_labels, unit_name, unit_parts

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("function", "version", "unit"),
    [("hello", None, "hello"), ("hello", "2", "hello.2"), ("a-b", "117", "a-b.117")],
)
def test_a_units_name_and_its_parts_go_both_ways(
    function: str, version: str | None, unit: str
) -> None:
    assert unit_name(function, version) == unit
    assert unit_parts(unit) == (function, version)
    assert labelled_unit(unit_labels(function, version)) == unit
