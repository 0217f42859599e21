"""The reconcile shell against a fake `Objects`: what it calls, and the status it writes."""

import asyncio
import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from prometheus_client import generate_latest

from kappa.api.function_version import as_function_body
from kappa.autoscaler.stats import Sample
from kappa.controller import next_pass
from kappa.controller import reconcile as handlers
from kappa.controller.desired import desired_function
from kappa.controller.handlers import _wants_a_pass
from kappa.controller.memory import ExpectedPod as _Expected
from kappa.controller.next_pass import EXPECTATION_TTL
from kappa.controller.reconcile import reconcile
from kappa.controller.state import State
from kappa.resources.code_configmap import CodeDigest, code_digest, code_sha256
from kappa.settings import Settings

SETTINGS = Settings()
HANDLER = "def handler(event, context):\n    return event\n"
NS = "team-a"


def refusal(status: int, message: str) -> ApiException:
    exc = ApiException(status=status, reason="Refused")
    exc.body = json.dumps({"kind": "Status", "message": message})
    return exc


@dataclass
class FakeObjects:
    """Records every call; `fail_*` make the matching call raise."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    existing_pods: set[str] = field(default_factory=set)
    fail_create_pod: ApiException | None = None
    fail_post_event: Exception | None = None
    fail_add_owner_reference: ApiException | None = None
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: int = 0

    def named(self, call: str) -> list[Any]:
        return [arg for name, arg in self.calls if name == call]

    async def create_pod(self, manifest: dict[str, Any]) -> None:
        self.calls.append(("create_pod", manifest))
        if self.fail_create_pod is not None:
            raise self.fail_create_pod

    async def delete_pod(self, namespace: str, name: str) -> None:
        self.namespaces.add(namespace)
        self.calls.append(("delete_pod", name))

    async def create_configmap(self, manifest: dict[str, Any]) -> None:
        self.calls.append(("create_configmap", manifest["metadata"]["name"]))

    async def delete_configmap(self, namespace: str, name: str) -> None:
        self.namespaces.add(namespace)
        self.calls.append(("delete_configmap", name))

    async def add_owner_reference(
        self, namespace: str, name: str, reference: dict[str, Any]
    ) -> None:
        self.namespaces.add(namespace)
        self.calls.append(("add_owner_reference", (name, reference)))
        if self.fail_add_owner_reference is not None:
            raise self.fail_add_owner_reference

    async def layer(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.namespaces.add(namespace)
        return self.layers.get(name)

    async def pod_exists(self, namespace: str, name: str) -> bool:
        self.namespaces.add(namespace)
        self.calls.append(("pod_exists", name))
        return name in self.existing_pods

    async def post_event(
        self, body: dict[str, Any], *, reason: str, message: str, warning: bool = False
    ) -> None:
        assert body["metadata"]["name"] in {"fn", "fn.3"}  # the Function, or its version 3
        assert message
        self.calls.append(("post_event", reason))
        self.warnings += warning
        if self.fail_post_event is not None:
            raise self.fail_post_event

    async def patch_function_status(
        self, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        self.namespaces.add(namespace)
        self.calls.append(("patch_function_status", name))
        self.statuses.append(status)


def function(code: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "fn", "namespace": NS, "uid": "uid-1", "generation": 2, **meta},
        "spec": {
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": code or {"inline": {"app.py": HANDLER}},
        },
    }


def ready_pod(name: str, revision: str, configmap: str | None = None) -> dict[str, Any]:
    volumes = [{"name": "code", "configMap": {"name": configmap}}] if configmap else []
    return {
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"kappa.dev/function": "fn", "kappa.dev/revision": revision},
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "ownerReferences": [
                {
                    "apiVersion": "kappa.dev/v1alpha1",
                    "kind": "Function",
                    "name": "fn",
                    "uid": "uid-1",
                    "controller": True,
                }
            ],
        },
        "spec": {"volumes": volumes},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "function", "state": {"running": {}}}],
        },
    }


def run(
    objects: FakeObjects,
    body: dict[str, Any],
    pods: list[dict[str, Any]] | None = None,
    maps: list[str] | None = None,
    state: State | None = None,
    referenced: CodeDigest | None = None,
) -> tuple[State, float]:
    state = state or State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    found = {} if referenced is None else {(NS, "my-code"): referenced}
    passed = reconcile(state, body, pods or [], maps or [], configmaps=found.get)
    requeue = asyncio.run(passed).requeue_after
    return state, requeue


def ready_condition(objects: FakeObjects) -> dict[str, Any]:
    (status,) = objects.statuses
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def test_creates_the_code_configmap_and_a_pod_then_reports() -> None:
    objects = FakeObjects()
    state, _ = run(objects, function())
    assert len(objects.named("create_configmap")) == 1
    (pod,) = objects.named("create_pod")
    assert pod["metadata"]["labels"]["kappa.dev/function"] == "fn"
    assert pod["metadata"]["name"] in state.memory.recall((NS, "fn")).expected
    assert ready_condition(objects)["reason"] == "EnvironmentsStarting"


def test_refused_pod_create_is_reported_not_raised() -> None:
    objects = FakeObjects(
        fail_create_pod=refusal(403, 'pods "fn-x" is forbidden: exceeded quota: compute')
    )
    state, requeue = run(objects, function())
    assert len(objects.named("create_pod")) == 1
    assert state.memory.recall((NS, "fn")).expected == {}  # nothing expected that was never made
    ready = ready_condition(objects)
    assert (ready["status"], ready["reason"]) == ("False", "PodCreateFailed")
    assert ready["message"] == 'pods "fn-x" is forbidden: exceeded quota: compute'
    assert "PodCreateFailed" in objects.named("post_event")
    assert objects.warnings == 1
    assert objects.namespaces == {NS}
    assert requeue == next_pass.RETRY.total_seconds()


def test_failing_events_never_skip_the_status() -> None:
    objects = FakeObjects(fail_post_event=refusal(403, "namespace team-a is being terminated"))
    run(objects, function())
    assert objects.named("post_event") == ["PodsCreated"]
    assert len(objects.statuses) == 1


def test_a_function_being_deleted_only_gets_its_status() -> None:
    objects = FakeObjects()
    body = function(deletionTimestamp="2026-01-01T00:00:00Z")
    # Out of date and unused: any other pass would create a pod and delete both.
    run(objects, body, pods=[ready_pod("old", "other-revision")], maps=["fn-code-old"])
    assert [name for name, _ in objects.calls] == ["patch_function_status"]
    assert objects.statuses[0]["replicas"] == 1


def test_code_configmap_already_indexed_is_not_created_again() -> None:
    objects = FakeObjects()
    name = desired_function(function(), SETTINGS).code_configmap_name
    assert name is not None
    run(objects, function(), maps=[name])
    assert objects.named("create_configmap") == []
    assert objects.named("delete_configmap") == []
    assert len(objects.named("create_pod")) == 1


def test_missing_referenced_configmap_keeps_serving_pods() -> None:
    objects = FakeObjects()
    body = function({"configMap": {"name": "my-code"}})
    run(objects, body, pods=[ready_pod("serving", "some-revision", configmap="my-code")])
    assert objects.calls[-1][0] == "patch_function_status"  # nothing read from the API server
    assert objects.named("create_pod") == []
    assert objects.named("delete_pod") == []
    assert ready_condition(objects)["reason"] == "ConfigMapNotFound"


def test_referenced_configmap_sets_the_code_hash() -> None:
    objects = FakeObjects()
    found = code_digest({"data": {"app.py": HANDLER}})
    run(objects, function({"configMap": {"name": "my-code"}}), referenced=found)
    assert objects.statuses[0]["codeSha256"] == code_sha256({"app.py": HANDLER})
    assert len(objects.named("create_pod")) == 1


PACKAGE_BODY = {
    "metadata": {
        "name": "my-code",
        "labels": {"kappa.dev/function": "fn", "kappa.dev/component": "package"},
    },
    "data": {"app.py": HANDLER},
}


def test_a_package_configmap_labelled_for_the_function_is_adopted_once() -> None:
    objects = FakeObjects()
    body = function({"configMap": {"name": "my-code"}})
    run(objects, body, referenced=code_digest(PACKAGE_BODY))
    reference = {"apiVersion": "kappa.dev/v1alpha1", "kind": "Function", "name": "fn",
                 "uid": "uid-1"}  # fmt: skip
    assert objects.named("add_owner_reference") == [("my-code", reference)]
    assert objects.namespaces == {NS}
    # Its next digest shows the owner: nothing more to do.
    owned = {**PACKAGE_BODY, "metadata": {**PACKAGE_BODY["metadata"],
                                          "ownerReferences": [reference]}}  # fmt: skip
    again = FakeObjects()
    run(again, body, referenced=code_digest(owned))
    assert again.named("add_owner_reference") == []


def test_a_configmap_of_the_users_own_is_never_adopted() -> None:
    objects = FakeObjects()
    run(objects, function({"configMap": {"name": "my-code"}}),
        referenced=code_digest({"data": {"app.py": HANDLER}}))  # fmt: skip
    assert objects.named("add_owner_reference") == []
    assert len(objects.named("create_pod")) == 1


def test_a_refused_adoption_is_logged_and_the_function_still_runs() -> None:
    objects = FakeObjects(fail_add_owner_reference=refusal(403, "configmaps is forbidden"))
    run(objects, function({"configMap": {"name": "my-code"}}),
        referenced=code_digest(PACKAGE_BODY))  # fmt: skip
    assert len(objects.named("add_owner_reference")) == 1
    assert len(objects.named("create_pod")) == 1
    assert objects.statuses  # the status is written all the same


def test_a_layers_package_labelled_as_its_own_is_adopted_by_the_layer() -> None:
    layer = {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "Layer",
        "metadata": {"name": "shared", "namespace": NS, "uid": "layer-uid", "generation": 1},
        "spec": {"code": {"configMap": {"name": "shared-layer", "archive": "code.zip"}}},
    }
    package = code_digest(
        {
            "metadata": {"labels": {"kappa.dev/layer": "shared", "kappa.dev/component": "layer"}},
            "binaryData": {"code.zip": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
        }
    )
    objects = FakeObjects(layers={"shared": layer})
    body = {**function(), "spec": {**function()["spec"], "layers": [{"name": "shared"}]}}
    state = State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    found = {(NS, "shared-layer"): package}
    asyncio.run(reconcile(state, body, [], [], configmaps=found.get))
    reference = {"apiVersion": "kappa.dev/v1alpha1", "kind": "Layer", "name": "shared",
                 "uid": "layer-uid"}  # fmt: skip
    assert objects.named("add_owner_reference") == [("shared-layer", reference)]
    assert len(objects.named("create_pod")) == 1


def test_provisioned_pods_are_created_provisioned() -> None:
    objects = FakeObjects()
    body = function()
    body["spec"]["concurrency"] = {"provisioned": 2}
    run(objects, body)
    pods = objects.named("create_pod")
    assert len(pods) == 2
    assert all(p["metadata"]["labels"]["kappa.dev/provisioned"] == "true" for p in pods)


@pytest.mark.parametrize(
    ("exists", "created"),
    [
        pytest.param(True, 0, id="still-there-no-duplicate"),
        pytest.param(False, 1, id="really-gone-replaced"),
    ],
)
def test_an_expectation_is_checked_before_it_is_forgotten(*, exists: bool, created: int) -> None:
    objects = FakeObjects()
    state = State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    revision = desired_function(function(), SETTINGS).revision
    long_ago = datetime.now(UTC) - EXPECTATION_TTL - timedelta(seconds=1)
    state.memory.recall((NS, "fn")).expected = {
        "slow": _Expected(revision, long_ago, long_ago, provisioned=False)
    }
    if exists:
        objects.existing_pods.add("slow")
    run(objects, function(), state=state)
    assert objects.named("pod_exists") == ["slow"]
    assert len(objects.named("create_pod")) == created
    assert ("slow" in state.memory.recall((NS, "fn")).expected) is exists


def test_an_expectation_is_dropped_once_the_index_shows_the_pod() -> None:
    objects = FakeObjects()
    state = State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    revision = desired_function(function(), SETTINGS).revision
    now = datetime.now(UTC)
    state.memory.recall((NS, "fn")).expected = {
        "seen": _Expected(revision, now, now, provisioned=False)
    }
    run(objects, function(), pods=[ready_pod("seen", revision)], state=state)
    assert state.memory.recall((NS, "fn")).expected == {}
    assert objects.named("create_pod") == []


def test_a_refusal_streak_posts_one_event() -> None:
    objects = FakeObjects(fail_create_pod=refusal(403, "exceeded quota"))
    body = function()
    body["status"] = {
        "conditions": [{"type": "Ready", "status": "False", "reason": "PodCreateFailed"}]
    }
    run(objects, body)
    assert "PodCreateFailed" not in objects.named("post_event")
    assert ready_condition(objects)["reason"] == "PodCreateFailed"


def test_only_spec_deletion_or_code_changes_wake_a_function() -> None:
    before = function()
    before["metadata"]["resourceVersion"] = "1"
    status_only = function()
    status_only["metadata"]["resourceVersion"] = "2"
    status_only["status"] = {"conditions": [{"type": "Ready", "message": "new words"}]}
    assert not _wants_a_pass(before, status_only)
    assert _wants_a_pass(before, function(generation=3))
    assert _wants_a_pass(before, function(deletionTimestamp="2026-01-01T00:00:00Z"))
    # kappa deploy's new package: the annotation changes, the spec does not.
    new_package = function()
    new_package["metadata"]["annotations"] = {"kappa.dev/code-sha256": "ab" * 32}
    assert _wants_a_pass(before, new_package)
    other_annotation = function()
    other_annotation["metadata"]["annotations"] = {"note": "x"}
    assert not _wants_a_pass(before, other_annotation)


def _revision() -> str:
    return desired_function(function(), SETTINGS).revision


def test_an_idle_function_decided_before_goes_to_zero_and_says_so() -> None:
    objects = FakeObjects()
    body = function()
    body["spec"]["scaling"] = {"scaleToZeroAfterSeconds": 0}
    body["status"] = {"desiredReplicas": 1}  # decided before: no initial pod
    run(objects, body, pods=[ready_pod("idle", _revision())])
    assert objects.named("delete_pod") == ["idle"]
    (status,) = objects.statuses
    assert status["desiredReplicas"] == 0
    assert status["lastScaleTime"]
    scaled = next(c for c in status["conditions"] if c["type"] == "Scaled")
    assert (scaled["status"], scaled["reason"]) == ("True", "ScaledToZero")
    assert ready_condition(objects)["reason"] == "ScaledToZero"
    assert "ScaledToZero" in objects.named("post_event")


def test_a_poke_makes_the_next_pass_create_a_pod_and_times_it() -> None:
    objects = FakeObjects()
    body = function()
    body["status"] = {"desiredReplicas": 0}
    state, _ = run(objects, body)
    assert objects.named("create_pod") == []
    state.scaler.poke("g1", (NS, "fn"), Sample(queued=1))
    run(objects, body, state=state)
    assert len(objects.named("create_pod")) == 1
    text = generate_latest(state.scaler.metrics.registry).decode()
    assert "kappa_autoscaler_poke_to_create_seconds_count 1.0" in text


def test_a_failing_pass_is_retried_with_a_growing_backoff_reset_by_success(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kappa.controller import handlers as wiring  # noqa: PLC0415 - the module under test
    from kappa.controller.backoff import Result  # noqa: PLC0415

    state = State(objects=FakeObjects(), settings=SETTINGS)  # type: ignore[arg-type]
    key = (NS, "fn")
    record = state.memory.recall(key)
    record.body = function()
    outcomes: list[Exception | None] = [
        RuntimeError("1"),
        RuntimeError("2"),
        None,
        RuntimeError("3"),
    ]
    delays_asked: list[int] = []
    failures_seen: list[int] = []

    async def fake_reconcile(*_: Any, **__: Any) -> Result:
        failures_seen.append(record.failures)
        outcome = outcomes.pop(0)
        if not outcomes:
            record.body = None  # the Function is gone: no pass after this one
        if outcome is not None:
            raise outcome
        return Result(0.0)

    def fake_delay(failures: int) -> float:
        delays_asked.append(failures)
        return 0.0

    monkeypatch.setattr(wiring, "reconcile", fake_reconcile)
    monkeypatch.setattr(wiring, "retry_delay", fake_delay)

    async def passes() -> None:
        state.passes.start(functools.partial(wiring.one_pass, state, {}, {}, {}))  # type: ignore[arg-type]
        state.wake(key)
        # Until gone: no pass running, and no timer left behind.
        while outcomes or state.passes.running or state.passes.due(key) is not None:
            await asyncio.sleep(0.001)

    asyncio.run(asyncio.wait_for(passes(), timeout=10))

    assert delays_asked == [1, 2, 1]  # doubled while failing, from the start after a success
    assert failures_seen == [0, 1, 2, 0]


def test_a_pod_labelled_as_the_functions_but_not_controlled_by_it_is_left_alone() -> None:
    """Someone's pod labelled kappa.dev/function=fn is neither counted nor deleted."""
    objects = FakeObjects()
    rogue = ready_pod("rogue", _revision())  # even of the current revision, and Ready
    rogue["metadata"]["ownerReferences"] = []
    run(objects, function(), pods=[rogue])
    assert objects.named("delete_pod") == []
    assert len(objects.named("create_pod")) == 1  # its own first pod, as with none at all


