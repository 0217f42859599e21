from typing import Any

import pytest

from kappa.api.function import Durable
from kappa.invocation.kube_view import (
    KubeView,
    function_summary,
    last_modified,
    pod_endpoint,
)
from kappa.invocation.registry import AsyncConfig, Destination, FunctionSpec
from kappa.invocation.routing import Endpoint

REGION = "eu-west-1"
ARN = "arn:aws:lambda:eu-west-1:team:function:echo"


def fn(
    name: str = "echo", namespace: str = "team", *, status: Any = None, **spec: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "Function",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{namespace}-{name}",
            "creationTimestamp": "2024-05-01T12:00:00Z",
        },
        "spec": {
            key: value
            for key, value in {
                "runtime": "python3.12",
                "handler": "app.handler",
                "code": {"inline": {"app.py": "def handler(e, c): return e\n"}},
                **spec,
            }.items()
            if value is not None  # None: leave the field out
        },
    }
    if status is not None:
        obj["status"] = status
    return obj


def pod(
    name: str = "echo-abc",
    function: str | None = "echo",
    namespace: str = "team",
    *,
    ip: str | None = "10.0.0.7",
    ready: str | None = "True",
    phase: str = "Running",
    deleting: bool = False,
    env: list[dict[str, Any]] | None = None,
    ports: list[dict[str, Any]] | None = None,
    owner: str | None = "",
) -> dict[str, Any]:
    """A function pod; controlled by its Function (``owner`` "": the labelled Function's
    uid as ``fn`` makes it; None: no owner; another string: that uid)."""
    labels = {"kappa.dev/component": "function"}
    if function is not None:
        labels["kappa.dev/function"] = function
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    uid = f"uid-{namespace}-{function}" if owner == "" else owner
    if uid is not None:
        metadata["ownerReferences"] = [{"apiVersion": "kappa.dev/v1alpha1", "kind": "Function",
                                        "name": function, "uid": uid, "controller": True}]  # fmt: skip
    if deleting:
        metadata["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    status: dict[str, Any] = {"phase": phase}
    if ip is not None:
        status["podIP"] = ip
    if ready is not None:
        status["conditions"] = [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready},
        ]
    container = {
        "name": "function",
        "env": [{"name": "KAPPA_RUNTIME", "value": "python3.12"}, *(env or [])],
        "ports": ports if ports is not None else [{"name": "invoke", "containerPort": 8080}],
    }
    return {"metadata": metadata, "spec": {"containers": [container]}, "status": status}


def slots(value: str) -> list[dict[str, Any]]:
    return [{"name": "KAPPA_SLOTS", "value": value}]


# ----------------------------------------------------------------- Functions


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            fn(),
            FunctionSpec("team", "echo", ARN, runtime="python3.12", handler="app.handler",
                         last_modified="2024-05-01T12:00:00.000+0000"),
            id="defaults",
        ),
        pytest.param(
            fn(memoryMB=512, timeoutSeconds=30,
               concurrency={"reserved": 4, "perPod": 3, "provisioned": 1},
               **{"async": {"maximumRetryAttempts": 0, "maximumEventAgeSeconds": 60}}),
            FunctionSpec("team", "echo", ARN, runtime="python3.12", handler="app.handler",
                         memory_mb=512, timeout_seconds=30.0, reserved=4, per_pod=3,
                         async_config=AsyncConfig(0, 60),
                         last_modified="2024-05-01T12:00:00.000+0000"),
            id="limits-concurrency-async",
        ),
        pytest.param(
            fn(**{"async": {"onSuccess": {"natsSubject": "done.ok"},
                            "onFailure": {"function": "sink"}}}),
            FunctionSpec("team", "echo", ARN, runtime="python3.12", handler="app.handler",
                         async_config=AsyncConfig(on_success=Destination(nats_subject="done.ok"),
                                                  on_failure=Destination(function="sink")),
                         last_modified="2024-05-01T12:00:00.000+0000"),
            id="async-destinations",
        ),
        pytest.param(
            fn(concurrency={"reserved": 0}),
            FunctionSpec("team", "echo", ARN, runtime="python3.12", handler="app.handler",
                         reserved=0, last_modified="2024-05-01T12:00:00.000+0000"),
            id="reserved-zero",
        ),
        pytest.param(
            fn(status={"arn": "arn:aws:lambda:us-west-2:team:function:echo", "codeSha256": "ab12"}),
            FunctionSpec("team", "echo", "arn:aws:lambda:us-west-2:team:function:echo",
                         runtime="python3.12", handler="app.handler", code_sha256="ab12",
                         last_modified="2024-05-01T12:00:00.000+0000"),
            id="status-arn-and-sha",
        ),
        pytest.param(
            fn(durable={"executionTimeoutSeconds": 600, "retentionPeriodInDays": 3}),
            FunctionSpec("team", "echo", ARN, runtime="python3.12", handler="app.handler",
                         durable=Durable(execution_timeout_seconds=600,
                                         retention_period_in_days=3),
                         last_modified="2024-05-01T12:00:00.000+0000"),
            id="durable",
        ),
        pytest.param(
            fn(runtime="image", handler=None, code={"image": "example.com/fn:1"}),
            FunctionSpec("team", "echo", ARN, runtime="image", handler="",
                         last_modified="2024-05-01T12:00:00.000+0000"),
            id="image-runtime-no-handler",
        ),
    ],
)  # fmt: skip
def test_function_summary(obj: dict[str, Any], expected: FunctionSpec) -> None:
    assert function_summary(obj, REGION) == expected


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        pytest.param(fn(memoryMB="lots"), "memoryMB", id="bad-number"),
        pytest.param(fn(runtime="cobol"), "runtime", id="unknown-runtime"),
        pytest.param(fn(handler="no spaces"), "handler", id="bad-handler"),
        pytest.param({"metadata": {"name": "x"}, "spec": {}}, "without namespace", id="no-namespace"),
    ],
)  # fmt: skip
def test_function_summary_problems(obj: dict[str, Any], problem: str) -> None:
    found = function_summary(obj, REGION)
    assert isinstance(found, str)
    assert problem in found


