"""kopf wiring: indexes of pods and code ConfigMaps, and one daemon per Function.

Thin by design. Each Function has a task that reconciles whenever something
about it changes (its spec or deletion, one of its pods; not its status, which
the task writes itself), whenever the autoscaler's decision for it changes (a
tick or a gateway's poke wakes it), and otherwise every `RESYNC_SECONDS`; the
decisions are made by the pure autoscaler decider, planner and condition
functions, this module only gathers observations and applies the plan.
"""

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import kopf
from kubernetes.client.exceptions import ApiException

from kappa.api.names import COMPONENT_LABEL, FUNCTION_COMPONENT, FUNCTION_LABEL, GROUP, VERSION
from kappa.autoscaler import decider
from kappa.autoscaler.loop import Autoscaler
from kappa.controller.conditions import (
    Condition,
    function_conditions,
    progress_conditions,
    scaled_condition,
)
from kappa.controller.desired import DesiredFunction, desired_function, referenced_configmap
from kappa.controller.destinations import destinations_conditions, referencing
from kappa.controller.observed import Phase, PodView, pod_view
from kappa.controller.planner import Plan, plan
from kappa.k8s.objects import Objects
from kappa.settings import Settings

log = logging.getLogger(__name__)

RESYNC_SECONDS: Final = 30.0
# After the API server refused a pod, try again this soon (a quota may have been raised).
CREATE_RETRY_SECONDS: Final = 10.0
# A pod we created but the watch has not shown yet counts as Pending; after this long
# the API server is asked whether it exists before it is forgotten.
EXPECTATION_TTL: Final = timedelta(seconds=60)
_FUNCTION_PODS: Final = {COMPONENT_LABEL: FUNCTION_COMPONENT}
# Reasons that hold a Function below what its concurrency asks for (Scaled=False).
_LIMITED: Final = frozenset({decider.Reason.CAP_REACHED, decider.Reason.BURST_LIMITED})

Key = tuple[str, str]


@dataclass(frozen=True)
class _Expected:
    """A pod created but not yet shown by the watch."""

    revision: str
    created: datetime
    since: datetime  # when it was created, or last found to exist
    provisioned: bool