def test_a_published_version_is_reconciled_as_a_function_of_its_own() -> None:
    objects = FakeObjects()
    version = as_function_body({
        "kind": "FunctionVersion",
        "metadata": {"name": "fn.3", "namespace": NS, "uid": "uid-v3", "generation": 1},
        "spec": {"function": "fn", "version": 3, "snapshot": function()["spec"]},
    })  # fmt: skip
    state, _ = run(objects, version)
    (configmap,) = objects.named("create_configmap")
    assert configmap.startswith("fn.3-code-")
    (pod,) = objects.named("create_pod")
    assert pod["metadata"]["name"].startswith("fn.3-")
    assert pod["metadata"]["labels"]["kappa.dev/version"] == "3"
    assert pod["metadata"]["ownerReferences"][0]["uid"] == "uid-v3"
    assert pod["metadata"]["name"] in state.memory.recall((NS, "fn.3")).expected
    assert ("patch_function_status", "fn.3") in objects.calls
    (status,) = objects.statuses
    assert status["arn"].endswith(":function:fn:3")


def publishing(
    objects: FakeObjects, publisher: Any
) -> tuple[State, dict[str, Any], dict[str, Any]]:
    """A state with ``publisher``, a Function with spec.publish and a ready pod of it."""
    state = State(objects=objects, settings=SETTINGS, publisher=publisher)  # type: ignore[arg-type]
    body = function()
    body["spec"]["publish"] = True
    desired = desired_function(body, SETTINGS)
    return state, body, ready_pod("fn-a", desired.revision, desired.code_configmap_name)


