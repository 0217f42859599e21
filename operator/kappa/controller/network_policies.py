"""The NetworkPolicy of every namespace that has Functions, kept by the operator (shell).

The policy (``kappa.resources.network_policy``) is written when the first Function of a
namespace is seen (after a restart too: kopf lists every Function first), replaced when
it differs from what the settings give, and deleted with the namespace's last Function.
A namespace whose Functions all went while the operator was down keeps its policy; it
holds no function pod to restrict.
"""

import asyncio
import logging
from http import HTTPStatus
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.rest import ApiException

from kappa.api.names import GROUP, VERSION
from kappa.resources.network_policy import POLICY_NAME, function_network_policy
from kappa.settings import Settings

log = logging.getLogger(__name__)


class NetworkPolicies:
    """Which namespaces have Functions, and their policies written to match."""

    def __init__(self, api: client.NetworkingV1Api, settings: Settings) -> None:
        self._api = api
        self._settings = settings
        self._functions: dict[str, set[str]] = {}
        self._written: set[str] = set()

    def desired(self, namespace: str) -> dict[str, Any]:
        """The policy ``namespace`` gets with these settings."""
        settings = self._settings
        return function_network_policy(
            namespace,
            kappa_namespace=settings.namespace,
            metrics_from=settings.network_policy_metrics_from,
            egress=settings.network_policy_egress,
        )

    async def seen(self, namespace: str, name: str, *, deleted: bool) -> None:
        """A Function of ``namespace`` was seen (or deleted): write or delete the policy."""
        names = self._functions.setdefault(namespace, set())
        if deleted:
            names.discard(name)
            if not names:
                del self._functions[namespace]
                self._written.discard(namespace)
                await self._delete(namespace)
            return
        names.add(name)
        if namespace not in self._written:
            await self._write(namespace)
            self._written.add(namespace)

    async def _write(self, namespace: str) -> None:
        body = self.desired(namespace)
        try:
            await asyncio.to_thread(self._api.create_namespaced_network_policy, namespace, body)
            log.info("NetworkPolicy %s/%s written", namespace, POLICY_NAME)
        except ApiException as error:
            if error.status != HTTPStatus.CONFLICT:
                raise
            found = await asyncio.to_thread(
                self._api.read_namespaced_network_policy, POLICY_NAME, namespace
            )
            current = self._api.api_client.sanitize_for_serialization(found)
            if current.get("spec") != body["spec"]:
                body["metadata"]["resourceVersion"] = found.metadata.resource_version
                await asyncio.to_thread(
                    self._api.replace_namespaced_network_policy, POLICY_NAME, namespace, body
                )
                log.info("NetworkPolicy %s/%s replaced", namespace, POLICY_NAME)

    async def _delete(self, namespace: str) -> None:
        try:
            await asyncio.to_thread(
                self._api.delete_namespaced_network_policy, POLICY_NAME, namespace
            )
            log.info("NetworkPolicy %s/%s deleted with the last Function", namespace, POLICY_NAME)
        except ApiException as error:
            if error.status != HTTPStatus.NOT_FOUND:
                raise


def register_network_policies(api: client.ApiClient, settings: Settings) -> None:
    """Keep the namespaces' NetworkPolicies (when the settings ask for them)."""
    if not settings.network_policies:
        return
    policies = NetworkPolicies(client.NetworkingV1Api(api), settings)

    @kopf.on.event(GROUP, VERSION, "functions", id="network_policies")  # type: ignore[arg-type]
    async def function_seen(event: kopf.RawEvent, namespace: str, name: str, **_: Any) -> None:
        try:
            await policies.seen(namespace, name, deleted=event.get("type") == "DELETED")
        except ApiException as error:  # the next event of the namespace tries again
            log.exception("NetworkPolicy %s/%s: %s %s", namespace, POLICY_NAME, error.status,
                      error.reason)  # fmt: skip
