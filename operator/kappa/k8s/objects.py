"""Create, delete and patch the objects the operator manages.

Thin and idempotent: creating what exists or deleting what is gone is not an
error, because a reconcile after an operator restart may repeat either. The
kubernetes client is synchronous, so calls run in a worker thread.
"""

import asyncio
import base64
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kappa.api.names import GROUP, VERSION

_NOT_FOUND = 404
_CONFLICT = 409


class Objects:
    """Typed access to pods, ConfigMaps and Function status."""

    def __init__(self, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)

    async def create_pod(self, manifest: Mapping[str, Any]) -> None:
        """Create a pod; one that already exists is left as it is."""
        namespace = manifest["metadata"]["namespace"]
        await _tolerating(_CONFLICT, self._core.create_namespaced_pod, namespace, dict(manifest))

    async def delete_pod(self, namespace: str, name: str) -> None:
        """Delete a pod gracefully (its agent drains); a missing one is fine."""
        await _tolerating(_NOT_FOUND, self._core.delete_namespaced_pod, name, namespace)

    async def kept_secret(self, namespace: str, name: str, field: str, value: bytes) -> bytes:
        """The ``field`` of Secret ``name``, made with ``value`` if there is none yet.

        Two replicas making it at once agree: the second's create is 409 and it reads the
        first's.
        """
        data = await self.kept_secret_data(
            namespace, name, lambda: {field: value}, keep=lambda _: True
        )
        if field not in data:
            msg = f"Secret {namespace}/{name} has no {field}"
            raise ValueError(msg)
        return data[field]

    async def kept_secret_data(
        self,
        namespace: str,
        name: str,
        make: Callable[[], Mapping[str, bytes]],
        *,
        keep: Callable[[Mapping[str, bytes]], bool],
        kind: str = "Opaque",
    ) -> dict[str, bytes]:
        """The data of Secret ``name``: as found if ``keep`` says so, else made by ``make``.

        There being none, it is created; one that ``keep`` refuses is replaced (at the
        resourceVersion read, so two replicas replacing it at once agree: the second's
        write is 409 and it reads the first's, as for two creates).
        """
        for _ in range(3):
            try:
                found = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
            except ApiException as exc:
                if exc.status != _NOT_FOUND:
                    raise
                found = None
            if found is not None:
                data = {k: base64.b64decode(v) for k, v in (found.data or {}).items()}
                if keep(data):
                    return data
            made = dict(make())
            metadata = {"name": name, "namespace": namespace}
            if found is not None:
                metadata["resourceVersion"] = found.metadata.resource_version
            manifest = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": metadata,
                "type": kind,
                "data": {k: base64.b64encode(v).decode() for k, v in made.items()},
            }
            try:
                if found is None:
                    await asyncio.to_thread(
                        self._core.create_namespaced_secret, namespace, manifest
                    )
                else:
                    await asyncio.to_thread(
                        self._core.replace_namespaced_secret, name, namespace, manifest
                    )
            except ApiException as exc:
                if exc.status != _CONFLICT:
                    raise
                continue
            return made
        msg = f"Secret {namespace}/{name} was neither read nor made"
        raise ValueError(msg)

    async def create_configmap(self, manifest: Mapping[str, Any]) -> None:
        """Create a ConfigMap; one that already exists is left as it is."""
        namespace = manifest["metadata"]["namespace"]
        await _tolerating(
            _CONFLICT, self._core.create_namespaced_config_map, namespace, dict(manifest)
        )

    async def delete_configmap(self, namespace: str, name: str) -> None:
        """Delete a ConfigMap; a missing one is fine."""
        await _tolerating(_NOT_FOUND, self._core.delete_namespaced_config_map, name, namespace)

    async def add_owner_reference(
        self, namespace: str, name: str, reference: Mapping[str, Any]
    ) -> None:
        """Add ``reference`` to a ConfigMap's owners, keeping the others; a missing one is fine.

        A strategic merge patch: the API server merges owner references by uid, so an
        owner added meanwhile by someone else is not overwritten.
        """
        await _tolerating(
            _NOT_FOUND,
            partial(
                self._core.patch_namespaced_config_map,
                _content_type="application/strategic-merge-patch+json",
            ),
            name,
            namespace,
            {"metadata": {"ownerReferences": [dict(reference)]}},
        )

    async def layer(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Layer (as the API server returns it), or None when missing."""
        try:
            found = await asyncio.to_thread(
                self._custom.get_namespaced_custom_object, GROUP, VERSION, namespace, "layers", name
            )
        except ApiException as exc:
            if exc.status == _NOT_FOUND:
                return None
            raise
        return cast("dict[str, Any]", found)

    async def patch_pod(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """Merge-patch a pod.

        A ``metadata.resourceVersion`` in ``patch`` is a precondition: the API server
        answers 409 (ApiException) when the pod changed since.
        """
        await asyncio.to_thread(
            partial(self._core.patch_namespaced_pod, _content_type="application/merge-patch+json"),
            name,
            namespace,
            dict(patch),
        )

    async def configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The ConfigMap's ``data`` and ``binaryData`` (as the API sends them), or None."""
        try:
            found = await asyncio.to_thread(
                self._core.read_namespaced_config_map, name, namespace, _preload_content=False
            )
        except ApiException as exc:
            if exc.status == _NOT_FOUND:
                return None
            raise
        return cast("dict[str, Any]", json.loads(found.data))

    async def pod_exists(self, namespace: str, name: str) -> bool:
        """Whether the pod exists (asked of the API server, not of a watch)."""
        try:
            await asyncio.to_thread(self._core.read_namespaced_pod, name, namespace)
        except ApiException as exc:
            if exc.status == _NOT_FOUND:
                return False
            raise
        return True

    async def post_event(
        self, body: Mapping[str, Any], *, reason: str, message: str, warning: bool = False
    ) -> None:
        """Record an Event on a Function, as `kubectl describe function` shows it."""
        meta = body["metadata"]
        now = datetime.now(UTC)
        event = {
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "Function",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": "kappa-operator"},
            "firstTimestamp": now.isoformat(),
            "lastTimestamp": now.isoformat(),
            "count": 1,
        }
        # The client takes plain manifests; its type hints only know its models.
        await asyncio.to_thread(
            self._core.create_namespaced_event, meta["namespace"], cast("Any", event)
        )

    async def patch_function_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None:
        """Merge-patch the status of a Function, or of a FunctionVersion (a name with '.')."""
        plural = "functionversions" if "." in name else "functions"
        await self._patch_status(plural, namespace, name, status)

    async def patch_quota_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None:
        """Merge-patch a ConcurrencyQuota's status subresource."""
        await self._patch_status("concurrencyquotas", namespace, name, status)

    async def _patch_status(
        self, plural: str, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None:
        await _tolerating(
            _NOT_FOUND,
            self._custom.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            {"status": dict(status)},
        )


def api_message(exc: ApiException) -> str:
    """The API server's own words for a refusal (its Status message), else the HTTP reason."""
    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or f"{exc.status} {exc.reason}")


async def _tolerating(status: int, call: Any, *args: Any) -> None:
    try:
        await asyncio.to_thread(call, *args)
    except ApiException as exc:
        if exc.status != status:
            raise
