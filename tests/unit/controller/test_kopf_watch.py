"""kopf's watch streams without managedFields: what kopf queues (and holds until its index
gate opens) is each object without the API server's record of who wrote which field."""

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kopf._cogs.clients import watching

from kappa.controller import kopf_watch
from kappa.controller.kopf_watch import without_managed_fields

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "orders-7f9c2",
        "namespace": "team-a",
        "uid": "5b6e0c1e",
        "resourceVersion": "4711",
        "labels": {"kappa.dev/component": "function", "kappa.dev/function": "orders"},
        "annotations": {"kappa.dev/attempt": "1"},
        "managedFields": [
            {"manager": "kappa", "operation": "Update", "fieldsV1": {"f:spec": {}}},
            {"manager": "kubelet", "operation": "Update", "subresource": "status"},
        ],
    },
    "spec": {"containers": [{"name": "function", "env": [{"name": "X", "value": "1"}]}]},
    "status": {"phase": "Running", "podIP": "10.88.0.7"},
}


def test_an_event_loses_its_managed_fields_and_nothing_else() -> None:
    event = {"type": "MODIFIED", "object": copy.deepcopy(POD)}
    slimmed = without_managed_fields(event)
    expected = copy.deepcopy(POD)
    del expected["metadata"]["managedFields"]
    assert slimmed == {"type": "MODIFIED", "object": expected}
    assert len(json.dumps(slimmed)) < len(json.dumps({"object": POD}))


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"type": None, "object": {"metadata": {"name": "a"}}}, id="no-fields"),
        pytest.param({"type": "ERROR", "object": {"code": 410}}, id="watch-error"),
        pytest.param({"type": "BOOKMARK", "object": {"metadata": None}}, id="null-metadata"),
        pytest.param({"type": "ADDED", "object": "not an object"}, id="not-a-dict"),
        pytest.param("LISTED", id="kopf-bookmark"),
    ],
)
def test_what_has_no_managed_fields_passes_unchanged(event: object) -> None:
    before = copy.deepcopy(event)
    assert without_managed_fields(event) == before


def test_install_makes_kopf_watch_slimmed_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    async def kopf_stream(**kwargs: Any) -> AsyncIterator[Any]:
        assert kwargs == {"resource": "pods"}
        yield {"type": None, "object": copy.deepcopy(POD)}
        yield "LISTED"

    monkeypatch.setattr(kopf_watch, "_KOPF_WATCH", kopf_stream)
    monkeypatch.setattr(watching, "infinite_watch", watching.infinite_watch)
    kopf_watch.install()
    from kopf._core.reactor import queueing  # noqa: PLC0415 - what kopf's watchers call

    async def read() -> list[Any]:
        stream = queueing.watching.infinite_watch(resource="pods")  # type: ignore[attr-defined]
        return [event async for event in stream]

    listed = asyncio.run(read())
    assert [e if isinstance(e, str) else e["type"] for e in listed] == [None, "LISTED"]
    assert "managedFields" not in listed[0]["object"]["metadata"]
    assert listed[0]["object"]["metadata"]["resourceVersion"] == "4711"  # kopf resumes by it


def test_the_module_wraps_the_kopf_function_it_was_written_for() -> None:
    # A kopf upgrade that moves or renames infinite_watch fails here, not at run time.
    source = Path(watching.__file__).read_text(encoding="utf-8")
    assert "async def infinite_watch(" in source
    assert kopf_watch._KOPF_WATCH.__name__ == "infinite_watch"  # noqa: SLF001
