"""The operator's rights to Secrets as ``helm template`` renders them: in its own namespace
it makes the key of warm pool pods' tokens and may read that one Secret, and makes the
admission webhook's certificate and may read and replace that one, no other. And the
webhook's Service, which selects every replica (they all serve it) while the autoscaler's
selects the leader only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chart_render import by_kind_and_name

pytestmark = pytest.mark.integration


def secret_rules(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for rule in role.get("rules") or [] if "secrets" in rule.get("resources", [])]


def test_the_operator_reads_only_its_two_secrets_and_only_in_its_namespace() -> None:
    objects = by_kind_and_name()
    assert secret_rules(objects["ClusterRole", "kappa-operator"]) == []
    role = objects["Role", "kappa-operator-leader"]
    assert role["metadata"]["namespace"] == "kappa-system"
    rules = secret_rules(role)
    readable = [rule for rule in rules if {"get", "list", "watch"} & set(rule["verbs"])]
    assert readable == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kappa-pool-key"],
         "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"],
         "resourceNames": ["kappa-operator-webhook-tls"], "verbs": ["get", "update"]},
    ]  # fmt: skip
    assert [rule["verbs"] for rule in rules if "resourceNames" not in rule] == [["create"]]
    # The Secret is the one the operator is told to keep the webhook's certificate in.
    env = _operator_env(objects)
    assert env["KAPPA_WEBHOOK_SERVICE"] + "-tls" == "kappa-operator-webhook-tls"


def test_without_the_webhook_there_is_no_webhook_service_nor_its_secret() -> None:
    objects = by_kind_and_name("operator.webhook.enabled=false")
    assert ("Service", "kappa-operator-webhook") not in objects
    names = [
        rule.get("resourceNames") for rule in secret_rules(objects["Role", "kappa-operator-leader"])
    ]
    assert names == [None, ["kappa-pool-key"]]
    assert "KAPPA_WEBHOOK_SERVICE" not in _operator_env(objects)
    assert "readinessProbe" not in _operator_container(objects)


def test_every_replica_serves_the_webhook_and_the_leader_alone_the_autoscaler() -> None:
    objects = by_kind_and_name()
    pods = objects["Deployment", "kappa-operator"]["spec"]["selector"]["matchLabels"]
    webhook = objects["Service", "kappa-operator-webhook"]["spec"]
    assert webhook["selector"] == pods
    assert webhook["ports"] == [{"name": "webhook", "port": 443, "targetPort": "webhook"}]
    assert _operator_env(objects)["KAPPA_WEBHOOK_SERVICE"] == "kappa-operator-webhook"
    autoscaler = objects["Service", "kappa-operator"]["spec"]
    assert autoscaler["selector"] == {**pods, "kappa.dev/operator-leader": "true"}
    assert [port["name"] for port in autoscaler["ports"]] == ["autoscaler"]
    # A replica is ready once its webhook listens.
    container = _operator_container(objects)
    assert container["readinessProbe"]["tcpSocket"] == {"port": "webhook"}


def _operator_container(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    spec = objects["Deployment", "kappa-operator"]["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == "operator")


def _operator_env(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in _operator_container(objects).get("env", [])}