def test_fields_of_a_newer_crd_are_left_out_not_refused() -> None:
    # Mid-upgrade the API server holds Functions with fields the newer CRD added; the
    # old gateway still routes them (the webhook and CLI stay strict).
    newer = fn(surprise=1, concurrency={"perPod": 2, "perSomethingNew": 3})
    found = function_summary(newer, REGION)
    assert isinstance(found, FunctionSpec), found
    assert found == function_summary(fn(concurrency={"perPod": 2}), REGION)
    # Known fields are checked as before.
    assert "memoryMB" in str(function_summary(fn(surprise=1, memoryMB="lots"), REGION))


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        pytest.param({}, "", id="nothing"),
        pytest.param({"creationTimestamp": "2024-05-01T12:00:00Z"}, "2024-05-01T12:00:00.000+0000",
                     id="created"),
        pytest.param(
            {"creationTimestamp": "2024-05-01T12:00:00Z", "managedFields": [
                {"manager": "kubectl", "operation": "Update", "time": "2024-05-02T08:00:00Z",
                 "fieldsV1": {"f:spec": {}}},
                {"manager": "kappa", "operation": "Update", "subresource": "status",
                 "time": "2024-05-03T08:00:00Z", "fieldsV1": {"f:status": {}}},
                {"manager": "kopf", "operation": "Update", "time": "2024-05-04T08:00:00Z",
                 "fieldsV1": {"f:metadata": {}}},
            ]},
            "2024-05-02T08:00:00.000+0000",
            id="last-spec-write-not-status-or-metadata",
        ),
    ],
)  # fmt: skip
def test_last_modified(metadata: dict[str, Any], expected: str) -> None:
    assert last_modified(metadata) == expected


# ---------------------------------------------------------------------- pods


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(pod(), Endpoint("echo-abc", "10.0.0.7:8080", 1), id="ready-default-slot"),
        pytest.param(pod(env=slots("4")), Endpoint("echo-abc", "10.0.0.7:8080", 4), id="slots"),
        pytest.param(pod(env=slots("zero")), Endpoint("echo-abc", "10.0.0.7:8080", 1),
                     id="bad-slots-count-one"),
        pytest.param(pod(ready="False"), Endpoint("echo-abc", "10.0.0.7:8080", 1, ready=False),
                     id="not-ready"),
        pytest.param(pod(ready=None), Endpoint("echo-abc", "10.0.0.7:8080", 1, ready=False),
                     id="no-conditions-yet"),
        pytest.param(pod(deleting=True), Endpoint("echo-abc", "10.0.0.7:8080", 1, terminating=True),
                     id="terminating"),
        pytest.param(pod(ports=[{"name": "invoke", "containerPort": 9090}]),
                     Endpoint("echo-abc", "10.0.0.7:8080", 1), id="a-declared-port-is-not-used"),
        pytest.param(pod(ports=[]), Endpoint("echo-abc", "10.0.0.7:8080", 1), id="no-ports"),
        pytest.param(pod(ip="fd00::7"), Endpoint("echo-abc", "[fd00::7]:8080", 1), id="ipv6"),
        pytest.param(pod(ip=None), None, id="no-ip-yet"),
        pytest.param(pod(phase="Failed", ready="False"), None, id="ended-failed"),
        pytest.param(pod(phase="Succeeded", ready="False"), None, id="ended-succeeded"),
        pytest.param(pod(function=None), None, id="no-function-label"),
    ],
)  # fmt: skip
def test_pod_endpoint(obj: dict[str, Any], expected: Endpoint | None) -> None:
    found = pod_endpoint(obj)
    if expected is None:
        assert found is None
    else:
        assert found == (("team", "echo"), expected)


