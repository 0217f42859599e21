"""The operator's NetworkPolicies against a fake NetworkingV1Api (the API calls it makes):
written with a namespace's first Function, kept while others remain, deleted with the
last, replaced when the one found differs."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from kappa.controller.network_policies import NetworkPolicies
from kappa.settings import Settings


@dataclass
class FakeNetworking:
    """Stands in for the API server's NetworkPolicy endpoints (a dict per namespace)."""

    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    api_client: client.ApiClient = field(default_factory=client.ApiClient)

    def create_namespaced_network_policy(self, namespace: str, body: dict[str, Any]) -> None:
        self.calls.append(f"create {namespace}")
        if namespace in self.policies:
            raise ApiException(status=409)
        self.policies[namespace] = body

    def read_namespaced_network_policy(self, name: str, namespace: str) -> client.V1NetworkPolicy:
        found = self.policies[namespace]
        return client.V1NetworkPolicy(
            metadata=client.V1ObjectMeta(name=name, resource_version="7"),
            spec=found["spec"],
        )

    def replace_namespaced_network_policy(
        self, _name: str, namespace: str, body: dict[str, Any]
    ) -> None:
        self.calls.append(f"replace {namespace}")
        self.policies[namespace] = body

    def delete_namespaced_network_policy(self, _name: str, namespace: str) -> None:
        self.calls.append(f"delete {namespace}")
        if self.policies.pop(namespace, None) is None:
            raise ApiException(status=404)


def test_a_namespace_has_its_policy_while_it_has_functions() -> None:
    api = FakeNetworking()
    policies = NetworkPolicies(api, Settings())  # type: ignore[arg-type]

    async def run() -> None:
        await policies.seen("team-a", "one", deleted=False)
        await policies.seen("team-a", "two", deleted=False)
        await policies.seen("team-a", "one", deleted=False)  # a status change: nothing
        assert api.calls == ["create team-a"]
        await policies.seen("team-a", "one", deleted=True)
        assert "team-a" in api.policies  # `two` is still there
        await policies.seen("team-a", "two", deleted=True)
        assert "team-a" not in api.policies
        await policies.seen("team-b", "x", deleted=True)  # never had one: a 404 is fine

    asyncio.run(run())
    assert api.calls == ["create team-a", "delete team-a", "delete team-b"]


def test_a_policy_found_with_other_rules_is_replaced_one_that_matches_is_kept() -> None:
    api = FakeNetworking()
    settings = Settings(network_policy_metrics_from=({"podSelector": {}},))
    policies = NetworkPolicies(api, settings)  # type: ignore[arg-type]
    stale = policies.desired("team-a")
    stale["spec"]["ingress"][0]["from"] = []
    api.policies["team-a"] = stale
    api.policies["team-b"] = policies.desired("team-b")

    async def run() -> None:
        await policies.seen("team-a", "f", deleted=False)
        await policies.seen("team-b", "f", deleted=False)

    asyncio.run(run())
    assert api.calls == ["create team-a", "replace team-a", "create team-b"]
    assert api.policies["team-a"]["spec"] == policies.desired("team-a")["spec"]
