"""What the tests check, counted apart at the end of every run, per tier.

A pytest plugin (the repository's ``conftest.py`` loads it). A tier's count reads bigger
than its coverage when table rows are counted as behaviour, so each test is in one group:

- ``schema`` (marker): one manifest per case, refused or accepted by the CRD schema (dry
  runs against the API server in e2e) or by the models;
- ``layout`` (marker): the repository's shape, such as module names, links and make
  targets named in the docs, the generated reference being current;
- ``behaviour``: everything else, what the code does.

The tier is the test's ``unit``, ``integration`` or ``e2e`` marker (each tier's conftest
adds it). ``summary`` is pure; the hook only reads the reports pytest kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import pytest


class Group(StrEnum):
    """What a test checks."""

    BEHAVIOUR = "behaviour"
    SCHEMA = "schema"
    LAYOUT = "layout"


TIERS = ("unit", "integration", "e2e")
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")

Key = tuple[str, Group, str]
"""(tier, group, outcome)."""


def group_of(markers: Iterable[str]) -> Group:
    """The group of a test with these markers (and keywords)."""
    names = set(markers)
    if Group.LAYOUT.value in names:
        return Group.LAYOUT
    if Group.SCHEMA.value in names:
        return Group.SCHEMA
    return Group.BEHAVIOUR


def tier_of(markers: Iterable[str]) -> str:
    """The tier of a test with these markers; ``other`` without one."""
    names = set(markers)
    return next((tier for tier in TIERS if tier in names), "other")


def summary(counts: Counter[Key]) -> list[str]:
    """One line per tier that ran: each group's tests by outcome, then the tier's total."""
    lines = []
    for tier in (*TIERS, "other"):
        parts = []
        for group in Group:
            outcomes = [
                f"{counts[tier, group, outcome]:,} {outcome}"
                for outcome in OUTCOMES
                if counts[tier, group, outcome]
            ]
            if outcomes:
                parts.append(f"{group} {', '.join(outcomes)}")
        if parts:
            total = sum(n for (t, _, _), n in counts.items() if t == tier)
            lines.append(f"{tier}: {'; '.join(parts)} ({total:,} in all)")
    return lines


def _counts(stats: dict[str, list[Any]]) -> Counter[Key]:
    """Each test once, under the outcome pytest reported for it."""
    seen: dict[str, Key] = {}
    for outcome in OUTCOMES:
        for report in stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", None)
            keywords = getattr(report, "keywords", None)
            if nodeid is None or keywords is None or nodeid in seen:
                continue  # not a test's report (a collection error), or counted already
            seen[nodeid] = (tier_of(keywords), group_of(keywords), outcome)
    return Counter(seen.values())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary(_counts(terminalreporter.stats))
    if lines:
        terminalreporter.write_sep("-", "what the tests check")
        for line in lines:
            terminalreporter.write_line(line)
