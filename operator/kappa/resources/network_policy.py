"""The NetworkPolicy the operator keeps in every namespace that has Functions: pure.

Function pods (``kappa.dev/component=function``) take connections on the agent's port
(8080) from the gateway pods of Kappa's namespace only, plus the peers the chart names
for metrics scraping; their egress is open unless the chart lists rules. One policy per
namespace, named ``kappa-functions``, labelled as Kappa's.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Final

from kappa.api.names import COMPONENT_LABEL, FUNCTION_COMPONENT

POLICY_NAME: Final = "kappa-functions"
AGENT_PORT: Final = 8080
# The gateway pods' labels (the chart's selector labels of the gateway component).
GATEWAY_LABELS: Final[Mapping[str, str]] = {
    "app.kubernetes.io/name": "kappa",
    "app.kubernetes.io/component": "gateway",
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
    gateways = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": kappa_namespace}},
        "podSelector": {"matchLabels": dict(GATEWAY_LABELS)},
    }
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": {COMPONENT_LABEL: FUNCTION_COMPONENT}},
        "policyTypes": ["Ingress"] if egress is None else ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [gateways, *(dict(peer) for peer in metrics_from)],
                "ports": [{"protocol": "TCP", "port": AGENT_PORT}],
            }
        ],
    }
    if egress is not None:
        spec["egress"] = [dict(rule) for rule in egress]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": POLICY_NAME, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }
