"""The NetworkPolicy of a namespace's function pods."""

from kappa.resources.network_policy import POLICY_NAME, function_network_policy


def test_only_the_gateways_and_operators_of_kappas_namespace_reach_the_agent() -> None:
    policy = function_network_policy("team-a", kappa_namespace="kappa-system")
    assert policy["metadata"]["name"] == POLICY_NAME
    assert policy["metadata"]["namespace"] == "team-a"
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchExpressions": [
        {"key": "kappa.dev/component", "operator": "In", "values": ["function", "pool"]}
    ]}  # fmt: skip
    assert spec["policyTypes"] == ["Ingress"]  # egress open: functions call out
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert rule["from"] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kappa-system"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "kappa",
                                        "app.kubernetes.io/component": "gateway"}},
    }, {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kappa-system"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "kappa",
                                        "app.kubernetes.io/component": "operator"}},
    }]  # fmt: skip


def test_metrics_peers_and_egress_rules_are_added_as_given_and_the_gateway_reachable() -> None:
    scraper = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    dns = {"ports": [{"protocol": "UDP", "port": 53}]}
    policy = function_network_policy(
        "team-a", kappa_namespace="kappa-system", metrics_from=[scraper], egress=[dns]
    )
    assert policy["spec"]["ingress"][0]["from"][2] == scraper
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    gateways, *given = policy["spec"]["egress"]
    assert given == [dns]
    assert gateways == {
        "to": [policy["spec"]["ingress"][0]["from"][0]],  # the gateway pods of kappa-system
        "ports": [{"protocol": "TCP", "port": 8000}],
    }
    closed = function_network_policy("team-a", kappa_namespace="kappa-system", egress=[])
    # An empty list: no egress at all but the gateways' port (the Lambda API, Invoke).
    assert closed["spec"]["egress"] == [gateways]
