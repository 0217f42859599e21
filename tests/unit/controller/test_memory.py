from kappa.controller.memory import FunctionMemories, WrittenStatus

KEY = ("ns", "fn")
BODY = {"metadata": {"namespace": "ns", "name": "fn"}}


def test_recall_creates_once_and_forget_drops_everything() -> None:
    memory = FunctionMemories()
    record = memory.recall(KEY)
    record.body = dict(BODY)
    record.expected["p"] = object()  # type: ignore[assignment]
    record.seen_ready.add("p")
    record.quota_hold = "over quota"
    assert memory.recall(KEY) is record
    assert memory.forget(KEY) is record
    assert memory.get(KEY) is None
    assert memory.body(KEY) is None
    assert memory.holds() == {}
    fresh = memory.recall(KEY)
    assert fresh is not record
    assert (fresh.expected, fresh.seen_ready, fresh.quota_hold) == ({}, set(), None)


def test_wake_reaches_only_functions_seen() -> None:
    memory = FunctionMemories()
    woken: list[tuple[str, str]] = []
    memory.on_wake = woken.append
    assert memory.wake(KEY) is False
    assert memory.get(KEY) is None  # waking does not create a record
    memory.hold(KEY, "held")  # a hold may come before the Function is seen
    assert memory.wake(KEY) is False
    assert woken == []
    memory.recall(KEY).body = dict(BODY)
    assert memory.wake(KEY) is True
    assert woken == [KEY]


def test_a_status_written_stands_for_the_stale_body_until_the_watch_shows_another() -> None:
    record = FunctionMemories().recall(KEY)
    stale = {**BODY, "metadata": {**BODY["metadata"], "resourceVersion": "7"}, "status": {"a": 1}}
    assert record.current(stale) is stale  # nothing written: the body as it is
    record.written = WrittenStatus("7", {"observedGeneration": 2, "replicas": 1})
    assert record.current(stale)["status"] == {"a": 1, "observedGeneration": 2, "replicas": 1}
    assert stale["status"] == {"a": 1}  # not changed in place
    newer = {**stale, "metadata": {**stale["metadata"], "resourceVersion": "8"}}
    assert record.current(newer) is newer  # the watch has a newer Function: read it
    assert record.written is None
    assert record.current(stale) is stale


def test_hold_and_release() -> None:
    memory = FunctionMemories()
    memory.hold(KEY, "over quota")
    assert memory.holds() == {KEY: "over quota"}
    memory.hold(KEY, None)
    assert memory.holds() == {}
    memory.hold(("ns", "never"), None)  # releasing what was never held creates nothing
    assert memory.get(("ns", "never")) is None


def test_memory_holds_a_function_while_its_body_is_known() -> None:
    memory = FunctionMemories()
    assert ("ns", "fn") not in memory
    memory.recall(("ns", "fn"))  # a record without a body: not a Function seen
    assert ("ns", "fn") not in memory
    memory.recall(("ns", "fn")).body = {"metadata": {"name": "fn"}}
    assert ("ns", "fn") in memory
    memory.forget(("ns", "fn"))
    assert ("ns", "fn") not in memory


def test_a_status_written_is_dropped_once_the_watch_shows_a_newer_function() -> None:
    """Without waiting for a pass: a Function at rest passes rarely."""
    record = FunctionMemories().recall(KEY)
    seen = {**BODY, "metadata": {**BODY["metadata"], "resourceVersion": "7"}}
    assert record.saw(seen) is None
    record.written = WrittenStatus("7", {"replicas": 1})
    again = {**seen, "spec": {}}  # the same version (a resync of kopf's): still stale
    assert record.saw(again) is seen
    assert record.written is not None
    newer = {**seen, "metadata": {**seen["metadata"], "resourceVersion": "8"}}
    assert record.saw(newer) is again
    assert (record.body, record.written) == (newer, None)
