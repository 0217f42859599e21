"""kopf keeps no per-object record for the kinds handled by event and index handlers only."""

import asyncio

from kappa.controller.kopf_memories import EVENT_ONLY_KINDS, EventOnlyMemories


def body(kind: str, uid: str) -> dict:
    return {"kind": kind, "apiVersion": "v1", "metadata": {"uid": uid, "name": uid}}


def test_event_only_kinds_get_a_fresh_record_each_event_and_none_is_kept() -> None:
    async def scenario() -> None:
        memories = EventOnlyMemories()
        for kind in ("Pod", "ConfigMap", "Function"):
            first = await memories.recall(body(kind, kind), noticed_by_listing=True)
            again = await memories.recall(body(kind, kind))
            assert first is not again
        assert len(memories) == 0

    asyncio.run(scenario())


def test_kinds_with_change_handlers_or_timers_keep_their_record() -> None:
    async def scenario() -> None:
        memories = EventOnlyMemories()
        for kind in ("EventSourceMapping", "FunctionAlias", "WarmPool"):
            assert kind not in EVENT_ONLY_KINDS
            first = await memories.recall(body(kind, kind), noticed_by_listing=True)
            assert await memories.recall(body(kind, kind)) is first
            assert first.noticed_by_listing
        assert len(memories) == 3
        await memories.forget(body("WarmPool", "WarmPool"))
        assert len(memories) == 2

    asyncio.run(scenario())
