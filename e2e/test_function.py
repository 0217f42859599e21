"""A Function, from `kubectl apply` to running pods and back, on a real cluster with
the real operator: Ready, invoked through its agent (the gateway comes later),
rolled to new code without a failed call, broken code shown in its status,
deleted without leftovers, and converged again after an operator restart.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import REPO, Operator
from kappa.resources.code_configmap import code_sha256

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "functions"

HELLO = """
import os
def handler(event, context):
    return {"greeting": os.environ.get("GREETING", "hello"), "event": event,
            "function": context.function_name, "version": VERSION}
VERSION = %d
"""


def function(
    name: str, *, version: int = 1, code: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": code or {"inline": {"app.py": HELLO % version}},
            **spec,
        },
    }


@pytest.fixture
def functions(api: client.ApiClient, namespace: str, operator: Operator) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def get_function(functions: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return functions.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)


def condition(fn: dict[str, Any], kind: str) -> dict[str, Any] | None:
    conditions = (fn.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), None)


def wait_condition(
    functions: client.CustomObjectsApi,
    namespace: str,
    name: str,
    kind: str,
    status: str,
    timeout: float = 180,
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        fn = get_function(functions, namespace, name)
        found = condition(fn, kind)
        generation = fn["metadata"]["generation"]
        if found and found["status"] == status and found.get("observedGeneration") == generation:
            return found
        return None

    return Cluster.wait(probe, f"Function {name} {kind}={status}", timeout)


def ready_pods(core: client.CoreV1Api, namespace: str, name: str) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"kappa.dev/function={name}").items
    return [
        p
        for p in pods
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]


def code_configmaps(core: client.CoreV1Api, namespace: str, name: str) -> list[str]:
    maps = core.list_namespaced_config_map(namespace, label_selector=f"kappa.dev/function={name}")
    return [m.metadata.name for m in maps.items]


def invoke(pod_ip: str, event: Any) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        f"http://{pod_ip}:8080/invoke", data=json.dumps(event).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), json.loads(response.read())


def test_apply_gives_a_ready_function_that_runs_the_handler(
    functions: client.CustomObjectsApi, core: client.CoreV1Api, namespace: str
) -> None:
    functions.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        function("hello", env=[{"name": "GREETING", "value": "hej"}]),
    )
    wait_condition(functions, namespace, "hello", "Ready", "True")
    fn = get_function(functions, namespace, "hello")
    assert fn["status"]["arn"] == f"arn:aws:lambda:us-east-1:{namespace}:function:hello"
    assert fn["status"]["readyReplicas"] == 1
    assert condition(fn, "CodeReady")["status"] == "True"

    (pod,) = ready_pods(core, namespace, "hello")
    assert pod.metadata.owner_references[0].kind == "Function"
    status, headers, body = invoke(pod.status.pod_ip, {"n": 1})
    assert status == 200
    assert "X-Amz-Function-Error" not in headers
    assert body == {"greeting": "hej", "event": {"n": 1}, "function": "hello", "version": 1}


BOTO3 = """
import boto3, botocore
def handler(event, context):
    client = boto3.client("lambda", region_name="us-east-1")
    return {"boto3": boto3.__version__, "botocore": botocore.__version__, "file": boto3.__file__,
            "durable": hasattr(client, "checkpoint_durable_execution")}
