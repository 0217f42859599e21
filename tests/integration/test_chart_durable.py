"""What durable Functions' pods need of the chart, as ``helm template`` renders it: the
operator knows the gateway Service's address (its ClusterIP: the local cluster has no
DNS) and needs no new right for the pods' projected tokens (the kubelet makes them); with
``networkPolicy.functionEgress`` set, the operator adds the gateway to function pods'
egress (tests/unit/resources/test_network_policy.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.integration.chart_render import by_kind_and_name

pytestmark = pytest.mark.integration


def operator_pod(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    spec = objects[("Deployment", "kappa-operator")]["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def env(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    (container,) = operator_pod(objects)["containers"]
    return {item["name"]: item.get("value", "") for item in container["env"]}


@pytest.mark.parametrize("port", ["80", "8088"])
def test_the_operator_gives_durable_pods_the_gateway_services_cluster_ip(port: str) -> None:
    objects = by_kind_and_name(f"gateway.service.port={port}")
    service = objects[("Service", "kappa-gateway")]
    assert [p["port"] for p in service["spec"]["ports"]] == [int(port)]
    # The kubelet expands the Service's variable (service links on) before the operator starts.
    assert env(objects)["KAPPA_FUNCTION_GATEWAY_URL"] == (
        f"http://$(KAPPA_GATEWAY_SERVICE_HOST):{port}"
    )
    assert operator_pod(objects)["enableServiceLinks"] is True


def test_projected_tokens_need_no_right_of_the_operator() -> None:
    role = by_kind_and_name()[("ClusterRole", "kappa-operator")]
    resources = {resource for rule in role["rules"] for resource in rule.get("resources", [])}
    assert "serviceaccounts/token" not in resources  # it never mints tokens itself


def test_function_egress_reaches_the_operator_which_adds_the_gateway() -> None:
    dns = {"ports": [{"protocol": "UDP", "port": 53}]}
    objects = by_kind_and_name("networkPolicy.functionEgress[0].ports[0].protocol=UDP",
                               "networkPolicy.functionEgress[0].ports[0].port=53")  # fmt: skip
    assert json.loads(env(objects)["KAPPA_NETWORK_POLICY_EGRESS"]) == [dns]
    # The gateway takes callers from anywhere on its port: function pods included.
    policy = objects[("NetworkPolicy", "kappa-gateway")]
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8000}]}]


def gateway_pod(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    spec = objects[("Deployment", "kappa-gateway")]["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def test_the_gateways_share_a_generated_durable_key() -> None:
    """Every gateway replica mounts the one Secret, so any replica verifies a token another
    signed; the key is long enough for the service (32 bytes at least)."""
    objects = by_kind_and_name()
    secret = objects[("Secret", "kappa-durable-keys")]
    assert len(base64.b64decode(secret["data"]["current"])) >= 32
    pod = gateway_pod(objects)
    (container,) = pod["containers"]
    environment = {item["name"]: item.get("value") for item in container["env"]}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "durable-keys")
    assert environment["KAPPA_DURABLE_KEYS_DIR"] == mount["mountPath"]
    volume = next(v for v in pod["volumes"] if v["name"] == "durable-keys")
    assert volume["secret"]["secretName"] == "kappa-durable-keys"


def test_a_durable_key_secret_of_ones_own_replaces_the_generated_one() -> None:
    objects = by_kind_and_name("gateway.durableKeysSecret=my-keys")
    assert ("Secret", "kappa-durable-keys") not in objects
    volume = next(v for v in gateway_pod(objects)["volumes"] if v["name"] == "durable-keys")
    assert volume["secret"]["secretName"] == "my-keys"


def test_without_nats_there_is_no_durable_key() -> None:
    objects = by_kind_and_name("nats.enabled=false")
    assert ("Secret", "kappa-durable-keys") not in objects
    (container,) = gateway_pod(objects)["containers"]
    assert "KAPPA_DURABLE_KEYS_DIR" not in {item["name"] for item in container["env"]}
