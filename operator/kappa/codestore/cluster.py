"""The Functions and FunctionVersions of the cluster, read for the collector.

Two list calls (every namespace; the chart's ClusterRole allows ``list`` on these two
and nothing else of Kappa's), in a thread: the kubernetes client blocks.
"""

import asyncio
from collections.abc import Mapping
from typing import Any

from kubernetes import client

from kappa.api import function, function_version
from kappa.api.names import GROUP, VERSION

_TIMEOUT = (5, 60)


class ClusterCode:
    """Lists the objects whose code may name a package."""

    def __init__(self, api: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api)

    def _list(self) -> list[Mapping[str, Any]]:
        items: list[Mapping[str, Any]] = []
        for plural in (function.PLURAL, function_version.PLURAL):
            listed = self._custom.list_cluster_custom_object(
                GROUP, VERSION, plural, _request_timeout=_TIMEOUT
            )
            items.extend(listed.get("items") or [])
        return items

    async def objects(self) -> list[Mapping[str, Any]]:
        """Every Function and FunctionVersion (the client's errors pass through)."""
        return await asyncio.to_thread(self._list)