"""


def test_python_handlers_import_the_boto3_the_image_ships(
    functions: client.CustomObjectsApi, core: client.CoreV1Api, namespace: str
) -> None:
    # As on Lambda, boto3 comes with the runtime; one recent enough for the durable API.
    pins = (REPO / "runtime-images/runtime-python3.11/requirements.txt").read_text()
    boto3_pin = re.search(r"^boto3==(\S+)", pins, re.MULTILINE)
    assert boto3_pin is not None
    manifest = function("sdk", code={"inline": {"app.py": BOTO3}})
    functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    wait_condition(functions, namespace, "sdk", "Ready", "True")
    (pod,) = ready_pods(core, namespace, "sdk")
    status, _, body = invoke(pod.status.pod_ip, {})
    assert status == 200
    assert body["boto3"] == body["botocore"] == boto3_pin.group(1)
    assert body["file"].startswith("/var/runtime/boto3/")
    assert body["durable"] is True


def test_new_code_rolls_pods_without_a_failed_call(
    functions: client.CustomObjectsApi, core: client.CoreV1Api, namespace: str
) -> None:
    functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, function("roll"))
    wait_condition(functions, namespace, "roll", "Ready", "True")
    old_maps = code_configmaps(core, namespace, "roll")
    assert len(old_maps) == 1
    results: list[int] = []
    errors: list[str] = []
    stale_routes: list[str] = []
    stop = threading.Event()

    def caller() -> None:
        # Route like a gateway would: any ready pod that is not terminating.
        while not stop.is_set():
            pods = ready_pods(core, namespace, "roll")
            if not pods:
                errors.append("no ready pod")
                time.sleep(0.2)
                continue
            try:
                results.append(invoke(pods[0].status.pod_ip, {})[2]["version"])
            except (urllib.error.URLError, OSError, KeyError) as exc:
                # This caller routes from a list read just before the call: a pod deleted
                # in between (its agent stops taking calls) is a stale route of the test's,
                # as a gateway's watch drops it. Anything else is a failed call.
                if pods[0].metadata.name in {
                    p.metadata.name for p in ready_pods(core, namespace, "roll")
                }:
                    errors.append(repr(exc))
                else:
                    stale_routes.append(repr(exc))
            time.sleep(0.05)

    thread = threading.Thread(target=caller)
    thread.start()
    try:
        Cluster.wait(lambda: len(results) >= 5, "calls answered by version 1", 60)
        functions.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            "roll",
            {"spec": {"code": {"inline": {"app.py": HELLO % 2}}}},
        )
        Cluster.wait(lambda: results and results[-1] == 2, "calls to reach version 2", 180)
        switched = len(results)
        Cluster.wait(lambda: len(results) >= switched + 20, "more calls after the switch", 60)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(stale_routes) <= 1, stale_routes  # one old pod, deleted once
    assert results[0] == 1
    assert results[-1] == 2
    # Once the new code answered, the old never did again: no mixing after the switch.
    assert 1 not in results[results.index(2) :]
    wait_condition(functions, namespace, "roll", "Ready", "True")
    (new_map,) = Cluster.wait(
        lambda: maps if len(maps := code_configmaps(core, namespace, "roll")) == 1 else None,
        "the old code ConfigMap to go",
        60,
    )
    # The one left is the new code's, not the old one kept by mistake.
    assert new_map not in old_maps


def test_broken_handler_shows_init_error_in_status(
    functions: client.CustomObjectsApi, core: client.CoreV1Api, namespace: str
) -> None:
    broken = function("broken", code={"inline": {"app.py": "import no_such_module\n"}})
    functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, broken)
    ready = wait_condition(functions, namespace, "broken", "Ready", "False")
    Cluster.wait(
        lambda: (
            condition(get_function(functions, namespace, "broken"), "Ready")["reason"]
            == "InitError"
        ),
        "Ready reason InitError",
        120,
    )
    fn = get_function(functions, namespace, "broken")
    ready = condition(fn, "Ready")
    assert ready["message"].startswith("Runtime.ImportModuleError")
    assert "no_such_module" in ready["message"]
    assert condition(fn, "CodeReady")["status"] == "False"

    # Back-off, not a crash loop: the failed pod waits 10 s before its replacement, so
    # in the next 8 s at most two pods of the Function ever exist.
    seen: set[str] = set()
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(namespace, label_selector="kappa.dev/function=broken")
        seen |= {p.metadata.name for p in pods.items}
        time.sleep(0.2)
    assert 1 <= len(seen) <= 2, sorted(seen)


def test_missing_configmap_is_reported_and_no_pod_is_made(
    functions: client.CustomObjectsApi, core: client.CoreV1Api, namespace: str
) -> None:
    missing = function("nocode", code={"configMap": {"name": "does-not-exist"}})
    functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, missing)
    Cluster.wait(
        lambda: (
            (condition(get_function(functions, namespace, "nocode"), "Ready") or {}).get("reason")
            == "ConfigMapNotFound"
        ),
        "Ready reason ConfigMapNotFound",
        60,
    )
    assert (
        "does-not-exist"
        in condition(get_function(functions, namespace, "nocode"), "Ready")["message"]
    )
    assert (
        core.list_namespaced_pod(namespace, label_selector="kappa.dev/function=nocode").items == []
    )
    # Creating the ConfigMap is enough: the Function becomes Ready without being touched.
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="does-not-exist"), data={"app.py": HELLO % 7}
        ),
    )
    wait_condition(functions, namespace, "nocode", "Ready", "True")

    # An edit of the ConfigMap rolls the Function (the operator watches it): the status
    # names the new content's hash and the pods of the old revision are replaced.
    def revisions() -> set[str]:
        pods = core.list_namespaced_pod(namespace, label_selector="kappa.dev/function=nocode")
        return {
            p.metadata.labels["kappa.dev/revision"]
            for p in pods.items
            if p.metadata.deletion_timestamp is None
        }

    old = revisions()
    assert len(old) == 1, old
    assert get_function(functions, namespace, "nocode")["status"]["codeSha256"] == code_sha256(
        {"app.py": HELLO % 7}
    )
    edited = {"app.py": HELLO % 8}
    core.patch_namespaced_config_map("does-not-exist", namespace, {"data": edited})

    def rolled() -> bool:
        status = get_function(functions, namespace, "nocode").get("status") or {}
        now = revisions()
        return status.get("codeSha256") == code_sha256(edited) and bool(now) and not now & old

    Cluster.wait(rolled, "the Function to roll to the edited ConfigMap", 120)


def test_delete_removes_pods_and_code(
    functions: client.CustomObjectsApi, core: client.CoreV1Api, namespace: str
) -> None:
    functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, function("gone"))
    wait_condition(functions, namespace, "gone", "Ready", "True")
    functions.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "gone")
    selector = "kappa.dev/function=gone"

    def nothing_left() -> bool:
        return not core.list_namespaced_pod(namespace, label_selector=selector).items and not (
            core.list_namespaced_config_map(namespace, label_selector=selector).items
        )

    Cluster.wait(nothing_left, "pods and ConfigMap of Function gone to be deleted", 120)


def test_operator_restart_converges_without_duplicate_or_orphan_pods(
    functions: client.CustomObjectsApi,
    core: client.CoreV1Api,
    namespace: str,
    operator: Operator,
) -> None:
    functions.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, function("steady", concurrency={"provisioned": 2})
    )
    wait_condition(functions, namespace, "steady", "Ready", "True")
    Cluster.wait(lambda: len(ready_pods(core, namespace, "steady")) == 2, "2 ready pods", 120)
    before = sorted(p.metadata.name for p in ready_pods(core, namespace, "steady"))

    operator.stop()
    core.delete_namespaced_pod(before[0], namespace)  # lost while nobody watches
    operator.start()

    def converged() -> list[str] | None:
        pods = core.list_namespaced_pod(namespace, label_selector="kappa.dev/function=steady").items
        live = sorted(p.metadata.name for p in pods if p.metadata.deletion_timestamp is None)
        ready = ready_pods(core, namespace, "steady")
        return live if len(live) == 2 and len(ready) == 2 else None

    after = Cluster.wait(converged, "2 ready pods again", 180)
    assert before[1] in after  # the surviving pod was kept, not replaced
    time.sleep(5)  # a few more reconciles must not add anything
    assert converged() == after


NODE_HANDLER = """
exports.handler = async (event, context) => ({node: process.version, event, fn: context.functionName});
"""
PROVIDED_BOOTSTRAP = """#!/usr/bin/python3
# A custom runtime: the Lambda Runtime API loop, by hand.
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    body = json.dumps({"provided": True, "event": event}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"""


@pytest.mark.parametrize(
    ("runtime", "handler", "files", "expected"),
    [
        pytest.param(
            "nodejs20", "index.handler", {"index.js": NODE_HANDLER}, {"node": "v20"}, id="nodejs20"
        ),
        pytest.param(
            "nodejs22", "index.handler", {"index.js": NODE_HANDLER}, {"node": "v22"}, id="nodejs22"
        ),
        pytest.param(
            "provided", None, {"bootstrap": PROVIDED_BOOTSTRAP}, {"provided": True}, id="provided"
        ),
    ],
)
def test_other_runtimes_run_their_handlers(
    functions: client.CustomObjectsApi,
    core: client.CoreV1Api,
    namespace: str,
    runtime: str,
    handler: str | None,
    files: dict[str, str],
    expected: dict[str, Any],
) -> None:
    manifest = function("rt", code={"inline": files}, runtime=runtime)
    if handler is None:
        del manifest["spec"]["handler"]
    else:
        manifest["spec"]["handler"] = handler
    functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    wait_condition(functions, namespace, "rt", "Ready", "True")
    (pod,) = ready_pods(core, namespace, "rt")
    status, headers, body = invoke(pod.status.pod_ip, {"k": "v"})
    assert status == 200
    assert "X-Amz-Function-Error" not in headers
    assert body["event"] == {"k": "v"}
    for key, value in expected.items():
        assert (
            str(body[key]).startswith(str(value)) if isinstance(value, str) else body[key] == value
        )
