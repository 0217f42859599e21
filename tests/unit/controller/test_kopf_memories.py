"""kopf keeps no per-object record for the kinds handled by event and index handlers only."""

import asyncio

from kopf import Body

from kappa.controller.kopf_memories import EVENT_ONLY_KINDS, EventOnlyDiffBase, EventOnlyMemories


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


def test_no_essence_is_built_or_read_for_the_event_only_kinds() -> None:
    storage = EventOnlyDiffBase()
    stored = '{"spec":{"old":true}}'
    for kind in ("Pod", "ConfigMap", "Function"):
        found = Body({**body(kind, kind), "spec": {"x": 1}})
        assert storage.build(body=found) is None
        annotated = {"annotations": {"kopf.zalando.org/last-handled-configuration": stored}}
        with_annotation = Body({**body(kind, kind), "metadata": annotated})
        assert storage.fetch(body=with_annotation) is None


def test_kinds_with_change_handlers_keep_their_essence_and_its_last_copy() -> None:
    storage = EventOnlyDiffBase()
    mapping = Body({**body("EventSourceMapping", "m"), "spec": {"batchSize": 10}})
    assert storage.build(body=mapping)["spec"] == {"batchSize": 10}
    stored = '{"spec":{"batchSize":5}}'
    annotated = {"annotations": {"kopf.zalando.org/last-handled-configuration": stored}}
    last = Body({**body("EventSourceMapping", "m"), "metadata": annotated})
    assert storage.fetch(body=last) == {"spec": {"batchSize": 5}}