def test_image_pod_takes_slots_from_the_agent_container() -> None:
    obj = pod()
    obj["spec"]["containers"] = [
        {"name": "agent", "env": slots("1"), "ports": [{"name": "invoke", "containerPort": 8080}]},
        {"name": "function", "env": [{"name": "AWS_LAMBDA_RUNTIME_API", "value": "x"}]},
    ]
    assert pod_endpoint(obj) == (("team", "echo"), Endpoint("echo-abc", "10.0.0.7:8080", 1))


# ---------------------------------------------------------------------- view

ECHO = ("team", "echo")
WEB = ("team", "web")


def test_function_events_keep_the_reserved_sum_and_order() -> None:
    view = KubeView(REGION)
    assert view.function_event("ADDED", fn("web", concurrency={"reserved": 3})).changed == {WEB}
    assert view.function_event("ADDED", fn(concurrency={"reserved": 2})).changed == {ECHO}
    assert [spec.name for spec in view.functions()] == ["echo", "web"]
    assert view.reserved_total() == 5
    # The same object again (a resync, an unrelated metadata write) changes nothing.
    assert view.function_event("MODIFIED", fn(concurrency={"reserved": 2})).changed == set()
    assert view.function_event("MODIFIED", fn(concurrency={"reserved": 7})).changed == {ECHO}
    assert view.reserved_total() == 10
    assert view.function_event("DELETED", fn("web")).changed == {WEB}
    assert view.reserved_total() == 7
    assert [spec.name for spec in view.functions()] == ["echo"]
    assert view.function(WEB) is None


def test_a_spec_turned_unusable_drops_the_function_and_says_why() -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn(concurrency={"reserved": 2}))
    applied = view.function_event("MODIFIED", fn(memoryMB="lots"))
    assert applied.changed == {ECHO}
    assert len(applied.problems) == 1
    assert "team/echo" in applied.problems[0]
    assert view.function(ECHO) is None
    assert view.reserved_total() == 0


@pytest.mark.parametrize(
    ("events", "endpoints", "slots_total"),
    [
        pytest.param([("ADDED", pod(ip=None, ready=None))], [], 0, id="pending-no-ip"),
        pytest.param([("ADDED", pod(ip=None, ready=None)), ("MODIFIED", pod(ready="False"))],
                     [Endpoint("echo-abc", "10.0.0.7:8080", 1, ready=False)], 0,
                     id="got-ip-not-ready"),
        pytest.param([("ADDED", pod(ready="False")), ("MODIFIED", pod())],
                     [Endpoint("echo-abc", "10.0.0.7:8080", 1)], 1, id="turned-ready"),
        pytest.param([("ADDED", pod()), ("MODIFIED", pod(deleting=True))],
                     [Endpoint("echo-abc", "10.0.0.7:8080", 1, terminating=True)], 0,
                     id="terminating-keeps-endpoint-loses-slots"),
        pytest.param([("ADDED", pod()), ("DELETED", pod())], [], 0, id="deleted"),
        pytest.param([("ADDED", pod()), ("MODIFIED", pod(phase="Failed", ready="False"))], [], 0,
                     id="ended"),
        pytest.param([("ADDED", pod("echo-b", ip="10.0.0.8")), ("ADDED", pod("echo-a"))],
                     [Endpoint("echo-a", "10.0.0.7:8080", 1), Endpoint("echo-b", "10.0.0.8:8080", 1)],
                     2, id="two-pods-ordered-by-name"),
    ],
)  # fmt: skip
def test_pod_events(
    events: list[tuple[str, dict[str, Any]]], endpoints: list[Endpoint], slots_total: int
) -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    for event_type, obj in events:
        view.pod_event(event_type, obj)
    assert list(view.endpoints(ECHO)) == endpoints
    assert view.cluster_slots() == slots_total