def test_spec_publish_publishes_each_ready_generation_once() -> None:
    objects = FakeObjects()
    published: list[tuple[str, str]] = []

    async def publisher(namespace: str, name: str) -> tuple[int, bool]:
        published.append((namespace, name))
        return len(published), True

    state, body, pod = publishing(objects, publisher)
    run(objects, body, [pod], state=state)
    run(objects, body, [pod], state=state)  # the same generation: not again
    assert published == [(NS, "fn")]
    assert ("post_event", "VersionPublished") in objects.calls
    run(objects, {**body, "metadata": {**body["metadata"], "generation": 3}}, [], state=state)
    assert published == [(NS, "fn")]  # generation 3 is not Ready yet


def test_a_failed_publish_is_one_event_and_is_tried_at_every_pass() -> None:
    objects = FakeObjects()
    calls = 0

    async def publisher(_namespace: str, _name: str) -> tuple[int, bool]:
        nonlocal calls
        calls += 1
        raise refusal(403, "functionversions.kappa.dev is forbidden")

    state, body, pod = publishing(objects, publisher)
    run(objects, body, [pod], state=state)
    run(objects, body, [pod], state=state)
    assert calls == 2  # tried at every pass
    assert objects.calls.count(("post_event", "PublishFailed")) == 1  # said once


