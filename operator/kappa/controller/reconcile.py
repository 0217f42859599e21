"""One pass of the Function controller: observe → plan → act → report.

- :func:`observe` reads what is: the Function, its referenced ConfigMap, its pods
  (with those created but not shown by the watch yet);
- :func:`plan_pass` decides what should be, with the pure parts: the autoscaler's
  decision (``scale``), the pod plan (``pod_plan``), the quota's hold;
- :func:`act` makes it so: code ConfigMap, pod deletions and creations, Events;
- :func:`report` writes the status (conditions, replicas, scaling) and says when
  the next unprompted pass is due (a :class:`~kappa.controller.backoff.Result`; the
  pure :func:`kappa.controller.next_pass.next_pass` decides when, and why).

Only :func:`act` and :func:`report` write to the API; the decisions are made by
the pure autoscaler decider, planner and condition functions.
"""

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from kubernetes.client.exceptions import ApiException

from kappa.api.function_version import published_as
from kappa.api.meta import ConditionState
from kappa.autoscaler import decider
from kappa.controller.backoff import Result
from kappa.controller.conditions import (
    function_conditions,
    progress_conditions,
    scaled_condition,
)
from kappa.controller.desired import DesiredFunction, desired_function, referenced_configmap
from kappa.controller.destinations import destinations_conditions
from kappa.controller.layers import LayerSource, layer_configmap, layer_names
from kappa.controller.memory import ExpectedPod, Key, WrittenStatus
from kappa.controller.next_pass import EXPECTATION_TTL, Due, Left, next_pass
from kappa.controller.observed import Phase, PodView, after_deletions, pod_view
from kappa.controller.planner import Plan, plan
from kappa.controller.state import State
from kappa.invocation.kube_view import pod_owner
from kappa.k8s.objects import api_message
from kappa.resources.code_configmap import CodeDigest

log = logging.getLogger(__name__)

# The digest of a watched ConfigMap by (namespace, name); None: it does not exist.
FindConfigMap = Callable[[Key], CodeDigest | None]

# Reasons that hold a Function below what its concurrency asks for (Scaled=False).
_LIMITED: Final = frozenset({decider.Reason.CAP_REACHED, decider.Reason.BURST_LIMITED})


@dataclass(frozen=True)
class Observed:
    """What one pass saw of a Function."""

    key: Key
    body: Mapping[str, Any]
    desired: DesiredFunction
    pods: list[PodView]
    pod_bodies: list[dict[str, Any]]
    code_maps: list[str]
    generation: int
    deleting: bool  # foreground deletion: the garbage collector removes its pods first
    now: datetime

    @property
    def status(self) -> Mapping[str, Any]:
        """The status as last written."""
        return self.body.get("status") or {}

    @property
    def previous_conditions(self) -> list[Mapping[str, Any]]:
        """The conditions as last written."""
        return list(self.status.get("conditions") or [])


@dataclass(frozen=True)
class PassPlan:
    """What one pass decided: the autoscaler's decision, the pods to make and remove."""

    scale: decider.Decision
    pod_plan: Plan
    quota_problem: str | None


@dataclass(frozen=True)
class Acted:
    """What one pass did: pods created, the API's refusal of them, another write refused.

    ``refused``: the API server refused a deletion or an adoption (tried again soon).
    """

    created: int
    create_error: str | None
    refused: bool = False


async def reconcile(
    state: State,
    body: Mapping[str, Any],
    pod_bodies: list[dict[str, Any]],
    code_maps: list[str],
    *,
    configmaps: FindConfigMap = lambda _key: None,
) -> Result:
    """One pass for one Function; the result says when the next unprompted pass is due.

    ``configmaps``: the digest of a ConfigMap (namespace, name) the operator watches, None
    when it does not exist; the Function's code and its Layers may name one.
    """
    seen = await observe(
        state, body, pod_bodies, code_maps, configmaps=configmaps, now=datetime.now(UTC)
    )
    intent = plan_pass(state, seen)
    done = await act(state, seen, intent)
    return await report(state, seen, intent, done)