@dataclass
class State:
    """Operator-wide memory: wake-up events and pods created but not yet seen."""

    objects: Objects
    settings: Settings
    wakeups: dict[Key, asyncio.Event] = field(default_factory=dict)
    expected: dict[Key, dict[str, _Expected]] = field(default_factory=dict)
    reported_failures: dict[Key, set[str]] = field(default_factory=dict)
    # Pods seen Ready once: a later end of theirs is no init error (PodView.was_ready).
    seen_ready: dict[Key, set[str]] = field(default_factory=dict)
    bodies: dict[Key, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[Key, "asyncio.Task[None]"] = field(default_factory=dict)
    # Functions that do not fit their quota (kappa.controller.quota): held, no new pods.
    quota_holds: dict[Key, str] = field(default_factory=dict)
    autoscaler: Autoscaler | None = None

    def __post_init__(self) -> None:
        if self.autoscaler is None:
            self.autoscaler = Autoscaler(
                concurrency_limit=self.settings.concurrency_limit,
                burst_limit=self.settings.burst_limit,
            )
        self.autoscaler.wake = self.wake

    @property
    def scaler(self) -> Autoscaler:
        """The autoscaler (always set after construction)."""
        assert self.autoscaler is not None  # noqa: S101 - set in __post_init__
        return self.autoscaler

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
            state.seen_ready.pop(key, None)
            state.scaler.forget(key)
            for other in referencing(state.bodies, key):  # their destination is gone
                state.wake(other)
            return
        before = state.bodies.get(key)
        state.bodies[key] = dict(body)
        if before is None:  # Functions whose async destination it is see it at once
            for other in referencing(state.bodies, key):
                state.wake(other)
        if key not in state.tasks:
            state.tasks[key] = asyncio.create_task(
                _run(state, key, function_pods, code_configmaps),
                name=f"function {namespace}/{name}",
            )
        elif before is None or _wants_a_pass(before, body):
            state.wake(key)


def _wants_a_pass(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether a change of a Function asks for a pass: its spec or its deletion changed.

    Status changes, most of them our own patches, only refresh the stored body: waking
    on them would turn a status that changes every pass into a busy loop.
    """
    old, new = before.get("metadata") or {}, after.get("metadata") or {}
    return any(old.get(k) != new.get(k) for k in ("generation", "deletionTimestamp", "uid"))


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
        if key not in state.bodies:  # gone (not just this task cancelled to be replaced)
            state.scaler.forget(key)


async def _pods_with_expectations(
    state: State, key: Key, bodies: list[dict[str, Any]], now: datetime
) -> list[PodView]:
    """The pods the index shows, plus those created but not shown yet (as Pending)."""
    seen_ready = state.seen_ready.setdefault(key, set())
    views = []
    for body in bodies:
        view = pod_view(body)
        if view.ready:
            seen_ready.add(view.name)
        elif view.name in seen_ready and not view.was_ready:
            view = replace(view, was_ready=True)
        views.append(view)
    seen = {v.name for v in views}
    seen_ready &= seen
    expected = state.expected.setdefault(key, {})
    for pod_name in list(expected):
        pending = expected[pod_name]
        if pod_name in seen:  # the index has it now, and will show its deletion
            del expected[pod_name]
            continue
        if now - pending.since > EXPECTATION_TTL:
            # The watch may just be slow: ask before forgetting (a duplicate pod would
            # run unnoticed, and be deleted as surplus once seen).
            try:
                exists = await state.objects.pod_exists(key[0], pod_name)
            except ApiException as exc:
                log.warning("cannot check pod %s/%s: %s", key[0], pod_name, _api_message(exc))
                exists = True
            if not exists:
                del expected[pod_name]
                continue
            expected[pod_name] = pending = replace(pending, since=now)
        views.append(
            PodView(
                name=pod_name,
                revision=pending.revision,
                phase=Phase.PENDING,
                ready=False,
                terminating=False,
                created=pending.created,
                provisioned=pending.provisioned,
            )
        )
    return views


def _api_message(exc: ApiException) -> str:
    """The API server's own words for a refusal (its Status message), else the HTTP reason."""
    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or f"{exc.status} {exc.reason}")


async def _post_event(
    state: State, body: Mapping[str, Any], *, reason: str, message: str, warning: bool = False
) -> None:
    """Post an Event; one that cannot be posted (namespace terminating…) is only logged."""
    try:
        await state.objects.post_event(body, reason=reason, message=message, warning=warning)
    except Exception as exc:  # noqa: BLE001 - an Event is never worth a failed pass
        meta = body["metadata"]
        log.warning(
            "cannot post event %s on Function %s/%s: %s",
            reason,
            meta["namespace"],
            meta["name"],
            _api_message(exc) if isinstance(exc, ApiException) else repr(exc),
        )


async def _create_pods(
    state: State, key: Key, desired: DesiredFunction, decision: Plan, now: datetime
) -> tuple[int, str | None]:
    """Create the planned pods; (how many were created, the API's refusal if one was)."""
    namespace, name = key
    created = 0
    for index in range(decision.create):
        pod_name = f"{name}-{desired.revision[:6]}-{secrets.token_hex(3)}"
        provisioned = index < decision.provisioned
        manifest = desired.pod(pod_name, attempt=decision.attempt, provisioned=provisioned)
        try:
            await state.objects.create_pod(manifest)
        except ApiException as exc:
            # A quota, an admission policy…: the next ones would be refused alike.
            message = _api_message(exc)
            log.warning("creating pod %s/%s was refused: %s", namespace, pod_name, message)
            return created, message
        state.expected.setdefault(key, {})[pod_name] = _Expected(
            revision=desired.revision, created=now, since=now, provisioned=provisioned
        )
        created += 1
    state.scaler.created(key, created)
    return created, None


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
    # Being deleted (foreground: the garbage collector removes its pods first): report only.
    deleting = meta.get("deletionTimestamp") is not None

    referenced_data = None
    if (referenced := referenced_configmap(body)) is not None:
        referenced_data = await state.objects.configmap_data(namespace, referenced)
    desired = desired_function(body, state.settings, referenced_data=referenced_data)

    pods = await _pods_with_expectations(state, key, pod_bodies, now)
    current = body.get("status") or {}
    scaling = state.scaler.observe(
        key,
        desired.scaling,
        [
            decider.Pod(p.name, p.ready, p.created.timestamp(), p.provisioned)
            for p in pods
            if p.live and p.revision == desired.revision
        ],
        # A new Function starts `replicas` pods; one decided before (an operator restart)
        # keeps what runs until it is idle.
        initial=desired.replicas if current.get("desiredReplicas") is None else 0,
        now=now.timestamp(),
    )
    decision = plan(
        pods,
        revision=desired.revision,
        desired=scaling.pods,
        now=now,
        provisioned=desired.provisioned_pods,
        hold=desired.hold,
        remove_first=scaling.remove,
    )
    decision, quota_problem = _restrained(state, key, decision, deleting=deleting)

    create_error: str | None = None
    code_map = desired.code_configmap
    if code_map is not None and not deleting and desired.code_configmap_name not in code_maps:
        try:
            await state.objects.create_configmap(code_map)
        except ApiException as exc:
            create_error = f"ConfigMap {desired.code_configmap_name}: {_api_message(exc)}"
            log.warning("creating a code ConfigMap in %s was refused: %s", namespace, create_error)
            decision = replace(decision, create=0)  # its pods could not mount their code

    for pod_name in decision.delete:
        try:
            await state.objects.delete_pod(namespace, pod_name)
        except ApiException as exc:
            log.warning("deleting pod %s/%s failed: %s", namespace, pod_name, _api_message(exc))
    created, refused = await _create_pods(state, key, desired, decision, now)
    create_error = create_error or refused
    if created:
        await _post_event(
            state,
            body,
            reason="PodsCreated",
            message=f"created {created} pod(s) of revision {desired.revision}",
        )
    # Once per refusal streak: the retries every CREATE_RETRY_SECONDS would flood the Events.
    was_refused = any(
        c.get("type") == "Ready" and c.get("reason") == "PodCreateFailed" for c in previous
    )
    if refused and not was_refused:
        await _post_event(state, body, reason="PodCreateFailed", warning=True, message=refused)
    await _report_failures(state, key, body, pods)
    if not deleting:
        await _collect_configmaps(state, namespace, desired, pod_bodies, code_maps)

    conditions = function_conditions(
        pods,
        revision=desired.revision,
        # Ready once the provisioned pods (at least one) are, or scaled to zero.
        desired=min(scaling.pods, max(1, desired.provisioned_pods)),
        code_problem=desired.code_problem,
        create_error=create_error,
        quota_problem=quota_problem,
        code_loaded=_code_loaded(previous, generation),
    )
    # Reconciling/Stalled: how GitOps tools (kstatus) tell "still starting" from "needs a fix".
    conditions += progress_conditions(conditions[0], spec_problem=desired.code_problem is not None)
    conditions.append(
        scaled_condition(
            scaling.reason.value,
            scaling.message,
            limited=scaling.reason in _LIMITED,
        )
    )
    conditions.extend(destinations_conditions(body, state.bodies.keys()))
    status = _status(desired, pods, conditions, generation=generation, now=now, previous=previous)
    status |= await _scaling_status(
        state, body, scaling, changed=bool(created or decision.delete), now=now
    )
    if any(current.get(k) != v for k, v in status.items()):
        await state.objects.patch_function_status(namespace, name, status)
    if create_error is not None:
        return CREATE_RETRY_SECONDS
    if decision.requeue_after is not None:
        return min(RESYNC_SECONDS, decision.requeue_after.total_seconds())
    return RESYNC_SECONDS


def _restrained(
    state: State, key: Key, decision: Plan, *, deleting: bool
) -> tuple[Plan, str | None]:
    """The plan as it may run, and why the Function's quota holds it (or None).

    Being deleted: nothing to do. Held by its quota (kappa.controller.quota): no new
    pods; those it has keep serving.
    """
    if deleting:
        return Plan(), None
    quota_problem = state.quota_holds.get(key)
    return (replace(decision, create=0) if quota_problem else decision), quota_problem


async def _report_failures(
    state: State, key: Key, body: Mapping[str, Any], pods: list[PodView]
) -> None:
    """An Event per failed pod, once; names of pods that are gone are forgotten."""
    reported = state.reported_failures.setdefault(key, set())
    reported &= {p.name for p in pods}
    for failed in pods:
        if failed.failure and failed.name not in reported:
            reported.add(failed.name)
            await _post_event(
                state,
                body,
                reason="EnvironmentFailed" if failed.was_ready else "InitError",
                warning=True,
                message=f"{failed.name}: {failed.failure.error_type}: {failed.failure.message}",
            )


async def _collect_configmaps(
    state: State,
    namespace: str,
    desired: DesiredFunction,
    pod_bodies: list[dict[str, Any]],
    code_maps: list[str],
) -> None:
    """Delete code ConfigMaps of earlier revisions once no pod mounts them."""
    in_use = {desired.code_configmap_name} | _mounted_configmaps(pod_bodies)
    for cm in code_maps:
        if cm not in in_use:
            try:
                await state.objects.delete_configmap(namespace, cm)
            except ApiException as exc:
                log.warning("deleting ConfigMap %s/%s failed: %s", namespace, cm, _api_message(exc))


def _status(  # noqa: PLR0913 - what the status is made of
    desired: DesiredFunction,
    pods: list[PodView],
    conditions: list[Condition],
    *,
    generation: int,
    now: datetime,
    previous: list[Mapping[str, Any]],
) -> dict[str, Any]:
    live = [p for p in pods if p.live]
    ready = [p for p in live if p.ready]
    ready_provisioned = sum(1 for p in ready if p.provisioned)
    return {
        "observedGeneration": generation,
        "conditions": [
            c.as_dict(generation=generation, now=now, previous=previous) for c in conditions
        ],
        "replicas": len(live),
        "readyReplicas": len(ready),
        "provisionedReady": min(desired.provisioned, ready_provisioned * desired.per_pod),
        "arn": desired.arn,
        "codeSha256": desired.code_sha256,
    }


def _mounted_configmaps(pod_bodies: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for pod in pod_bodies:
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            if cm := volume.get("configMap"):
                names.add(str(cm.get("name")))
    return names


def _code_loaded(previous: list[Mapping[str, Any]], generation: int) -> bool:
    """Whether the status says this generation's code loaded (CodeReady True)."""
    return any(
        c.get("type") == "CodeReady"
        and c.get("status") == "True"
        and c.get("observedGeneration") == generation
        for c in previous
    )


async def _scaling_status(
    state: State,
    body: Mapping[str, Any],
    scaling: decider.Decision,
    *,
    changed: bool,
    now: datetime,
) -> dict[str, Any]:
    """The autoscaler's part of the status; an Event when the target changes."""
    meta = body["metadata"]
    key = (str(meta["namespace"]), str(meta["name"]))
    current = body.get("status") or {}
    before = current.get("desiredReplicas")
    if (
        isinstance(before, int)
        and before != scaling.target
        and meta.get("deletionTimestamp") is None
    ):
        await _post_event(
            state,
            body,
            reason=scaling.reason.value,
            message=f"{before} -> {scaling.target} pod(s): {scaling.message}",
        )
    return {
        "desiredReplicas": scaling.target,
        "inFlight": sum(state.scaler.load(key).pods.values()),
        "lastScaleTime": _stamp(now) if changed else current.get("lastScaleTime"),
    }


def _stamp(now: datetime) -> str:
    return now.replace(microsecond=0).isoformat().replace("+00:00", "Z")
