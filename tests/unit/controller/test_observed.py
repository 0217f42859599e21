import json
from datetime import UTC, datetime

import pytest

from kappa.controller.observed import (
    Failure,
    Phase,
    after_deletions,
    kept_function,
    kept_pod,
    pod_view,
)


def raw(
    phase: str = "Running", *, ready: bool = True, state: dict | None = None, **meta: object
) -> dict:
    return {
        "metadata": {
            "name": "fn-abc-1",
            "labels": {"kappa.dev/revision": "r1"},
            "annotations": {"kappa.dev/attempt": "2"},
            "creationTimestamp": "2026-01-01T00:00:00Z",
            **meta,
        },
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "function", "state": state or {"running": {}}}],
        },
    }


def test_running_ready_pod() -> None:
    view = pod_view(raw())
    assert (view.name, view.revision, view.phase, view.ready, view.attempt) == (
        "fn-abc-1",
        "r1",
        Phase.RUNNING,
        True,
        2,
    )
    assert view.created == datetime(2026, 1, 1, tzinfo=UTC)
    assert view.live
    assert view.failure is None


@pytest.mark.parametrize(
    ("terminated", "failure"),
    [
        pytest.param(
            {
                "exitCode": 1,
                "message": json.dumps(
                    {
                        "errorType": "Runtime.ImportModuleError",
                        "errorMessage": "No module named 'app'",
                    }
                ),
            },
            Failure("Runtime.ImportModuleError", "No module named 'app'"),
            id="agent-termination-message",
        ),
        pytest.param(
            {"exitCode": 137, "reason": "OOMKilled"},
            Failure(
                "Runtime.OutOfMemory",
                "the environment ran out of memory (the container exited with code 137)",
            ),
            id="oom",
        ),
        pytest.param(
            {"exitCode": 2, "reason": "Error", "message": "not json"},
            Failure("Runtime.Error", "not json"),
            id="plain-message",
        ),
    ],
)
def test_failed_pod_carries_its_failure(terminated: dict, failure: Failure) -> None:
    state = {"terminated": {"finishedAt": "2026-01-01T00:01:00Z", **terminated}}
    view = pod_view(raw("Failed", ready=False, state=state))
    assert view.failure == failure
    assert view.finished == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert not view.live


def test_waiting_reason_is_kept_unless_benign() -> None:
    pulling = pod_view(
        raw(
            "Pending",
            ready=False,
            state={"waiting": {"reason": "ErrImageNeverPull", "message": "no"}},
        )
    )
    assert (pulling.waiting_reason, pulling.waiting_message) == ("ErrImageNeverPull", "no")
    creating = pod_view(
        raw("Pending", ready=False, state={"waiting": {"reason": "ContainerCreating"}})
    )
    assert creating.waiting_reason is None


def with_init(pod: dict, *states: dict) -> dict:
    pod["status"]["initContainerStatuses"] = [
        {"name": f"init-{i}", "state": state} for i, state in enumerate(states)
    ]
    return pod


def test_a_failed_init_container_is_the_pods_failure() -> None:
    message = json.dumps(
        {"errorType": "Kappa.CodeTooLarge", "errorMessage": "the code is larger than 262144000"}
    )
    done = {"terminated": {"exitCode": 0, "finishedAt": "2026-01-01T00:00:30Z"}}
    failed = {
        "terminated": {"exitCode": 1, "finishedAt": "2026-01-01T00:01:00Z", "message": message}
    }
    pending = raw("Failed", ready=False, state={"waiting": {"reason": "PodInitializing"}})
    view = pod_view(with_init(pending, done, failed))
    assert view.failure == Failure("Kappa.CodeTooLarge", "the code is larger than 262144000")
    assert view.finished == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)


def test_init_containers_that_succeeded_say_nothing() -> None:
    done = {"terminated": {"exitCode": 0, "finishedAt": "2026-01-01T00:00:30Z"}}
    view = pod_view(with_init(raw(), done, done))
    assert (view.failure, view.finished, view.waiting_reason) == (None, None, None)