async def observe(  # noqa: PLR0913 - what one pass reads, the rest by keyword
    state: State,
    body: Mapping[str, Any],
    pod_bodies: list[dict[str, Any]],
    code_maps: list[str],
    *,
    configmaps: FindConfigMap,
    now: datetime,
) -> Observed:
    """The Function as it is: its desired form (with its referenced ConfigMap) and its pods.

    Its pods are those it controls (their ownerReference names its uid): a pod someone
    else labels ``kappa.dev/function`` is neither counted nor deleted.
    """
    meta = body["metadata"]
    key = (str(meta["namespace"]), str(meta["name"]))
    body = state.memory.recall(key).current(body)
    pod_bodies = [p for p in pod_bodies if pod_owner(p) == meta.get("uid")]
    referenced = configmaps((key[0], name)) if (name := referenced_configmap(body)) else None
    layers: dict[str, LayerSource] = {}
    for layer in layer_names(body):
        layer_body = await state.objects.layer(key[0], layer)
        source = layer_configmap(layer_body) if layer_body is not None else None
        layers[layer] = LayerSource(layer_body, configmaps((key[0], source)) if source else None)
    return Observed(
        key=key,
        body=body,
        desired=desired_function(body, state.settings, referenced=referenced, layers=layers),
        pods=await _pods_with_expectations(state, key, pod_bodies, now),
        pod_bodies=pod_bodies,
        code_maps=code_maps,
        generation=int(meta.get("generation") or 0),
        deleting=meta.get("deletionTimestamp") is not None,
        now=now,
    )


def _decide(state: State, seen: Observed, pods: list[PodView], *, initial: int) -> decider.Decision:
    """The autoscaler's decision for the Function with ``pods``."""
    return state.scaler.observe(
        seen.key,
        seen.desired.scaling,
        [
            decider.Pod(p.name, p.ready, p.created.timestamp(), p.provisioned)
            for p in pods
            if p.live and p.revision == seen.desired.revision
        ],
        initial=initial,
        now=seen.now.timestamp(),
    )


def plan_pass(state: State, seen: Observed) -> PassPlan:
    """How many pods (the autoscaler), which to make and remove (the planner), the quota's hold."""
    desired = seen.desired
    scale = _decide(
        state,
        seen,
        seen.pods,
        # A new Function starts `replicas` pods; one decided before (an operator restart)
        # keeps what runs until it is idle, pods of an older template too (an upgrade that
        # changed the pods' template rolls them, rather than dropping a warm pod).
        initial=(
            desired.replicas
            if seen.status.get("desiredReplicas") is None
            else sum(1 for p in seen.pods if p.live)
        ),
    )
    pod_plan = plan(
        seen.pods,
        revision=desired.revision,
        desired=scale.pods,
        now=seen.now,
        provisioned=desired.provisioned_pods,
        hold=desired.hold,
        remove_first=scale.remove,
    )
    pod_plan, quota_problem = _restrained(state, seen.key, pod_plan, deleting=seen.deleting)
    return PassPlan(scale=scale, pod_plan=pod_plan, quota_problem=quota_problem)