def test_slots_and_port_come_from_the_function_not_the_pod() -> None:
    """A pod that says KAPPA_SLOTS=1000000 or another port gets the Function's perPod at
    the agent's port: it cannot inflate the cluster's capacity or move the calls."""
    view = KubeView(REGION)
    view.function_event("ADDED", fn(concurrency={"perPod": 2}))
    view.pod_event("ADDED", pod(env=slots("1000000"),
                                ports=[{"name": "invoke", "containerPort": 9999}]))  # fmt: skip
    assert list(view.endpoints(ECHO)) == [Endpoint("echo-abc", "10.0.0.7:8080", 2)]
    assert view.cluster_slots() == 2


@pytest.mark.parametrize(
    "rogue",
    [
        pytest.param(pod("rogue-1", owner=None), id="no-owner"),
        pytest.param(pod("rogue-1", owner="uid-of-something-else"), id="another-uid"),
        pytest.param(pod("rogue-1", owner="uid-other-echo"), id="a-uid-of-another-namespace"),
    ],
)
def test_a_pod_the_function_does_not_control_gets_no_call(rogue: dict[str, Any]) -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    view.function_event("ADDED", fn(namespace="other"))
    view.pod_event("ADDED", rogue)
    assert view.endpoints(ECHO) == ()
    assert view.cluster_slots() == 0
    view.pod_event("ADDED", pod())
    assert [e.pod for e in view.endpoints(ECHO)] == ["echo-abc"]


def test_pod_events_name_the_function_whose_endpoints_changed() -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    view.function_event("ADDED", fn("web"))
    assert view.pod_event("ADDED", pod(ip=None, ready=None)).changed == set()
    assert view.pod_event("MODIFIED", pod(ready="False")).changed == {ECHO}
    assert view.pod_event("MODIFIED", pod(ready="False")).changed == set()
    assert view.pod_event("MODIFIED", pod()).changed == {ECHO}
    assert view.pod_event("ADDED", pod("web-1", "web", ip="10.0.0.9")).changed == {WEB}
    assert view.cluster_slots() == 2
    assert view.pod_event("DELETED", pod()).changed == {ECHO}
    assert view.endpoints(ECHO) == ()
    assert view.cluster_slots() == 1


def test_resync_replaces_everything_and_names_only_what_changed() -> None:
    view = KubeView(REGION)
    view.resync_functions([fn(concurrency={"reserved": 1}), fn("web")])
    view.resync_pods([pod(), pod("web-1", "web", ip="10.0.0.9")])
    assert view.cluster_slots() == 2
    # After a 410: echo's reservation changed, web went away, a new function came.
    functions = view.resync_functions([fn(concurrency={"reserved": 5}), fn("new")])
    assert functions.changed == {ECHO, WEB, ("team", "new")}
    assert view.endpoints(WEB) == ()  # its Function is gone: its pod gets no call
    assert view.cluster_slots() == 1
    assert [spec.name for spec in view.functions()] == ["echo", "new"]
    assert view.reserved_total() == 5
    # echo's pod unchanged, web's pod gone, a second echo pod appeared.
    pods = view.resync_pods([pod(), pod("echo-b", ip="10.0.0.8", ready="False")])
    assert pods.changed == {ECHO}
    assert [e.pod for e in view.endpoints(ECHO)] == ["echo-abc", "echo-b"]
    assert view.endpoints(WEB) == ()
    assert view.cluster_slots() == 1
    assert view.resync_pods([pod(), pod("echo-b", ip="10.0.0.8", ready="False")]).changed == set()


def test_pods_seen_before_their_function_are_routed_once_it_arrives() -> None:
    # Pods and Functions arrive on separate watches, in any order; a pod is routed to
    # only once its Function is known to control it, and no longer once it is gone.
    view = KubeView(REGION)
    view.pod_event("ADDED", pod())
    assert view.function(ECHO) is None
    assert view.endpoints(ECHO) == ()
    assert view.function_event("ADDED", fn()).changed == {ECHO}
    assert [e.pod for e in view.endpoints(ECHO)] == ["echo-abc"]
    assert view.function_event("DELETED", fn()).changed == {ECHO}
    assert view.endpoints(ECHO) == ()
    assert view.cluster_slots() == 0