def test_a_code_image_that_cannot_be_pulled_is_a_waiting_reason() -> None:
    done = {"terminated": {"exitCode": 0}}
    pulling = {"waiting": {"reason": "ErrImagePull", "message": "reg.example/code:1 not found"}}
    pending = raw("Pending", ready=False, state={"waiting": {"reason": "PodInitializing"}})
    view = pod_view(with_init(pending, done, pulling))
    assert (view.waiting_reason, view.waiting_message) == (
        "ErrImagePull",
        "reg.example/code:1 not found",
    )


def test_terminating_pod_is_not_live() -> None:
    assert not pod_view(raw(deletionTimestamp="2026-01-01T00:02:00Z")).live


def with_conditions(pod: dict, *conditions: dict, **status: object) -> dict:
    pod["status"]["conditions"] = list(conditions)
    pod["status"].update(status)
    return pod


def test_a_pod_that_never_became_ready_was_not_ready() -> None:
    failed = with_conditions(
        raw("Failed", ready=False, state={"terminated": {"exitCode": 1}}),
        {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
        {"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:00:01Z"},
    )
    assert not pod_view(failed).was_ready


def test_a_pod_that_was_ready_and_ended_was_ready() -> None:
    oom = with_conditions(
        raw("Failed", ready=False, state={"terminated": {"exitCode": 137, "reason": "OOMKilled"}}),
        {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
        {"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:05:00Z"},
    )
    view = pod_view(oom)
    assert view.was_ready
    assert view.failure is not None
    assert view.failure.error_type == "Runtime.OutOfMemory"
    assert pod_view(raw()).was_ready  # ready now


def test_unschedulable_pod_says_why() -> None:
    pending = with_conditions(
        raw("Pending", ready=False, state={}),
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 Insufficient memory.",
        },
    )
    pending["status"]["containerStatuses"] = []
    view = pod_view(pending)
    assert (view.pod_reason, view.pod_message) == (
        "Unschedulable",
        "0/1 nodes are available: 1 Insufficient memory.",
    )


def test_evicted_pod_says_why() -> None:
    evicted = raw(
        "Failed",
        ready=False,
        state={"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown"}},
    )
    evicted["status"].update(reason="Evicted", message="The node was low on resource: memory.")
    view = pod_view(evicted)
    assert (view.pod_reason, view.pod_message) == (
        "Evicted",
        "The node was low on resource: memory.",
    )


def test_provisioned_label_is_read() -> None:
    labels = {"kappa.dev/revision": "r1", "kappa.dev/provisioned": "true"}
    assert pod_view(raw(labels=labels)).provisioned
    assert not pod_view(raw()).provisioned


def test_pods_a_pass_deleted_are_terminating_in_what_it_reports() -> None:
    kept = pod_view(raw())
    gone = pod_view(raw(name="fn-abc-2"))
    after = after_deletions([kept, gone], ("fn-abc-2",))
    assert [(p.name, p.terminating, p.live) for p in after] == [
        ("fn-abc-1", False, True),
        ("fn-abc-2", True, False),
    ]
    assert after_deletions([kept], ()) == [kept]


