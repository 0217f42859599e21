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

kopf also builds, for every event of every kind, the object's "essence" (a deep copy of
its spec, labels and annotations, less its own) and reads back the essence it last stored,
to find what changed for change handlers. For the event-only kinds nothing reads either,
and at 10,000 Functions the copies were about a tenth of the operator's event loop
(BENCHMARKS.md, "The operator alone at many Functions"); ``EventOnlyDiffBase`` builds none
for them.

kopf exposes the classes only through ``kopf.operator(memories=...)`` and
``settings.persistence.diffbase_storage``; they are imported from its private modules,
which the pinned version (constraints.txt) has.
"""

from collections.abc import Collection, Iterable
from typing import Any

from kopf._cogs.configs.diffbase import AnnotationsDiffBaseStorage
from kopf._cogs.structs import bodies, dicts, ephemera
from kopf._core.reactor.inventory import ResourceMemories, ResourceMemory

# The kinds the operator handles with on.event and index handlers only. Not EventSource-
# Mapping, FunctionAlias (on.create/update) nor WarmPool (a timer): they keep records.
EVENT_ONLY_KINDS = frozenset(
    {"Pod", "ConfigMap", "Function", "FunctionVersion", "Layer", "ConcurrencyQuota", "Namespace"}
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


class EventOnlyDiffBase(AnnotationsDiffBaseStorage):
    """kopf's diff base (an object's essence, for change handlers), none for ``kinds``."""

    def __init__(self, kinds: Collection[str] = EVENT_ONLY_KINDS) -> None:
        super().__init__()
        self._event_only = frozenset(kinds)

    def build(
        self, *, body: bodies.Body, extra_fields: Iterable[dicts.FieldSpec] | None = None
    ) -> bodies.BodyEssence:
        """The essence kopf compares; nothing for the event-only kinds (no one compares it)."""
        if body.get("kind") in self._event_only:
            return None  # type: ignore[return-value]  # kopf takes None: no essence
        return super().build(body=body, extra_fields=extra_fields)

    def fetch(self, *, body: bodies.Body) -> bodies.BodyEssence | None:
        """The essence last stored; none for the event-only kinds (none is ever stored)."""
        if body.get("kind") in self._event_only:
            return None
        return super().fetch(body=body)
