"""The chart's user roles on durable executions, as ``helm template`` renders them.

docs/internals/durable.md, "Authentication and authorisation": ``kappa-viewer`` gets and
lists ``functions/durableexecutions``, ``kappa-releaser`` updates them (stop),
``kappa-author`` deletes them; callbacks need ``invoke`` on the Function, which
``kappa-invoker`` has.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chart_render import by_kind_and_name

pytestmark = pytest.mark.integration

DURABLE = "functions/durableexecutions"


def durable_verbs(role: dict[str, Any]) -> set[str]:
    return {
        verb
        for rule in role.get("rules") or []
        if DURABLE in rule.get("resources", []) and "kappa.dev" in rule.get("apiGroups", [])
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize(
    ("role", "verbs"),
    [
        ("kappa-viewer", {"get", "list"}),
        ("kappa-releaser", {"update"}),
        ("kappa-author", {"delete"}),
        ("kappa-invoker", set()),
        ("kappa-dlq-admin", set()),
    ],
)
def test_each_user_role_holds_its_verbs_on_durable_executions(role: str, verbs: set[str]) -> None:
    assert durable_verbs(by_kind_and_name()["ClusterRole", role]) == verbs


def test_the_invoker_role_invokes_functions_which_is_what_callbacks_ask() -> None:
    rules = by_kind_and_name()["ClusterRole", "kappa-invoker"]["rules"]
    assert {"apiGroups": ["kappa.dev"], "resources": ["functions"], "verbs": ["invoke"]} in rules
