"""Every event and index handler the operator gives kopf is ``async``.

kopf runs a plain function in its thread pool: one thread hop per event of every
Function, function pod and ConfigMap, and the handler's writes to the operator's maps
(and its ``asyncio.Event.set``) from a thread other than the event loop's.
"""

import asyncio
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import kopf
import pytest
from kopf._cogs.structs.references import Resource
from kubernetes import client

from kappa.api.names import COMPONENT_LABEL, FUNCTION_OBJECTS, KAPPA_PODS, POOL_OBJECTS
from kappa.controller.aliases import register_aliases
from kappa.controller.handlers import register
from kappa.controller.kopf_memories import EventOnlyDiffBase
from kappa.controller.main import LIST_PAGE, _configure
from kappa.controller.pool_key import PoolKey
from kappa.controller.pool_registry import PoolRegistry
from kappa.controller.pools import register_pools
from kappa.controller.quota import register as register_quotas
from kappa.controller.quota import register_admission
from kappa.controller.state import State
from kappa.k8s.objects import Objects
from kappa.settings import Settings

POD = Resource(group="", version="v1", plural="pods", kind="Pod", namespaced=True)


@pytest.fixture
def registry() -> Iterator[kopf.OperatorRegistry]:
    before = kopf.get_default_registry()
    fresh = kopf.OperatorRegistry()
    kopf.set_default_registry(fresh)
    try:
        yield fresh
    finally:
        kopf.set_default_registry(before)


def leaders_watches(registry: kopf.OperatorRegistry) -> list[Any]:
    """The event and index handlers the leader registers (with ``registry`` as kopf's default)."""
    api = client.ApiClient()  # no call is made: registering only
    objects = Objects(api)
    settings = Settings()
    state = State(objects=objects, settings=settings)
    register(state)
    quotas = register_quotas(state.memory, objects, objects, settings)
    register_pools(PoolRegistry(), objects, settings, quotas.headroom, PoolKey(objects, "k"))
    register_aliases(api)
    return [
        *registry._watching.get_all_handlers(),  # noqa: SLF001 - kopf has no public listing
        *registry._indexing.get_all_handlers(),  # noqa: SLF001
    ]


def test_the_controllers_event_and_index_handlers_run_in_the_event_loop(
    registry: kopf.OperatorRegistry,
) -> None:
    handlers = leaders_watches(registry)
    ids = {handler.id for handler in handlers}
    assert {"function_pods", "quota_claims", "quota_slots", "pool_pod_changed"} <= ids, ids
    plain = [handler.id for handler in handlers if not asyncio.iscoroutinefunction(handler.fn)]
    assert plain == []


def test_a_standbys_handlers_run_in_the_event_loop_and_write_nothing() -> None:
    standby = kopf.OperatorRegistry()
    settings = Settings(webhook_service="kappa-operator-webhook")
    register_admission(standby, Objects(client.ApiClient()), settings, manage=False)
    handlers = [
        *standby._watching.get_all_handlers(),  # noqa: SLF001
        *standby._indexing.get_all_handlers(),  # noqa: SLF001
    ]
    assert handlers
    assert [h.id for h in handlers if not asyncio.iscoroutinefunction(h.fn)] == []
    # Event, index and validate handlers only: nothing that patches objects or keeps state.
    assert standby._changing.get_all_handlers() == []  # noqa: SLF001
    assert standby._spawning.get_all_handlers() == []  # noqa: SLF001


def test_every_kopf_the_process_runs_can_log_in() -> None:
    # kopf adds its logins to its default registry only: a standby's registry needs one.
    standby = kopf.OperatorRegistry()
    _configure(standby)
    activities = standby._activities.get_all_handlers()  # noqa: SLF001
    assert {str(h.activity.value) for h in activities} >= {"authentication", "startup"}


def within(selector: str, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` match the set-based selector ``key in (a,b)``, as the API server
    reads it (the one form KAPPA_PODS has)."""
    key, _, values = selector.partition(" in ")
    return labels.get(key.strip()) in values.strip().strip("()").split(",")


def test_the_pods_selector_reads_as_the_api_server_does() -> None:
    assert within(KAPPA_PODS, FUNCTION_OBJECTS)
    assert within(KAPPA_PODS, POOL_OBJECTS)
    assert not within(KAPPA_PODS, {"app": "someone-elses"})
    assert not within(KAPPA_PODS, {COMPONENT_LABEL: "gateway"})


def test_every_pod_handler_sees_only_pods_the_api_server_sends(
    registry: kopf.OperatorRegistry,
) -> None:
    # A pod handler whose labels fall outside KAPPA_PODS would never be called.
    handlers = leaders_watches(registry)
    on_pods = [h for h in handlers if h.selector is not None and h.selector.check(POD)]
    assert {h.id for h in on_pods} >= {"function_pods", "quota_slots", "pool_pod_changed"}
    for handler in on_pods:
        labels = handler.labels or {}
        assert labels, f"{handler.id} takes every pod: the API server sends Kappa's only"
        assert within(KAPPA_PODS, {k: str(v) for k, v in labels.items()}), handler.id


def test_every_kopf_the_process_runs_keeps_no_essences_and_posts_warnings_only() -> None:
    standby = kopf.OperatorRegistry()
    _configure(standby)
    activities = standby._activities.get_all_handlers()  # noqa: SLF001
    configure = next(h for h in activities if h.id.endswith("configure"))
    settings = kopf.OperatorSettings()
    asyncio.run(configure.fn(settings=settings))
    assert isinstance(settings.persistence.diffbase_storage, EventOnlyDiffBase)
    assert settings.posting.level == logging.WARNING
    assert settings.watching.chunk_size == LIST_PAGE  # a listing parsed a page at a time
    # kopf filters labels itself: the API server is asked for Kappa's pods only.
    assert list(settings.watching.label_selectors.collect(POD)) == [KAPPA_PODS]