def full_pod(**status: object) -> dict:
    """A pod as the API server sends it, with all a pass reads and much it does not."""
    return {
        "metadata": {
            "name": "fn-abc-1", "namespace": "ns", "uid": "pod-uid", "resourceVersion": "9",
            "generateName": "fn-", "creationTimestamp": "2026-01-01T00:00:00Z",
            "deletionTimestamp": "2026-01-01T00:05:00Z",
            "labels": {"kappa.dev/function": "fn", "kappa.dev/revision": "r1",
                       "kappa.dev/provisioned": "true"},
            "annotations": {"kappa.dev/attempt": "2", "other": "x" * 100},
            "ownerReferences": [
                {"apiVersion": "kappa.dev/v1alpha1", "kind": "Function", "name": "fn",
                 "uid": "fn-uid", "controller": True, "blockOwnerDeletion": True},
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "cm-uid"},
            ],
            "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}],
        },
        "spec": {
            "containers": [{"name": "function", "env": [{"name": "X", "value": "1"}]}],
            "volumes": [{"name": "code", "configMap": {"name": "cm", "items": []}},
                        {"name": "token", "projected": {"sources": []}}],
        },
        "status": {
            "phase": "Running", "podIP": "10.0.0.1", "hostIP": "10.0.0.2",
            "conditions": [
                {"type": "Initialized", "status": "True",
                 "lastTransitionTime": "2026-01-01T00:00:01Z", "lastProbeTime": None},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "lastTransitionTime": "2026-01-01T00:00:09Z"},
            ],
            "containerStatuses": [{
                "name": "function", "image": "i", "imageID": "sha", "restartCount": 0,
                "state": {"terminated": {"exitCode": 1, "reason": "Error",
                                         "finishedAt": "2026-01-01T00:01:00Z",
                                         "message": '{"errorType": "Runtime.X"}'}}}],
            "initContainerStatuses": [{"name": "copy", "state": {"terminated": {"exitCode": 0}}}],
            **status,
        },
    }  # fmt: skip


@pytest.mark.parametrize(
    "status",
    [
        pytest.param({}, id="failed container, was ready"),
        pytest.param({"phase": "Pending", "containerStatuses": [{"name": "function", "state": {
            "waiting": {"reason": "ErrImageNeverPull", "message": "never"}}}]}, id="waiting"),
        pytest.param({"phase": "Failed", "reason": "Evicted", "message": "memory"}, id="evicted"),
        pytest.param({"phase": "Pending", "conditions": [{"type": "PodScheduled",
            "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}]},
            id="unschedulable"),
    ],
)  # fmt: skip
def test_a_kept_pod_carries_every_field_a_pass_reads(status: dict) -> None:
    from kappa.controller.reconcile import _mounted_configmaps  # noqa: PLC0415
    from kappa.invocation.kube_view import pod_owner  # noqa: PLC0415

    pod = full_pod(**status)
    kept = kept_pod(pod)
    assert pod_view(kept) == pod_view(pod)
    assert pod_owner(kept) == pod_owner(pod) == "fn-uid"
    assert _mounted_configmaps([kept]) == _mounted_configmaps([pod]) == {"cm"}
    assert kept["metadata"]["labels"] == pod["metadata"]["labels"]
    # and little else: no managedFields, containers, IPs, other owners or annotations
    assert set(kept["metadata"]) == {
        "name", "namespace", "labels", "annotations", "creationTimestamp",
        "deletionTimestamp", "ownerReferences",
    }  # fmt: skip
    assert kept["metadata"]["annotations"] == {"kappa.dev/attempt": "2"}
    assert len(kept["metadata"]["ownerReferences"]) == 1
    assert kept["spec"] == {"volumes": [{"configMap": {"name": "cm"}}]}
    assert "podIP" not in kept["status"]
    assert len(json.dumps(kept)) < len(json.dumps(pod))


def test_a_kept_function_is_all_but_managed_fields_and_the_last_applied_manifest() -> None:
    function = {"kind": "Function", "metadata": {
        "name": "f", "managedFields": [],
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}",
                        "kappa.dev/code-sha256": "abc"}},
        "spec": {"runtime": "python3.11"}, "status": {}}  # fmt: skip
    assert kept_function(function) == {"kind": "Function", "metadata": {
        "name": "f", "annotations": {"kappa.dev/code-sha256": "abc"}},
        "spec": {"runtime": "python3.11"}, "status": {}}  # fmt: skip
    assert function["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    plain = {"metadata": {"name": "f"}, "spec": {}}
    assert kept_function(plain) == plain
