"""kopf wiring: indexes of pods and code ConfigMaps, and one daemon per Function.

Thin by design. Each Function has a task that reconciles whenever something
about it changes (its spec, one of its pods) and otherwise every
`RESYNC_SECONDS`; the decisions are made by the pure planner and condition
functions, this module only gathers observations and applies the plan.
"""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import kopf

from kappa.api.names import COMPONENT_LABEL, FUNCTION_COMPONENT, FUNCTION_LABEL, GROUP, VERSION
from kappa.controller.conditions import function_conditions
from kappa.controller.desired import DesiredFunction, desired_function
from kappa.controller.observed import Phase, PodView, pod_view
from kappa.controller.planner import plan
from kappa.k8s.objects import Objects
from kappa.settings import Settings

log = logging.getLogger(__name__)

RESYNC_SECONDS: Final = 30.0
# A pod we created but the watch has not shown yet counts as Pending this long.
EXPECTATION_TTL: Final = timedelta(seconds=60)
_FUNCTION_PODS: Final = {COMPONENT_LABEL: FUNCTION_COMPONENT}

Key = tuple[str, str]


@dataclass
class State:
    """Operator-wide memory: wake-up events and pods created but not yet seen."""

    objects: Objects
    settings: Settings
    wakeups: dict[Key, asyncio.Event] = field(default_factory=dict)
    expected: dict[Key, dict[str, tuple[str, datetime]]] = field(default_factory=dict)
    reported_failures: dict[Key, set[str]] = field(default_factory=dict)
    bodies: dict[Key, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[Key, "asyncio.Task[None]"] = field(default_factory=dict)

    def wake(self, key: Key) -> None:
        """Make the Function's daemon reconcile now."""
        self.wakeups.setdefault(key, asyncio.Event()).set()


def register(state: State) -> None:
    """Register the handlers with kopf's default registry."""

    @kopf.index("pods", labels=_FUNCTION_PODS, id="function_pods")  # type: ignore[arg-type]
    def function_pods(
        namespace: str, labels: Mapping[str, str], body: kopf.Body, **_: Any
    ) -> dict[Key, dict[str, Any]]:
        return {(namespace, labels.get(FUNCTION_LABEL, "")): dict(body)}

    @kopf.index("configmaps", labels=_FUNCTION_PODS, id="code_configmaps")  # type: ignore[arg-type]
    def code_configmaps(
        namespace: str, labels: Mapping[str, str], name: str, **_: Any
    ) -> dict[Key, str]:
        return {(namespace, labels.get(FUNCTION_LABEL, "")): name}

    @kopf.on.event("pods", labels=_FUNCTION_PODS)  # type: ignore[arg-type]
    def pod_changed(namespace: str, labels: Mapping[str, str], **_: Any) -> None:
        state.wake((namespace, labels.get(FUNCTION_LABEL, "")))

    # A task per Function rather than a kopf daemon: kopf puts a finalizer on
    # objects with daemons, and then a Function could not be deleted while the
    # operator is down. Owner references clean up after a deleted Function.
    @kopf.on.event(GROUP, VERSION, "functions")  # type: ignore[arg-type]
    async def function_changed(  # noqa: PLR0913, PLR0917 - kopf passes what a handler names
        event: kopf.RawEvent,
        namespace: str,
        name: str,
        body: kopf.Body,
        function_pods: kopf.Index[Key, dict[str, Any]],
        code_configmaps: kopf.Index[Key, str],
        **_: Any,
    ) -> None:
        key = (namespace, name)
        if event.get("type") == "DELETED":
            if task := state.tasks.pop(key, None):
                task.cancel()
            state.bodies.pop(key, None)
            state.reported_failures.pop(key, None)
            return
        state.bodies[key] = dict(body)
        if key not in state.tasks:
            state.tasks[key] = asyncio.create_task(
                _run(state, key, function_pods, code_configmaps),
                name=f"function {namespace}/{name}",
            )
        state.wake(key)


async def _run(
    state: State, key: Key, pods: kopf.Index[Key, dict[str, Any]], maps: kopf.Index[Key, str]
) -> None:
    """Reconcile one Function whenever woken, and every RESYNC_SECONDS anyway."""
    wakeup = state.wakeups.setdefault(key, asyncio.Event())
    try:
        while (body := state.bodies.get(key)) is not None:
            wakeup.clear()
            try:
                requeue = await reconcile(
                    state, body, list(pods.get(key, [])), list(maps.get(key, []))
                )
            except Exception:  # a failed pass must not end the loop
                log.exception("reconciling Function %s/%s failed", *key)
                requeue = 5.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=requeue)
    finally:
        state.wakeups.pop(key, None)
        state.expected.pop(key, None)


