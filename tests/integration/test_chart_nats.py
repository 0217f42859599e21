"""The chart's NATS as ``helm template`` renders it: one node by default, a three-node
JetStream cluster with nats.replicas=3, its routes through one Service per pod (the
local cluster has no cluster DNS), and the settings it refuses."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.integration.brokers import BrokerStartError, start_nats
from tests.integration.chart_render import by_kind_and_name, helm_template, rendered
from tests.integration.nats_harness import chart_authorization

pytestmark = pytest.mark.integration

CLUSTER = ("nats.replicas=3", "nats.streamReplicas=3")


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def nats_container(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    (container,) = objects["StatefulSet", "kappa-nats"]["spec"]["template"]["spec"]["containers"]
    return container


def gateway_env(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    (container,) = objects["Deployment", "kappa-gateway"]["spec"]["template"]["spec"]["containers"]
    return env_of(container)


def test_one_node_by_default_with_no_routes() -> None:
    objects = by_kind_and_name()
    statefulset = objects["StatefulSet", "kappa-nats"]["spec"]
    assert statefulset["replicas"] == 1
    assert "podManagementPolicy" not in statefulset
    files = objects["ConfigMap", "kappa-nats"]["data"]
    assert "cluster.conf" not in files
    assert "server_name: kappa-nats-0" in files["nats.conf"]
    assert not {name for kind, name in objects if kind == "Service"} & {"kappa-nats-0"}
    assert objects["PodDisruptionBudget", "kappa-nats"]["spec"]["minAvailable"] == 1
    assert gateway_env(objects)["KAPPA_ASYNC_REPLICAS"] == "1"


def test_three_nodes_route_to_each_other_through_a_service_per_pod() -> None:
    objects = by_kind_and_name(*CLUSTER)
    statefulset = objects["StatefulSet", "kappa-nats"]["spec"]
    assert statefulset["replicas"] == 3
    # A node is Ready only with a quorum: the three must start together.
    assert statefulset["podManagementPolicy"] == "Parallel"
    pod = statefulset["template"]["spec"]
    assert pod["enableServiceLinks"] is True  # the routes come in the Services' variables
    env = env_of(nats_container(objects))
    assert env["KAPPA_NATS_SERVER_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["KAPPA_NATS_ROUTE_PASSWORD"]["secretKeyRef"]["key"] == "route-password"
    for i in range(3):
        service = objects["Service", f"kappa-nats-{i}"]["spec"]
        assert service["selector"]["statefulset.kubernetes.io/pod-name"] == f"kappa-nats-{i}"
        # Nodes not yet Ready (no quorum yet) are routed to: else none would ever be.
        assert service["publishNotReadyAddresses"] is True
        assert service["ports"] == [{"name": "cluster", "port": 6222, "targetPort": "cluster"}]
        assert env[f"KAPPA_NATS_ROUTE_{i}"] == (
            f"nats-route://route:$(KAPPA_NATS_ROUTE_PASSWORD)@$(KAPPA_NATS_{i}_SERVICE_HOST):6222"
        )
    assert "KAPPA_NATS_ROUTE_3" not in env
    files = objects["ConfigMap", "kappa-nats"]["data"]
    assert "include ./cluster.conf" in files["nats.conf"]
    assert "server_name" not in files["nats.conf"]
    cluster = files["cluster.conf"]
    assert "server_name: $KAPPA_NATS_SERVER_NAME" in cluster
    assert [line.strip() for line in cluster.splitlines() if "$KAPPA_NATS_ROUTE_" in line
            and "PASSWORD" not in line] == [f"$KAPPA_NATS_ROUTE_{i}" for i in range(3)]  # fmt: skip
    assert "password: $KAPPA_NATS_ROUTE_PASSWORD" in cluster  # routes authenticate
    # One node may go at a time: the other two keep the quorum and two copies of each event.
    assert objects["PodDisruptionBudget", "kappa-nats"]["spec"] == {
        "maxUnavailable": 1,
        "selector": objects["PodDisruptionBudget", "kappa-nats"]["spec"]["selector"],
    }
    assert gateway_env(objects)["KAPPA_ASYNC_REPLICAS"] == "3"
    assert "route-password" in objects["Secret", "kappa-nats-auth"]["data"]
    ingress = objects["NetworkPolicy", "kappa-nats"]["spec"]["ingress"]
    assert {"protocol": "TCP", "port": 6222} in [p for rule in ingress for p in rule["ports"]]


def test_the_route_services_are_installed_before_the_statefulset() -> None:
    # Kubernetes gives a pod the variables of the Services that exist when it starts.
    order = [(item["kind"], item["metadata"]["name"]) for item in rendered(*CLUSTER)]
    statefulset = order.index(("StatefulSet", "kappa-nats"))
    assert all(order.index(("Service", f"kappa-nats-{i}")) < statefulset for i in range(3))


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (("nats.streamReplicas=3",), "nats.streamReplicas is above nats.replicas"),
        (
            ("nats.replicas=3", "nats.streamReplicas=5"),
            "nats.streamReplicas is above nats.replicas",
        ),
        (("nats.replicas=2",), "value must be one of 1, 3, 5"),
    ],
)
def test_replica_counts_the_chart_refuses(settings: tuple[str, ...], says: str) -> None:
    result = helm_template(*settings)
    assert result.returncode != 0
    assert says in result.stderr


def _passwords(objects: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    data = objects["Secret", "kappa-nats-auth"]["data"]
    return [base64.b64decode(data[key]).decode() for key in ("gateway-password", "route-password")]


def test_the_generated_passwords_begin_with_a_letter() -> None:
    """nats-server reads a password from its environment as a configuration value: one
    beginning with a digit is taken for a number and the server does not start (the next
    test). Each render draws new passwords; twenty renders without a digit first (a
    chance of 1 in 10^3 for the old 40 random letters and digits)."""
    for _ in range(20):
        for password in _passwords(by_kind_and_name(*CLUSTER)):
            assert len(password) == 40
            assert password[0].isalpha(), password
            assert password.isalnum(), password


def test_a_password_beginning_with_a_digit_stops_nats_server(tmp_path: Path) -> None:
    """Why the chart's passwords begin with a letter: the real nats-server, with the
    chart's users, refuses its configuration when the password begins with digits and a
    size unit (``4eB``: 4 exabytes, then ``1…`` left over), as one the chart generated on
    a local cluster did."""
    digits_first = {"KAPPA_NATS_GATEWAY_PASSWORD": "4eB1CW" + "a" * 34}
    with pytest.raises(
        BrokerStartError,
        match=r"(?s)exited with 1 .*KAPPA_NATS_GATEWAY_PASSWORD.*could not be parsed",
    ):
        start_nats(tmp_path / "nats", chart_authorization(), digits_first)
    letter_first = start_nats(
        tmp_path / "nats2", chart_authorization(), {"KAPPA_NATS_GATEWAY_PASSWORD": "a1" * 20}
    )
    letter_first.stop()
