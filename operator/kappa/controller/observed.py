"""What the controller sees of a Function's pods, reduced to what its decisions need.

`pod_view` turns a raw pod (as the API returns it) into a `PodView`, so the
planner and the status writer never touch raw dicts.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from kappa.resources.pods import ATTEMPT_ANNOTATION, PROVISIONED_LABEL, REVISION_LABEL


class Phase(StrEnum):
    """Pod phases (the API's own names)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Failure:
    """Why an environment ended: Lambda's error type and message (from the agent)."""

    error_type: str
    message: str


@dataclass(frozen=True)
class PodView:
    """One pod of a Function, as the controller needs to see it."""

    name: str
    revision: str
    phase: Phase
    ready: bool
    terminating: bool
    created: datetime
    attempt: int = 0
    finished: datetime | None = None
    failure: Failure | None = None
    # Why a container cannot start yet (ErrImageNeverPull, CreateContainerConfigError…).
    waiting_reason: str | None = None
    waiting_message: str | None = None
    # Why the pod as a whole cannot run or ended: status.reason (Evicted…) or, while it
    # waits for a node, the PodScheduled condition's reason (Unschedulable).
    pod_reason: str | None = None
    pod_message: str | None = None
    # Has been Ready at some point: its code loaded, so a later end is not an init error.
    was_ready: bool = False
    # Counted towards provisioned concurrency (made with AWS_LAMBDA_INITIALIZATION_TYPE
    # provisioned-concurrency).
    provisioned: bool = False

    @property
    def live(self) -> bool:
        """Still starting or serving: counts towards the desired pods."""
        return not self.terminating and self.phase in {Phase.PENDING, Phase.RUNNING}


def after_deletions(pods: list[PodView], deleted: tuple[str, ...]) -> list[PodView]:
    """The pods as they are once ``deleted`` (names) were asked to go: terminating.

    The pods a pass reads were observed before it deleted any, so a status written from
    them would still count a deleted pod as ready until the next pass.
    """
    gone = set(deleted)
    return [replace(p, terminating=True) if p.name in gone else p for p in pods]


# Waiting reasons that are normal steps of a start, not problems to report.
_BENIGN_WAITING = frozenset({"ContainerCreating", "PodInitializing"})
# The kubelet writes Initialized and Ready (False) in one status update, microseconds apart,
# at one-second resolution; a Ready=False that moved this much later went through True.
_READY_HISTORY_MARGIN = timedelta(seconds=2)


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _failure(terminated: Mapping[str, Any]) -> Failure:
    message = str(terminated.get("message") or "").strip()
    try:
        parsed = json.loads(message) if message else {}
    except json.JSONDecodeError:
        parsed = {}
    if isinstance(parsed, dict) and "errorType" in parsed:
        return Failure(str(parsed["errorType"]), str(parsed.get("errorMessage", "")))
    reason = str(terminated.get("reason") or "Error")
    code = terminated.get("exitCode")
    detail = message or f"the container exited with code {code}"
    if reason == "OOMKilled":
        return Failure("Runtime.OutOfMemory", f"the environment ran out of memory ({detail})")
    return Failure(f"Runtime.{reason}", detail)


def _was_ready(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether the Ready condition was True once, read from its transition time.

    Pods never restart (restartPolicy Never), so Ready goes False → True → False at
    most once. The kubelet keeps a condition's lastTransitionTime while its status
    stays the same: a pod that never became Ready keeps the time of its first status,
    when Initialized was set too; one that was Ready and ended shows a later time.
    """
    ready = conditions.get("Ready") or {}
    if ready.get("status") == "True":
        return True
    since = _time(ready.get("lastTransitionTime"))
    initialized = _time((conditions.get("Initialized") or {}).get("lastTransitionTime"))
    if ready.get("status") != "False" or since is None or initialized is None:
        return False
    return since - initialized >= _READY_HISTORY_MARGIN


def _pod_problem(
    status: Mapping[str, Any], conditions: Mapping[str, Mapping[str, Any]]
) -> tuple[str | None, str | None]:
    """(reason, message) of what keeps the whole pod from running, if anything."""
    if status.get("reason"):
        return str(status["reason"]), str(status.get("message") or "") or None
    scheduled = conditions.get("PodScheduled") or {}
    if scheduled.get("status") == "False" and scheduled.get("reason"):
        return str(scheduled["reason"]), str(scheduled.get("message") or "") or None
    return None, None


def pod_view(pod: Mapping[str, Any]) -> PodView:
    """Reduce a raw pod to a PodView."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = pod.get("status") or {}
    conditions = {
        str(c.get("type")): c for c in status.get("conditions") or [] if isinstance(c, Mapping)
    }
    ready = (conditions.get("Ready") or {}).get("status") == "True"
    pod_reason, pod_message = _pod_problem(status, conditions)
    failure = None
    finished = None
    waiting_reason = waiting_message = None
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if terminated := state.get("terminated"):
            finished = _time(terminated.get("finishedAt")) or finished
            if terminated.get("exitCode") != 0 and failure is None:
                failure = _failure(terminated)
        elif (waiting := state.get("waiting")) and waiting.get("reason") not in _BENIGN_WAITING:
            waiting_reason = waiting.get("reason")
            waiting_message = waiting.get("message")
    # Init containers (a code image's copy) end on success; only a failure or a wait of
    # theirs (the code image cannot be pulled) says something, and it keeps the pod from
    # ever running its containers.
    for container in status.get("initContainerStatuses") or []:
        state = container.get("state") or {}
        terminated = state.get("terminated")
        if terminated and terminated.get("exitCode") != 0 and failure is None:
            failure = _failure(terminated)
            finished = _time(terminated.get("finishedAt")) or finished
        elif (waiting := state.get("waiting")) and waiting.get("reason") not in _BENIGN_WAITING:
            waiting_reason = waiting.get("reason")
            waiting_message = waiting.get("message")
    created = _time(meta.get("creationTimestamp"))
    try:
        attempt = int((meta.get("annotations") or {}).get(ATTEMPT_ANNOTATION, 0))
    except ValueError:
        attempt = 0
    return PodView(
        name=str(meta.get("name")),
        revision=str(labels.get(REVISION_LABEL, "")),
        phase=Phase(status.get("phase") or "Pending"),
        ready=ready,
        terminating=meta.get("deletionTimestamp") is not None,
        created=created or datetime.fromtimestamp(0).astimezone(),
        attempt=attempt,
        finished=finished,
        failure=failure,
        waiting_reason=waiting_reason,
        waiting_message=waiting_message,
        pod_reason=pod_reason,
        pod_message=pod_message,
        was_ready=_was_ready(conditions),
        provisioned=labels.get(PROVISIONED_LABEL) == "true",
    )


# What a pass reads of a pod's metadata (pod_view, pod_owner) and of its status (pod_view).
_POD_META: Final = ("name", "namespace", "labels", "creationTimestamp", "deletionTimestamp")
_OWNER_FIELDS: Final = ("apiVersion", "kind", "uid", "controller")
_POD_STATUS: Final = ("phase", "reason", "message")
_CONDITION_FIELDS: Final = ("type", "status", "reason", "message", "lastTransitionTime")
_CONDITION_TYPES: Final = frozenset({"Ready", "Initialized", "PodScheduled"})  # pod_view's
# Annotations a pass or a user's `kubectl apply` may leave that no pass reads: the
# whole last applied manifest is the largest.
_UNREAD_ANNOTATIONS: Final = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


def kept_pod(pod: Mapping[str, Any]) -> dict[str, Any]:
    """What the controller keeps of a pod: the fields a pass reads, in the pod's own shape.

    The operator keeps every function pod of the cluster (an index): its name, labels,
    times, the attempt annotation, its controlling owner, the ConfigMaps it mounts, and
    of its status the phase, reason, the conditions pod_view reads and the containers'
    states. The rest
    (the spec's containers, env and probes, managedFields, IPs, images) is most of a
    pod's size and no pass reads it.
    """
    meta = pod.get("metadata") or {}
    kept: dict[str, Any] = {k: meta[k] for k in _POD_META if meta.get(k) is not None}
    attempt = (meta.get("annotations") or {}).get(ATTEMPT_ANNOTATION)
    if attempt is not None:
        kept["annotations"] = {ATTEMPT_ANNOTATION: attempt}
    owners = [
        {k: owner[k] for k in _OWNER_FIELDS if k in owner}
        for owner in meta.get("ownerReferences") or ()
        if owner.get("controller") is True
    ]
    if owners:
        kept["ownerReferences"] = owners
    volumes = [
        {"configMap": {"name": volume["configMap"].get("name")}}
        for volume in (pod.get("spec") or {}).get("volumes") or ()
        if isinstance(volume.get("configMap"), Mapping)
    ]
    return {"metadata": kept, "spec": {"volumes": volumes}, "status": _kept_status(pod)}


def _kept_status(pod: Mapping[str, Any]) -> dict[str, Any]:
    status = pod.get("status") or {}
    kept: dict[str, Any] = {k: status[k] for k in _POD_STATUS if status.get(k) is not None}
    conditions = [
        {k: c[k] for k in _CONDITION_FIELDS if c.get(k) is not None}
        for c in status.get("conditions") or ()
        if isinstance(c, Mapping) and c.get("type") in _CONDITION_TYPES
    ]
    if conditions:
        kept["conditions"] = conditions
    for field in ("containerStatuses", "initContainerStatuses"):
        states = [{"state": c.get("state") or {}} for c in status.get(field) or ()]
        if states:
            kept[field] = states
    return kept


def kept_function(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Function (or version) as the controller keeps it.

    All but its managedFields and the annotation of the last applied manifest (`kubectl
    apply`'s copy of it).
    """
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k != "managedFields"}
    annotations = meta.get("annotations")
    if annotations and not _UNREAD_ANNOTATIONS.isdisjoint(annotations):
        meta["annotations"] = {k: v for k, v in annotations.items() if k not in _UNREAD_ANNOTATIONS}
    return {**body, "metadata": meta}