async def act(state: State, seen: Observed, intent: PassPlan) -> Acted:
    """Apply the plan: code ConfigMap, deletions, creations; Events for what happened."""
    namespace = seen.key[0]
    desired, pod_plan = seen.desired, intent.pod_plan
    create_error: str | None = None
    code_map = desired.code_configmap
    if (
        code_map is not None
        and not seen.deleting
        and desired.code_configmap_name not in seen.code_maps
    ):
        try:
            await state.objects.create_configmap(code_map)
        except ApiException as exc:
            create_error = f"ConfigMap {desired.code_configmap_name}: {api_message(exc)}"
            log.warning("creating a code ConfigMap in %s was refused: %s", namespace, create_error)
            pod_plan = replace(pod_plan, create=0)  # its pods could not mount their code

    refused = False  # another write refused: the next pass is due soon (next_pass.RETRY)
    if desired.adopt_configmap is not None and desired.referenced_configmap and not seen.deleting:
        refused |= not await _adopt(
            state, namespace, desired.referenced_configmap, desired.adopt_configmap
        )
    for configmap, reference in () if seen.deleting else desired.adopt_layer_configmaps:
        refused |= not await _adopt(state, namespace, configmap, reference)

    for pod_name in pod_plan.delete:
        try:
            await state.objects.delete_pod(namespace, pod_name)
        except ApiException as exc:
            log.warning("deleting pod %s/%s failed: %s", namespace, pod_name, api_message(exc))
            refused = True
    pod_plan = await _claim_pods(state, seen, pod_plan)
    created, create_refused = await _create_pods(state, seen.key, desired, pod_plan, seen.now)
    create_error = create_error or create_refused
    if created:
        await _post_event(
            state,
            seen.body,
            reason="PodsCreated",
            message=f"created {created} pod(s) of revision {desired.revision}",
        )
    # Once per refusal streak: the retries every next_pass.RETRY would flood the Events.
    was_refused = any(
        c.get("type") == "Ready" and c.get("reason") == "PodCreateFailed"
        for c in seen.previous_conditions
    )
    if create_refused and not was_refused:
        await _post_event(
            state, seen.body, reason="PodCreateFailed", warning=True, message=create_refused
        )
    await _report_failures(state, seen.key, seen.body, seen.pods)
    if not seen.deleting:
        refused |= not await _collect_configmaps(
            state, namespace, desired, seen.pod_bodies, seen.code_maps
        )
    return Acted(created=created, create_error=create_error, refused=refused)


async def report(state: State, seen: Observed, intent: PassPlan, done: Acted) -> Result:
    """Write the status where it changed; when the next unprompted pass is due."""
    desired, scale, previous = seen.desired, intent.scale, seen.previous_conditions
    pods = after_deletions(seen.pods, intent.pod_plan.delete)
    made = _made(state, seen)
    if made:
        # The status tells what is, pods made in this pass included, as the pass their
        # watch events wake would: one status write for both, not two.
        pods += made
        scale = _decide(state, seen, pods, initial=0)
    conditions = function_conditions(
        pods,
        revision=desired.revision,
        # Ready once the provisioned pods (at least one) are, or scaled to zero.
        desired=min(scale.pods, max(1, desired.provisioned_pods)),
        code_problem=desired.code_problem,
        create_error=done.create_error,
        quota_problem=intent.quota_problem,
        code_loaded=_code_loaded(previous, seen.generation)
        or state.memory.recall(seen.key).code_loaded == seen.generation,
    )
    if any(c.type == "CodeReady" and c.status == "True" for c in conditions):
        state.memory.recall(seen.key).code_loaded = seen.generation
    # Reconciling/Stalled: how GitOps tools (kstatus) tell "still starting" from "needs a fix".
    conditions += progress_conditions(conditions[0], spec_problem=desired.code_problem is not None)
    conditions.append(
        scaled_condition(scale.reason.value, scale.message, limited=scale.reason in _LIMITED)
    )
    conditions.extend(destinations_conditions(seen.body, state.memory))
    if state.claims is not None:
        conditions.extend(state.claims.conditions(seen.body))
    status = _status(
        desired, pods, conditions, generation=seen.generation, now=seen.now, previous=previous
    )
    changed = bool(done.created or intent.pod_plan.delete)
    status |= await _scaling_status(state, seen.body, scale, changed=changed, now=seen.now)
    if any(seen.status.get(k) != v for k, v in status.items()):
        await state.objects.patch_function_status(*seen.key, status)
        over = (seen.body.get("metadata") or {}).get("resourceVersion")
        state.memory.recall(seen.key).written = WrittenStatus(over, status)
    record = state.memory.recall(seen.key)
    publishing = _publishes(seen, conditions) and record.published != seen.generation
    if publishing:
        await _publish(state, seen)
    due = next_pass(
        seen.now,
        Left(
            refused=done.create_error is not None or done.refused,
            backoff_end=None
            if intent.pod_plan.requeue_after is None
            else seen.now + intent.pod_plan.requeue_after,
            unseen_since=tuple(p.since for p in record.expected.values()),
            publish_failures=record.publish_failures if publishing else 0,
            # Until the windows are empty, the Scaled message's averages still move.
            load=status["inFlight"] > 0 or state.scaler.loaded(seen.key),
        ),
        key=seen.key,
        resync=timedelta(seconds=state.settings.resync_seconds),
    )
    return _result(seen, due)