def _pods_with_expectations(
    state: State, key: Key, bodies: list[dict[str, Any]], now: datetime
) -> list[PodView]:
    views = [pod_view(b) for b in bodies]
    seen = {v.name for v in views}
    expected = state.expected.setdefault(key, {})
    for pod_name in list(expected):
        revision, created = expected[pod_name]
        if pod_name in seen or now - created > EXPECTATION_TTL:
            del expected[pod_name]
        else:
            views.append(
                PodView(
                    name=pod_name,
                    revision=revision,
                    phase=Phase.PENDING,
                    ready=False,
                    terminating=False,
                    created=created,
                )
            )
    return views


async def reconcile(
    state: State, body: Mapping[str, Any], pod_bodies: list[dict[str, Any]], code_maps: list[str]
) -> float:
    """One pass for one Function; returns seconds until the next unprompted pass."""
    meta = body["metadata"]
    namespace, name = str(meta["namespace"]), str(meta["name"])
    key = (namespace, name)
    now = datetime.now(UTC)
    generation = int(meta.get("generation") or 0)
    previous = list((body.get("status") or {}).get("conditions") or [])

    desired: DesiredFunction = desired_function(body, state.settings)
    code_problem = desired.code_problem
    if desired.code_configmap is not None:
        await state.objects.create_configmap(desired.code_configmap)
    elif desired.referenced_configmap is not None:
        keys = await state.objects.configmap_keys(namespace, desired.referenced_configmap)
        code_problem = desired.check_referenced(keys)

    pods = _pods_with_expectations(state, key, pod_bodies, now)
    decision = plan(pods, revision=desired.revision, desired=desired.replicas, now=now)
    if code_problem is not None:
        decision = plan(pods, revision=desired.revision, desired=0, now=now)

    for pod_name in decision.delete:
        await state.objects.delete_pod(namespace, pod_name)
    for _ in range(decision.create):
        pod_name = f"{name}-{desired.revision[:6]}-{secrets.token_hex(3)}"
        manifest = desired.pod(pod_name, attempt=decision.attempt)
        state.expected.setdefault(key, {})[pod_name] = (desired.revision, now)
        await state.objects.create_pod(manifest)
    if decision.create:
        await state.objects.post_event(
            body,
            reason="PodsCreated",
            message=f"created {decision.create} pod(s) of revision {desired.revision}",
        )
    # Each failed pod is reported once; names of pods that are gone are forgotten.
    reported = state.reported_failures.setdefault(key, set())
    reported &= {p.name for p in pods}
    for failed in pods:
        if failed.failure and failed.name not in reported:
            reported.add(failed.name)
            await state.objects.post_event(
                body,
                reason="InitError",
                warning=True,
                message=f"{failed.name}: {failed.failure.error_type}: {failed.failure.message}",
            )

    # Code ConfigMaps of earlier revisions go once no pod mounts them.
    in_use = {desired.code_configmap_name} | _mounted_configmaps(pod_bodies)
    for cm in code_maps:
        if cm not in in_use:
            await state.objects.delete_configmap(namespace, cm)

    conditions = function_conditions(
        pods, revision=desired.revision, desired=desired.replicas, code_problem=code_problem
    )
    live = [p for p in pods if p.live]
    ready = [p for p in live if p.ready]
    status: MutableMapping[str, Any] = {
        "observedGeneration": generation,
        "conditions": [
            c.as_dict(generation=generation, now=now, previous=previous) for c in conditions
        ],
        "replicas": len(live),
        "readyReplicas": len(ready),
        "desiredReplicas": desired.replicas,
        "provisionedReady": min(desired.provisioned, len(ready) * desired.per_pod),
        "arn": desired.arn,
        "codeSha256": desired.code_sha256,
    }
    current = body.get("status") or {}
    if any(current.get(k) != v for k, v in status.items()):
        await state.objects.patch_function_status(namespace, name, status)
    if decision.requeue_after is not None:
        return min(RESYNC_SECONDS, decision.requeue_after.total_seconds())
    return RESYNC_SECONDS


def _mounted_configmaps(pod_bodies: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for pod in pod_bodies:
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            if cm := volume.get("configMap"):
                names.add(str(cm.get("name")))
    return names
