"""tests/groups.py: each test counted once, in its tier and group, by outcome."""

from collections import Counter

import pytest

from tests.groups import Group, Key, group_of, summary, tier_of


@pytest.mark.parametrize(
    ("markers", "group"),
    [
        pytest.param({"unit"}, Group.BEHAVIOUR, id="unmarked-is-behaviour"),
        pytest.param({"e2e", "schema"}, Group.SCHEMA, id="schema"),
        pytest.param({"unit", "layout"}, Group.LAYOUT, id="layout"),
        pytest.param({"layout", "schema"}, Group.LAYOUT, id="layout-wins"),
    ],
)
def test_group_of(markers: set[str], group: Group) -> None:
    assert group_of(markers) == group


@pytest.mark.parametrize(
    ("markers", "tier"),
    [
        pytest.param({"unit", "layout"}, "unit", id="unit"),
        pytest.param({"integration"}, "integration", id="integration"),
        pytest.param({"e2e", "teardown"}, "e2e", id="e2e"),
        pytest.param({"schema"}, "other", id="none"),
    ],
)
def test_tier_of(markers: set[str], tier: str) -> None:
    assert tier_of(markers) == tier


def test_summary_counts_each_group_apart_per_tier() -> None:
    counts: Counter[Key] = Counter(
        {
            ("unit", Group.BEHAVIOUR, "passed"): 1200,
            ("unit", Group.BEHAVIOUR, "failed"): 2,
            ("unit", Group.LAYOUT, "passed"): 300,
            ("e2e", Group.SCHEMA, "passed"): 207,
            ("e2e", Group.BEHAVIOUR, "skipped"): 1,
        }
    )
    assert summary(counts) == [
        "unit: behaviour 1,200 passed, 2 failed; layout 300 passed (1,502 in all)",
        "e2e: behaviour 1 skipped; schema 207 passed (208 in all)",
    ]


def test_summary_of_nothing_is_empty() -> None:
    assert summary(Counter()) == []