def _result(seen: Observed, due: Due) -> Result:
    log.debug("%s/%s: next pass in %s (%s)", *seen.key, due.at - seen.now, due.cause)
    return Result((due.at - seen.now).total_seconds())


def _pending_view(name: str, pending: ExpectedPod) -> PodView:
    """A pod this operator made and has not seen yet, as Pending."""
    return PodView(
        name=name,
        revision=pending.revision,
        phase=Phase.PENDING,
        ready=False,
        terminating=False,
        created=pending.created,
        provisioned=pending.provisioned,
    )


def _made(state: State, seen: Observed) -> list[PodView]:
    """The pods this pass made (expected since its ``now``), as Pending."""
    expected = state.memory.recall(seen.key).expected
    return [
        _pending_view(name, pending)
        for name, pending in expected.items()
        if pending.created == seen.now
    ]


def _publishes(seen: Observed, conditions: list[ConditionState]) -> bool:
    """Whether ``spec.publish`` asks for a version now: a Function (not a version), Ready."""
    spec = seen.body.get("spec") or {}
    return (
        spec.get("publish") is True
        and published_as(seen.body) is None
        and not seen.deleting
        and any(c.type == "Ready" and c.status == "True" for c in conditions)
    )


async def _publish(state: State, seen: Observed) -> None:
    """Publish a version of this generation (once); an Event says which, or why not.

    A refusal is tried again after a back-off (kappa.controller.next_pass), and at every
    pass before; its Event is posted once while it says the same.
    """
    if state.publisher is None:
        return
    record = state.memory.recall(seen.key)
    try:
        number, created = await state.publisher(*seen.key)
    except Exception as exc:  # noqa: BLE001 - a failed publish is reported, and retried
        message = api_message(exc) if isinstance(exc, ApiException) else str(exc)
        log.warning("publishing %s/%s failed: %s", *seen.key, message)
        if record.publish_failure != message:
            await _post_event(
                state, seen.body, reason="PublishFailed", message=message, warning=True
            )
        record.publish_failure = message
        record.publish_failures += 1
        return
    record.published, record.publish_failure, record.publish_failures = seen.generation, None, 0
    if created:
        await _post_event(
            state, seen.body, reason="VersionPublished", message=f"published version {number}"
        )


async def _pods_with_expectations(
    state: State, key: Key, bodies: list[dict[str, Any]], now: datetime
) -> list[PodView]:
    """The pods the index shows, plus those created but not shown yet (as Pending)."""
    record = state.memory.recall(key)
    seen_ready = record.seen_ready
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
    expected = record.expected
    for pod_name in list(expected):
        pending = expected[pod_name]
        if pod_name in seen:  # the index has it now, and will show its deletion
            del expected[pod_name]
            continue
        if now - pending.since >= EXPECTATION_TTL:
            # The watch may just be slow: ask before forgetting (a duplicate pod would
            # run unnoticed, and be deleted as surplus once seen).
            try:
                exists = await state.objects.pod_exists(key[0], pod_name)
            except ApiException as exc:
                log.warning("cannot check pod %s/%s: %s", key[0], pod_name, api_message(exc))
                exists = True
            if not exists:
                del expected[pod_name]
                continue
            expected[pod_name] = pending = replace(pending, since=now)
        views.append(_pending_view(pod_name, pending))
    return views


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
            api_message(exc) if isinstance(exc, ApiException) else repr(exc),
        )


