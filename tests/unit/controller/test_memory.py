from kappa.controller.memory import FunctionMemories

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
    assert memory.bodies() == {}
    assert memory.holds() == {}
    fresh = memory.recall(KEY)
    assert fresh is not record
    assert (fresh.expected, fresh.seen_ready, fresh.quota_hold) == ({}, set(), None)


def test_wake_reaches_only_functions_seen() -> None:
    memory = FunctionMemories()
    assert memory.wake(KEY) is False
    assert memory.get(KEY) is None  # waking does not create a record
    memory.hold(KEY, "held")  # a hold may come before the Function is seen
    assert memory.wake(KEY) is False
    assert not memory.recall(KEY).wakeup.is_set()
    memory.recall(KEY).body = dict(BODY)
    assert memory.wake(KEY) is True
    assert memory.recall(KEY).wakeup.is_set()


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
