"""kopf's per-object memory, kept only for the kinds whose handlers need it.

kopf keeps a record for every object it has seen of every watched kind until the object
is deleted (``ResourceMemories``: a memo, an error throttler, indexing and daemon state,
a dozen small objects). Change handlers (``on.create``/``on.update``) and daemons or
timers read it between events; event and index handlers do not: each of their events
is complete in itself. The operator watches every function pod and ConfigMap of the
cluster with event and index handlers only, so with 10,000 Functions that is tens of
thousands of records nobody reads. These kinds get a fresh record per event instead,
dropped when the event is handled (kopf's own "ephemeral" records, as its admission
webhook uses).

kopf exposes the class only through ``kopf.operator(memories=...)``; it is imported from
its private module, which the pinned version (constraints.txt) has.
"""

from collections.abc import Collection
from typing import Any

from kopf._cogs.structs import bodies, ephemera
from kopf._core.reactor.inventory import ResourceMemories, ResourceMemory

# The kinds the operator handles with on.event and index handlers only. Not EventSource-
# Mapping, FunctionAlias (on.create/update) nor WarmPool (a timer): they keep records.
EVENT_ONLY_KINDS = frozenset(
    {"Pod", "ConfigMap", "Function", "FunctionVersion", "Layer", "ConcurrencyQuota"}
)


class EventOnlyMemories(ResourceMemories):
    """kopf's memories, but none kept for objects of ``kinds``."""

    def __init__(self, kinds: Collection[str] = EVENT_ONLY_KINDS) -> None:
        super().__init__()
        self._event_only = frozenset(kinds)

    async def recall(
        self,
        raw_body: bodies.RawBody,
        *,
        memobase: ephemera.AnyMemo | None = None,
        noticed_by_listing: bool = False,
        ephemeral: bool = False,
        **more: Any,
    ) -> ResourceMemory:
        """Kopf's record of the object; a fresh one, not kept, for the event-only kinds."""
        ephemeral = ephemeral or raw_body.get("kind") in self._event_only
        return await super().recall(
            raw_body,
            memobase=memobase,
            noticed_by_listing=noticed_by_listing,
            ephemeral=ephemeral,
            **more,
        )

    def __len__(self) -> int:
        """Records kept."""
        return len(self._items)
