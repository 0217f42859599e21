"""The operator's rights to Secrets as ``helm template`` renders them: it makes the key of
warm pool pods' tokens in its own namespace and may read that one Secret, no other."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chart_render import by_kind_and_name

pytestmark = pytest.mark.integration


def secret_rules(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for rule in role.get("rules") or [] if "secrets" in rule.get("resources", [])]


def test_the_operator_reads_only_the_pool_key_secret_and_only_in_its_namespace() -> None:
    objects = by_kind_and_name()
    assert secret_rules(objects["ClusterRole", "kappa-operator"]) == []
    role = objects["Role", "kappa-operator-leader"]
    assert role["metadata"]["namespace"] == "kappa-system"
    rules = secret_rules(role)
    readable = [rule for rule in rules if {"get", "list", "watch"} & set(rule["verbs"])]
    assert readable == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kappa-pool-key"],
         "verbs": ["get"]},
    ]  # fmt: skip
    assert [rule["verbs"] for rule in rules if "resourceNames" not in rule] == [["create"]]
