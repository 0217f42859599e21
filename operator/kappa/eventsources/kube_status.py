"""The poller's writes to its mapping: ``status.source`` and the sources' persistent state.

Merge patches of ``status.source`` only: the operator writes the rest of the
status (conditions, state, pollers), so neither overwrites the other.
"""

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from kappa.api.event_source_mapping import PLURAL, SourceStatus
from kappa.api.names import GROUP, VERSION

log = logging.getLogger(__name__)


def _api() -> client.CustomObjectsApi:
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()


class KubeStatus:
    """Reports to, and keeps state in, one EventSourceMapping's status."""

    def __init__(self, namespace: str, name: str) -> None:
        self._namespace = namespace
        self._name = name
        self._api = _api()

    async def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        """``method`` of the custom objects API on this mapping (then ``args``), in a thread."""
        return await asyncio.to_thread(
            method, GROUP, VERSION, self._namespace, PLURAL, self._name, *args
        )

    async def _patch(self, source: dict[str, Any]) -> None:
        body = {"status": {"source": source}}
        try:
            await self._call(self._api.patch_namespaced_custom_object_status, body)
        except ApiException as error:
            if error.status == HTTPStatus.NOT_FOUND:
                log.info("mapping %s/%s is gone", self._namespace, self._name)
                return
            raise

    async def report(self, status: SourceStatus) -> None:
        """Patch ``status.source`` (state left as it is); API errors are logged, not raised."""
        fields = status.model_dump(mode="json", by_alias=True, exclude_none=True)
        fields.pop("state", None)
        try:
            await self._patch(fields)
        except ApiException as error:
            log.warning("cannot report status: %s", error.reason)

    async def load(self, key: str) -> str | None:
        """``status.source.state[key]`` as stored now."""
        found = await self._call(self._api.get_namespaced_custom_object)
        state = (found.get("status") or {}).get("source", {}).get("state", {})
        value = state.get(key)
        return None if value is None else str(value)

    async def save(self, key: str, value: str) -> None:
        """Patch ``status.source.state[key]``; raises when the API refuses (not durable)."""
        await self._patch({"state": {key: value}})
