"""KubeRegistry's list-then-watch loop against scripted list and watch answers (no cluster).

The fakes stand in for the kubernetes client's list calls; the real `watch.Watch`
reads their watch streams, so its 410 and ERROR handling is the one that runs.
"""

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kappa.gateway import kube_registry
from kappa.gateway.kube_registry import KubeRegistry
from kappa.invocation.routing import FunctionKey
from tests.unit.invocation.test_kube_view import fn, pod

ECHO = ("team", "echo")
WEB = ("team", "web")


class FakeResponse:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._lines = [json.dumps(event).encode() + b"\n" for event in events]

    def stream(self, **_options: object) -> Iterator[bytes]:
        yield from self._lines

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class FakeList:
    """A list call: scripted list pages, then scripted watch streams, then it blocks."""

    def __init__(self, lists: list[tuple[list[dict[str, Any]], str]]) -> None:
        self.lists = lists
        self.watches: list[list[dict[str, Any]] | Exception] = []
        self.watched_from: list[str] = []
        self.idle = threading.Event()
        self.release = threading.Event()

    def __call__(self, **kwargs: Any) -> Any:
        if not kwargs.get("watch"):
            items, version = self.lists.pop(0)
            page = {"items": items, "metadata": {"resourceVersion": version}}
            return type("Response", (), {"data": json.dumps(page).encode()})()
        self.watched_from.append(kwargs["resource_version"])
        if not self.watches:
            self.idle.set()
            self.release.wait(10)
            return FakeResponse([])
        script = self.watches.pop(0)
        if isinstance(script, Exception):
            raise script
        return FakeResponse(script)


def versioned(obj: dict[str, Any], version: str) -> dict[str, Any]:
    obj["metadata"]["resourceVersion"] = version
    return obj


def gone() -> dict[str, Any]:
    return {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                        "message": "too old resource version"}}  # fmt: skip


async def until(predicate: Any, what: str) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube_registry, "_BACKOFF_FIRST", 0.01)


def test_lists_then_watches_and_wakes_listeners_on_the_loop() -> None:
    functions = FakeList([([versioned(fn(concurrency={"reserved": 2}), "5")], "10")])
    functions.watches = [
        [{"type": "ADDED", "object": versioned(fn("web"), "11")}],
        ConnectionResetError("the API server went away"),
        # The version is too old: list again, and the fresh list replaces everything.
        [gone()],
    ]
    functions.lists.append(([versioned(fn("web"), "20")], "21"))
    pods = FakeList([([versioned(pod(ready="False"), "7")], "10")])
    pods.watches = [
        [
            {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "12"}}},
            {"type": "MODIFIED", "object": versioned(pod(), "13")},
        ]
    ]
    registry = KubeRegistry("us-east-1", functions, pods)
    seen: list[tuple[FunctionKey, bool]] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()

        def listener(key: FunctionKey) -> None:
            # Called on the event loop's thread, never on a watch thread.
            assert asyncio.get_running_loop() is loop
            seen.append((key, any(e.ready for e in registry.endpoints(key))))

        registry.subscribe(listener)
        assert not registry.synced()
        runner = asyncio.ensure_future(registry.run())
        try:
            await until(registry.synced, "the first lists")
            await until(lambda: functions.idle.is_set() and pods.idle.is_set(), "idle watches")
            await until(lambda: (ECHO, True) in seen, "echo's pod ready")
        finally:
            runner.cancel()
            functions.release.set()
            pods.release.set()
            with pytest.raises(asyncio.CancelledError):
                await runner

    asyncio.run(scenario())
    # Watches resume from the last version seen (event or bookmark); after 410, a new list's.
    # (Released at the end, a thread may start one more watch before it sees the stop.)
    assert functions.watched_from[:4] == ["10", "11", "11", "21"]
    assert set(functions.watched_from[4:]) <= {"21"}
    assert pods.watched_from[:2] == ["10", "13"]
    assert set(pods.watched_from[2:]) <= {"13"}
    assert registry.function(ECHO) is None  # gone in the list after the 410
    assert registry.function(WEB) is not None
    assert registry.reserved_total() == 0
    # echo's pod is still listed, but a pod whose Function is gone gets no call.
    assert registry.endpoints(ECHO) == ()
    assert registry.cluster_slots() == 0
    assert (ECHO, True) in seen  # while echo existed, its ready pod was routed to
    assert (WEB, False) in seen


def test_an_api_error_backs_off_and_retries() -> None:
    from kubernetes.client import ApiException  # noqa: PLC0415

    functions = FakeList([([], "1")])
    functions.watches = [ApiException(status=403, reason="Forbidden"), []]
    pods = FakeList([([], "1")])
    registry = KubeRegistry("us-east-1", functions, pods)

    async def scenario() -> None:
        runner = asyncio.ensure_future(registry.run())
        try:
            await until(functions.idle.is_set, "the retried watch")
        finally:
            runner.cancel()
            functions.release.set()
            pods.release.set()
            with pytest.raises(asyncio.CancelledError):
                await runner

    asyncio.run(scenario())
    # (Released at the end, the thread may watch again before it sees the stop.)
    assert functions.watched_from[:3] == ["1", "1", "1"]
    assert set(functions.watched_from) == {"1"}