def test_a_new_functions_first_two_passes_write_one_status() -> None:
    """The first pass counts the pod it made; the pass that pod's watch event wakes, still
    reading the Function of before the first status came back, writes nothing again."""
    objects = FakeObjects()
    state = State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    stale = function(resourceVersion="1")
    run(objects, stale, state=state)
    (status,) = objects.statuses
    assert status["replicas"] == 1  # the pod made in this pass, Pending
    ((pod_manifest),) = objects.named("create_pod")
    pod = {
        **pod_manifest,
        "metadata": {**pod_manifest["metadata"], "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Pending"},
    }
    run(objects, stale, pods=[pod], maps=objects.named("create_configmap"), state=state)
    assert len(objects.statuses) == 1  # nothing new to say
    assert objects.named("post_event") == ["PodsCreated"]
    # The watch shows the Function with that status: read as it is from then on.
    shown = {**stale, "metadata": {**stale["metadata"], "resourceVersion": "2"}, "status": status}
    run(objects, shown, pods=[pod], maps=objects.named("create_configmap"), state=state)
    assert len(objects.statuses) == 1
    assert state.memory.recall((NS, "fn")).written is None


def _run_passes(state: State, pods: dict[Any, list[dict[str, Any]]], until: Any) -> None:
    """Start the Function's passes (woken once) and wait, without any other wake, until
    ``until()``; a deadline against a hang, not a claim of speed."""
    from kappa.controller import handlers as wiring  # noqa: PLC0415 - the module under test

    async def scenario() -> None:
        state.passes.start(functools.partial(wiring.one_pass, state, pods, {}, {}))  # type: ignore[arg-type]
        state.wake((NS, "fn"))
        while not until():
            await asyncio.sleep(0.01)
        state.passes.forget((NS, "fn"))

    asyncio.run(asyncio.wait_for(scenario(), timeout=20))


