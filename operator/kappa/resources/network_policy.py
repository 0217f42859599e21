"""The NetworkPolicy the operator keeps in every namespace that has Functions: pure.

Function pods (``kappa.dev/component=function``) and warm pool pods (``pool``, which
become function pods when claimed) take connections on the agent's port (8080) from the
gateway and operator pods of Kappa's namespace only (the gateways call functions; the
operator specialises a pool pod it claims, with the pod's token), plus the peers the
chart names for metrics scraping; their egress is open unless the chart lists rules, and
then the gateway pods' port is always among them (a durable Function's SDK calls the
Lambda API there; a Function with a ServiceAccount invokes others there). One policy per
namespace, named ``kappa-functions``, labelled as Kappa's.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Final

from kappa.api.names import COMPONENT_LABEL, FUNCTION_COMPONENT, POOL_COMPONENT

POLICY_NAME: Final = "kappa-functions"
AGENT_PORT: Final = 8080
# The gateway container's port (the chart's KAPPA_GATEWAY_PORT): egress is checked against
# the pod's port, after the Service's port is translated.
GATEWAY_PORT: Final = 8000
# The gateway pods' labels (the chart's selector labels of the gateway component).
GATEWAY_LABELS: Final[Mapping[str, str]] = {
    "app.kubernetes.io/name": "kappa",
    "app.kubernetes.io/component": "gateway",
}
# The operator pods' labels: they specialise the warm pool pods they claim.
OPERATOR_LABELS: Final[Mapping[str, str]] = {
    "app.kubernetes.io/name": "kappa",
    "app.kubernetes.io/component": "operator",
}
MANAGED_BY: Final[Mapping[str, str]] = {
    "app.kubernetes.io/managed-by": "kappa-operator",
    "app.kubernetes.io/part-of": "kappa",
}


def function_network_policy(
    namespace: str,
    *,
    kappa_namespace: str,
    metrics_from: Sequence[Mapping[str, Any]] = (),
    egress: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The NetworkPolicy of ``namespace``'s function pods (``egress`` None: unrestricted)."""
    kappa = {"matchLabels": {"kubernetes.io/metadata.name": kappa_namespace}}
    gateways = {"namespaceSelector": kappa, "podSelector": {"matchLabels": dict(GATEWAY_LABELS)}}
    operators = {"namespaceSelector": kappa, "podSelector": {"matchLabels": dict(OPERATOR_LABELS)}}
    components = [FUNCTION_COMPONENT, POOL_COMPONENT]
    spec: dict[str, Any] = {
        "podSelector": {
            "matchExpressions": [{"key": COMPONENT_LABEL, "operator": "In", "values": components}]
        },
        "policyTypes": ["Ingress"] if egress is None else ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [gateways, operators, *(dict(peer) for peer in metrics_from)],
                "ports": [{"protocol": "TCP", "port": AGENT_PORT}],
            }
        ],
    }
    if egress is not None:
        to_gateways = {"to": [gateways], "ports": [{"protocol": "TCP", "port": GATEWAY_PORT}]}
        spec["egress"] = [to_gateways, *(dict(rule) for rule in egress)]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": POLICY_NAME, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }
