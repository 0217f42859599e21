"""The Lambda control-plane API's reads and writes of Kappa's objects: a thin shell.

Every call goes to the API server (read-your-writes: the gateway's watches may lag a
write by a moment), in a worker thread (the kubernetes client is synchronous). Writes
are server-side applies with the field manager ``kappa-lambda-api`` (forced: the API
call is the user's intent), so a GitOps tool shows them as drift from its manifests and
``kubectl get -o yaml --show-managed-fields`` names who made them. The caller has been
authorised already (``control_routes``); the gateway's own RBAC does the writing.
"""

import asyncio
import json
from collections.abc import Callable
from typing import Any, Final, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kappa.api import event_source_mapping as esm
from kappa.api import function as api
from kappa.api import function_alias, function_version
from kappa.api.names import GROUP, VERSION
from kappa.versions.publish import Published, publish

FIELD_MANAGER: Final = "kappa-lambda-api"
_NOT_FOUND: Final = 404
T = TypeVar("T")


class ControlStore:
    """Functions, versions and aliases as the API server holds them."""

    def __init__(self, kube: client.ApiClient) -> None:
        self._kube = kube
        self._custom = client.CustomObjectsApi(kube)
        self._core = client.CoreV1Api(kube)

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.to_thread(call)

    async def _unless_gone(self, call: Callable[[], T]) -> T | None:
        """``call()`` in a thread; None when the API server answers 404."""

        def run() -> T | None:
            try:
                return call()
            except ApiException as exc:
                if exc.status == _NOT_FOUND:
                    return None
                raise

        return await self._run(run)

    async def _get(self, namespace: str, plural: str, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self._unless_gone(
            lambda: self._custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name
            )
        )
        return found

    async def function(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Function, or None."""
        return await self._get(namespace, api.PLURAL, name)

    async def version(self, namespace: str, function: str, number: str) -> dict[str, Any] | None:
        """Version ``number`` of ``function``, or None."""
        return await self._get(namespace, function_version.PLURAL, f"{function}.{number}")

    async def alias(self, namespace: str, function: str, alias: str) -> dict[str, Any] | None:
        """Alias ``alias`` of ``function``, or None."""
        return await self._get(namespace, function_alias.PLURAL, f"{function}.{alias}")

    async def _list(self, namespace: str, plural: str, function: str) -> list[dict[str, Any]]:
        def listed() -> list[dict[str, Any]]:
            items = self._custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, plural
            ).get("items", [])
            return [i for i in items if (i.get("spec") or {}).get("function") == function]

        return await self._run(listed)

    async def versions(self, namespace: str, function: str) -> list[dict[str, Any]]:
        """The versions of ``function``, by number."""
        found = await self._list(namespace, function_version.PLURAL, function)
        return sorted(found, key=lambda v: int((v.get("spec") or {}).get("version") or 0))

    async def aliases(self, namespace: str, function: str) -> list[dict[str, Any]]:
        """The aliases of ``function``, by name."""
        found = await self._list(namespace, function_alias.PLURAL, function)
        return sorted(found, key=lambda a: str((a.get("metadata") or {}).get("name")))

    async def mappings(self, namespace: str | None) -> list[dict[str, Any]]:
        """The EventSourceMappings of ``namespace`` (None: of every namespace), by name."""

        def listed() -> list[dict[str, Any]]:
            if namespace is None:
                found = self._custom.list_cluster_custom_object(GROUP, VERSION, esm.PLURAL)
            else:
                found = self._custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, esm.PLURAL
                )
            items: list[dict[str, Any]] = found.get("items", [])
            return sorted(items, key=lambda i: (i["metadata"]["namespace"], i["metadata"]["name"]))

        return await self._run(listed)

    async def publish(self, namespace: str, function: str, description: str | None) -> Published:
        """PublishVersion (``kappa.versions.publish``)."""
        return await self._run(lambda: publish(self._kube, namespace, function, description))

    async def apply(self, plural: str, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply ``manifest`` as the Lambda API's field manager."""
        meta = manifest["metadata"]

        def applied() -> dict[str, Any]:
            # The client reads no object from an apply's answer (it returns None): the raw
            # answer is the object as applied.
            raw = self._custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                meta["namespace"],
                plural,
                meta["name"],
                manifest,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type="application/apply-patch+yaml",
                _preload_content=False,
            )
            answer: dict[str, Any] = json.loads(raw.data)
            return answer

        return await self._run(applied)

    async def patch(
        self, plural: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge-patch one field (``None`` removes it) as the Lambda API's field manager.

        A merge patch, not an apply: removing a field another manager set (a reserved
        concurrency from kubectl) takes a patch that names it.
        """

        def patched() -> dict[str, Any]:
            answer: dict[str, Any] = self._custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name, patch, field_manager=FIELD_MANAGER
            )
            return answer

        return await self._run(patched)

    async def create(self, plural: str, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create ``manifest`` (409 from the API server when it exists)."""

        def created() -> dict[str, Any]:
            answer: dict[str, Any] = self._custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                manifest["metadata"]["namespace"],
                plural,
                manifest,
                field_manager=FIELD_MANAGER,
            )
            return answer

        return await self._run(created)

    async def delete(self, plural: str, namespace: str, name: str) -> bool:
        """Delete the object; whether it existed."""
        gone = await self._unless_gone(
            lambda: self._custom.delete_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name
            )
        )
        return gone is not None

    async def put_configmap(self, manifest: dict[str, Any]) -> None:
        """Create the ConfigMap, or replace the one of that name."""
        meta = manifest["metadata"]

        def put() -> None:
            try:
                self._core.replace_namespaced_config_map(
                    meta["name"], meta["namespace"], manifest, field_manager=FIELD_MANAGER
                )
            except ApiException as exc:
                if exc.status != _NOT_FOUND:
                    raise
                self._core.create_namespaced_config_map(
                    meta["namespace"], manifest, field_manager=FIELD_MANAGER
                )

        await self._run(put)

    async def delete_alias(self, namespace: str, function: str, alias: str) -> bool:
        """Delete the alias; whether it existed."""
        return await self.delete(function_alias.PLURAL, namespace, f"{function}.{alias}")