def test_a_function_at_rest_is_not_passed_again_before_its_resync() -> None:
    objects = FakeObjects()
    state = State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    state.memory.recall((NS, "fn")).body = function()
    due_in: list[float] = []

    def settled() -> bool:
        due = state.passes.due((NS, "fn"))
        if state.passes.running or due is None:
            return False
        due_in.append(due - asyncio.get_running_loop().time())
        return True

    _run_passes(state, {(NS, "fn"): [ready_pod("warm", _revision())]}, settled)
    resync = SETTINGS.resync_seconds
    assert resync * 0.9 - 1 <= due_in[0] <= resync * 1.1
    assert len(objects.statuses) == 1


def test_a_pod_the_watch_never_shows_is_checked_when_its_expectation_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No watch event and no other wake: the pass's own timer comes due at the end of the
    expectation, asks the API server, and replaces the pod that is not there."""
    short = timedelta(seconds=0.3)
    monkeypatch.setattr(handlers, "EXPECTATION_TTL", short)
    monkeypatch.setattr(next_pass, "EXPECTATION_TTL", short)
    objects = FakeObjects()
    state = State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    state.memory.recall((NS, "fn")).body = function()
    _run_passes(state, {}, lambda: len(objects.named("create_pod")) == 2)
    first, _ = (p["metadata"]["name"] for p in objects.named("create_pod"))
    assert objects.named("pod_exists") == [first]
    assert first not in state.memory.recall((NS, "fn")).expected


def test_an_idle_function_scales_to_zero_without_a_watch_event() -> None:
    """The idle window ends with no event about the Function: the autoscaler's tick finds
    its decision changed and wakes the pass, which removes the idle pod."""
    objects = FakeObjects()
    state = State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    body = function()
    body["spec"]["scaling"] = {"scaleToZeroAfterSeconds": 1}
    body["status"] = {"desiredReplicas": 1}
    state.memory.recall((NS, "fn")).body = body
    import time  # noqa: PLC0415 - the autoscaler's clock is the wall clock

    def deleted() -> bool:
        if objects.statuses and not state.passes.running:
            state.scaler.tick(time.time())  # what its 1 s loop does
        return objects.named("delete_pod") == ["idle"]

    _run_passes(state, {(NS, "fn"): [ready_pod("idle", _revision())]}, deleted)
    assert objects.statuses[0]["desiredReplicas"] == 1  # the first pass kept it
    assert objects.statuses[-1]["desiredReplicas"] == 0


def test_a_refused_publish_is_tried_again_after_a_backoff() -> None:
    objects = FakeObjects()

    async def publisher(_namespace: str, _name: str) -> tuple[int, bool]:
        raise refusal(403, "functionversions.kappa.dev is forbidden")

    state, body, pod = publishing(objects, publisher)
    delays = [run(objects, body, [pod], state=state)[1] for _ in range(3)]
    assert delays == [0.5, 1.0, 2.0]  # kappa.controller.backoff.retry_delay


def test_a_namespaces_pools_changing_wakes_its_functions_only() -> None:
    """Their PoolEligible follows the namespace's WarmPools at once, not at their resync."""
    state = State(objects=FakeObjects(), settings=SETTINGS)  # type: ignore[arg-type]
    for key in ((NS, "fn"), (NS, "other"), ("team-b", "fn")):
        state.memory.recall(key).body = function()
    state.memory.recall((NS, "gone"))  # recalled, never seen: nothing to pass
    woken: list[tuple[str, str]] = []
    state.memory.on_wake = woken.append
    state.wake_namespace(NS)
    assert sorted(woken) == [(NS, "fn"), (NS, "other")]


def test_a_function_with_load_passes_again_within_the_load_refresh() -> None:
    """status.inFlight and the Scaled message follow the load without a watch event."""
    objects = FakeObjects()
    state = State(objects=objects, settings=SETTINGS)  # type: ignore[arg-type]
    state.scaler.report("gw-1", {(NS, "fn"): Sample(1.0, 1, 0, {"warm": 1})})
    _, requeue = run(objects, function(), pods=[ready_pod("warm", _revision())], state=state)
    assert requeue == next_pass.LOAD_REFRESH.total_seconds()
    assert objects.statuses[-1]["inFlight"] == 1
