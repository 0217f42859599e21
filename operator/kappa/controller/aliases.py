"""kopf wiring for FunctionAliases: their status says whether what they name exists.

An alias's ``Ready`` (``kappa.controller.alias_status``) is written when the alias is
made or its spec changes (and when the operator starts), and for every alias of a
Function when that Function or one of its versions is created or deleted: an index of
aliases by Function says which, so a Function without aliases costs no API call. A
change of ``Ready`` is an Event on the alias.
"""

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kappa.api import function as api
from kappa.api import function_alias, function_version
from kappa.api.names import GROUP, VERSION
from kappa.controller.alias_status import AliasObserved, alias_conditions
from kappa.controller.announce import announce_ready

log = logging.getLogger("kappa.controller.aliases")

Key = tuple[str, str]
_CHANGES = frozenset({"ADDED", "DELETED"})  # None: the initial listing (resume covers it)


class AliasCluster:
    """What the alias status needs of the API server (the kubernetes client, in threads)."""

    def __init__(self, kube: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(kube)

    async def _get(self, namespace: str, plural: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await asyncio.to_thread(
                self._custom.get_namespaced_custom_object, GROUP, VERSION, namespace, plural, name
            )
        except ApiException as error:
            if error.status == HTTPStatus.NOT_FOUND:
                return None
            raise
        return found

    async def observe(self, namespace: str, function: str) -> AliasObserved:
        """Whether ``function`` exists, and the numbers of its versions."""
        exists = await self._get(namespace, api.PLURAL, function) is not None
        listed = await asyncio.to_thread(
            self._custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            function_version.PLURAL,
        )
        numbers = frozenset(
            str((item.get("spec") or {}).get("version"))
            for item in listed.get("items", [])
            if (item.get("spec") or {}).get("function") == function
        )
        return AliasObserved(function, exists, numbers)

    async def alias(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The alias as the API server holds it, or None."""
        return await self._get(namespace, function_alias.PLURAL, name)

    async def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge ``status`` into the alias's status."""
        await asyncio.to_thread(
            self._custom.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            function_alias.PLURAL,
            name,
            {"status": status},
        )


async def new_status(cluster: AliasCluster, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The alias's status as it should be now; None when it already is (nothing to write)."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    observed = await cluster.observe(str(meta.get("namespace")), str(spec.get("function")))
    generation = int(meta.get("generation") or 0)
    previous = list(status.get("conditions") or [])
    conditions = [
        c.as_dict(generation=generation, now=datetime.now(UTC), previous=previous)
        for c in alias_conditions(spec, observed)
    ]
    new = {"conditions": conditions, "observedGeneration": generation}
    if all(status.get(k) == v for k, v in new.items()):
        return None
    announce_ready(body, previous, conditions)
    return new


async def refresh(cluster: AliasCluster, namespace: str, names: Iterable[str]) -> None:
    """Write the status of each alias ``names`` names (gone ones are skipped)."""
    for name in sorted(set(names)):
        body = await cluster.alias(namespace, name)
        if body is None:
            continue
        status = await new_status(cluster, body)
        if status is not None:
            try:
                await cluster.write_status(namespace, name, status)
            except ApiException as error:
                if error.status != HTTPStatus.NOT_FOUND:
                    raise


def register_aliases(kube: client.ApiClient) -> None:
    """Register the FunctionAlias handlers with kopf's default registry."""
    cluster = AliasCluster(kube)

    @kopf.index(GROUP, VERSION, function_alias.PLURAL, id="aliases_by_function")  # type: ignore[arg-type]
    async def aliases_by_function(
        namespace: str, name: str, spec: kopf.Spec, **_: Any
    ) -> dict[Key, str]:
        return {(namespace, str(spec.get("function"))): name}

    @kopf.on.resume(GROUP, VERSION, function_alias.PLURAL)
    @kopf.on.create(GROUP, VERSION, function_alias.PLURAL)
    @kopf.on.update(GROUP, VERSION, function_alias.PLURAL, field="spec")
    async def alias_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        status = await new_status(cluster, body)
        if status is not None:
            patch.status.update(status)

    async def function_or_version(
        event: kopf.RawEvent,
        namespace: str,
        function: str,
        aliases: kopf.Index[Key, str],
    ) -> None:
        if event.get("type") not in _CHANGES:
            return
        names = list(aliases.get((namespace, function), []))
        if names:
            await refresh(cluster, namespace, names)

    @kopf.on.event(GROUP, VERSION, function_version.PLURAL, id="alias_versions")  # type: ignore[arg-type]
    async def version_event(
        event: kopf.RawEvent,
        namespace: str,
        spec: kopf.Spec,
        aliases_by_function: kopf.Index[Key, str],
        **_: Any,
    ) -> None:
        function = str(spec.get("function"))
        await function_or_version(event, namespace, function, aliases_by_function)

    @kopf.on.event(GROUP, VERSION, api.PLURAL, id="alias_functions")  # type: ignore[arg-type]
    async def function_event(
        event: kopf.RawEvent,
        namespace: str,
        name: str,
        aliases_by_function: kopf.Index[Key, str],
        **_: Any,
    ) -> None:
        await function_or_version(event, namespace, name, aliases_by_function)