def cq(name: str = "default", namespace: str = "team", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "ConcurrencyQuota",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def test_quota_events_give_the_tightest_limit_of_the_namespace() -> None:
    view = KubeView(REGION)
    assert view.namespace_limit("team") is None
    view.quota_event("ADDED", cq(maxConcurrency=10))
    view.quota_event("ADDED", cq("tenant", maxConcurrency=4))
    view.quota_event("ADDED", cq(namespace="other", maxConcurrency=1))
    assert view.namespace_limit("team") == 4
    view.quota_event("MODIFIED", cq("tenant", maxConcurrency=40))
    assert view.namespace_limit("team") == 10
    view.quota_event("DELETED", cq())
    view.quota_event("DELETED", cq("tenant"))
    assert view.namespace_limit("team") is None
    assert view.namespace_limit("other") == 1


def test_quota_events_give_the_namespaces_queued_events_bound() -> None:
    view = KubeView(REGION)
    view.quota_event("ADDED", cq(maxConcurrency=10))
    assert view.queued_event_limit("team") is None  # no maxQueuedEvents: no bound
    view.quota_event("ADDED", cq("tenant", maxConcurrency=10, maxQueuedEvents=300))
    assert view.queued_event_limit("team") == 300
    view.quota_event("DELETED", cq("tenant"))
    assert view.queued_event_limit("team") is None


def test_quota_events_give_the_namespaces_queued_bytes_bound() -> None:
    view = KubeView(REGION)
    view.quota_event("ADDED", cq(maxConcurrency=10, maxQueuedEvents=5))
    assert view.queued_bytes_limit("team") is None  # no maxQueuedBytes: no bound
    view.quota_event("ADDED", cq("tenant", maxConcurrency=10, maxQueuedBytes=65536))
    assert (view.queued_event_limit("team"), view.queued_bytes_limit("team")) == (5, 65536)
    view.quota_event("DELETED", cq("tenant"))
    assert view.queued_bytes_limit("team") is None


def test_an_invalid_quota_counts_as_absent_and_says_why() -> None:
    view = KubeView(REGION)
    view.quota_event("ADDED", cq(maxConcurrency=10))
    applied = view.quota_event("MODIFIED", cq(maxConcurrency=1, maxReserved=2))
    assert view.namespace_limit("team") is None
    (problem,) = applied.problems
    assert "ConcurrencyQuota team/default is ignored" in problem
    assert "maxReserved is greater than spec.maxConcurrency" in problem


def test_resync_quotas_forgets_those_gone() -> None:
    view = KubeView(REGION)
    view.resync_quotas([cq(maxConcurrency=3), cq(namespace="other", maxConcurrency=5)])
    view.resync_quotas([cq(namespace="other", maxConcurrency=6)])
    assert view.namespace_limit("team") is None
    assert view.namespace_limit("other") == 6


def test_namespace_slots_count_ready_pods_of_the_namespace() -> None:
    view = KubeView(REGION)
    for function in (fn(), fn("web", concurrency={"perPod": 3}), fn("x", namespace="other")):
        view.function_event("ADDED", function)
    view.pod_event("ADDED", pod())
    view.pod_event("ADDED", pod("web-1", "web", ip="10.0.0.9"))
    view.pod_event("ADDED", pod("x-1", "x", namespace="other", ip="10.0.0.10"))
    view.pod_event("ADDED", pod("echo-b", ip="10.0.0.11", ready="False"))
    assert (view.namespace_slots("team"), view.namespace_slots("other")) == (4, 1)
    view.pod_event("MODIFIED", pod(deleting=True))
    view.pod_event("DELETED", pod("x-1", "x", namespace="other"))
    assert (view.namespace_slots("team"), view.namespace_slots("other")) == (3, 0)


def test_a_function_with_calls_per_runtime_has_that_many_slots_per_pod() -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn(concurrency={"perPod": 2, "perRuntime": 25}))
    view.pod_event("ADDED", pod(env=slots("1")))  # what the pod says does not count
    assert list(view.endpoints(ECHO)) == [Endpoint("echo-abc", "10.0.0.7:8080", 50)]
    assert view.cluster_slots() == 50
    summary = view.function(ECHO)
    assert summary is not None
    assert summary.per_pod == 50


def test_a_pod_endpoint_says_its_processes_times_their_calls() -> None:
    env = [*slots("2"), {"name": "AWS_LAMBDA_MAX_CONCURRENCY", "value": "8"}]
    found = pod_endpoint(pod(env=env))
    assert found is not None
    assert found[1].slots == 16
