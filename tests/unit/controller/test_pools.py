"""The WarmPool wiring: a namespace's pools changing wakes its Functions' passes."""

import asyncio
from typing import Any

import kopf
import pytest

from kappa.controller.pool_registry import PoolRegistry
from kappa.controller.pools import register_pools
from kappa.settings import Settings

pytestmark = pytest.mark.unit


def pool(memory_mb: int = 256) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "team", "name": "py", "uid": "u-py", "generation": 1},
        "spec": {"runtime": "python3.11", "memoryMB": memory_mb},
    }


def test_a_namespaces_pools_changing_calls_pools_changed_once_per_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = kopf.OperatorRegistry()
    monkeypatch.setattr(kopf, "get_default_registry", lambda: registry)
    monkeypatch.setattr("kopf._core.intents.registries.get_default_registry", lambda: registry)
    changed: list[str] = []
    register_pools(
        PoolRegistry(), None, Settings(), lambda _key: None, None,  # type: ignore[arg-type]
        pools_changed=changed.append,
    )  # fmt: skip
    [handler] = [
        h
        for h in registry._watching.get_all_handlers()  # noqa: SLF001 - the handler under test
        if h.id == "warm_pool_changed"
    ]

    def event(kind: str, body: dict[str, Any]) -> None:
        asyncio.run(handler.fn(event={"type": kind}, body=body))

    event("ADDED", pool())
    event("MODIFIED", pool())  # the same class (a status write): nothing to wake
    event("MODIFIED", pool(memory_mb=512))
    event("DELETED", pool(memory_mb=512))
    assert changed == ["team", "team", "team"]