async def _claim_pods(state: State, seen: Observed, pod_plan: Plan) -> Plan:
    """Take what pods the plan makes on demand from a warm pool; the plan less those."""
    on_demand = pod_plan.create - pod_plan.provisioned
    if state.claims is None or on_demand <= 0 or seen.deleting or seen.desired.hold:
        return pod_plan
    pool, taken = await state.claims.claim(seen.body, seen.desired, on_demand)
    if not taken:
        return pod_plan
    expected = state.memory.recall(seen.key).expected
    for name in taken:
        expected[name] = ExpectedPod(
            revision=seen.desired.revision, created=seen.now, since=seen.now, provisioned=False
        )
    state.scaler.created(seen.key, len(taken))
    await _post_event(
        state,
        seen.body,
        reason="PodsClaimed",
        message=f"took {len(taken)} pod(s) from warm pool {pool}: {', '.join(taken)}",
    )
    return replace(pod_plan, create=pod_plan.create - len(taken))


async def _create_pods(
    state: State, key: Key, desired: DesiredFunction, pod_plan: Plan, now: datetime
) -> tuple[int, str | None]:
    """Create the planned pods; (how many were created, the API's refusal if one was)."""
    namespace, name = key
    expected = state.memory.recall(key).expected
    created = 0
    ready_push = state.scaler.ready_addresses()
    for index in range(pod_plan.create):
        pod_name = f"{name}-{desired.revision[:6]}-{secrets.token_hex(3)}"
        provisioned = index < pod_plan.provisioned
        manifest = desired.pod(
            pod_name, attempt=pod_plan.attempt, provisioned=provisioned, ready_push=ready_push
        )
        try:
            await state.objects.create_pod(manifest)
        except ApiException as exc:
            # A quota, an admission policy…: the next ones would be refused alike.
            message = api_message(exc)
            log.warning("creating pod %s/%s was refused: %s", namespace, pod_name, message)
            return created, message
        expected[pod_name] = ExpectedPod(
            revision=desired.revision, created=now, since=now, provisioned=provisioned
        )
        created += 1
    state.scaler.created(key, created)
    return created, None


def _restrained(
    state: State, key: Key, pod_plan: Plan, *, deleting: bool
) -> tuple[Plan, str | None]:
    """The plan as it may run, and why the Function's quota holds it (or None).

    Being deleted: nothing to do. Held by its quota (kappa.controller.quota): no new
    pods; those it has keep serving.
    """
    if deleting:
        return Plan(), None
    quota_problem = state.memory.recall(key).quota_hold
    return (replace(pod_plan, create=0) if quota_problem else pod_plan), quota_problem


async def _report_failures(
    state: State, key: Key, body: Mapping[str, Any], pods: list[PodView]
) -> None:
    """An Event per failed pod, once; names of pods that are gone are forgotten."""
    record = state.memory.recall(key)
    record.reported_failures &= {p.name for p in pods}
    reported = record.reported_failures
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


async def _adopt(
    state: State, namespace: str, configmap: str, reference: Mapping[str, Any]
) -> bool:
    """Make a Function or Layer an owner of its package ConfigMap (kappa.controller.adoption).

    A refusal is logged and tried again soon (False): the Function runs either way.
    """
    try:
        await state.objects.add_owner_reference(namespace, configmap, reference)
    except ApiException as exc:
        log.warning("adopting ConfigMap %s/%s failed: %s", namespace, configmap, api_message(exc))
        return False
    return True


async def _collect_configmaps(
    state: State,
    namespace: str,
    desired: DesiredFunction,
    pod_bodies: list[dict[str, Any]],
    code_maps: list[str],
) -> bool:
    """Delete code ConfigMaps of earlier revisions once no pod mounts them.

    False when the API server refused one (tried again soon).
    """
    in_use = {desired.code_configmap_name} | _mounted_configmaps(pod_bodies)
    done = True
    for cm in code_maps:
        if cm not in in_use:
            try:
                await state.objects.delete_configmap(namespace, cm)
            except ApiException as exc:
                log.warning("deleting ConfigMap %s/%s failed: %s", namespace, cm, api_message(exc))
                done = False
    return done


def _status(  # noqa: PLR0913 - what the status is made of
    desired: DesiredFunction,
    pods: list[PodView],
    conditions: list[ConditionState],
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
