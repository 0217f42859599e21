"""The gateway in the cluster (charts/kappa, two replicas behind a ClusterIP Service),
fed by its watches of Functions and pods, driven by the real boto3 and AWS CLI: invoke by
`namespace/name` and by ARN, function errors, ListFunctions, the HTTP trigger, 404 and 429,
reserved concurrency held across both replicas, and a pod lost mid-call.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import Operator
from e2e.gateway import (
    ADMISSION_THROTTLE_MESSAGE,
    Gateway,
    burst_at,
    lambda_client_at,
    routes_to_both_pods,
)

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "functions"
AWS = Path(sys.executable).with_name("aws")

HANDLER = """
import json

def handler(event, context):
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    if isinstance(event, dict) and "rawPath" in event:
        return {
            "statusCode": 201,
            "headers": {"content-type": "application/json", "x-kappa": "yes"},
            "body": json.dumps({
                "method": event["requestContext"]["http"]["method"],
                "path": event["rawPath"],
                "query": event.get("queryStringParameters"),
            }),
        }
    return {"event": event, "function": context.function_name,
            "arn": context.invoked_function_arn}
"""


# Sleeps as asked; says when it ran (wall clock: every pod is on the one node) and where.
SLEEPER = """
import socket
import time

def handler(event, context):
    start = time.time()
    time.sleep(event.get("sleep", 0))
    return {"start": start, "end": time.time(), "pod": socket.gethostname()}
"""


def manifest(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": {"inline": {"app.py": HANDLER}},
            **spec,
        },
    }


def ready(functions: client.CustomObjectsApi, namespace: str, name: str) -> bool:
    fn = functions.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    conditions = (fn.get("status") or {}).get("conditions") or []
    return any(
        c["type"] == "Ready"
        and c["status"] == "True"
        and c.get("observedGeneration") == fn["metadata"]["generation"]
        for c in conditions
    )


@pytest.fixture(scope="module")
def hello(
    core: client.CoreV1Api, api: client.ApiClient, gateway: Gateway
) -> Iterator[tuple[str, str]]:
    """A ready python Function `hello` in a namespace of this module's own: (namespace, name)."""
    namespace = f"e2e-gw-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        Cluster.wait(lambda: core.list_namespaced_service_account(namespace).items, "SA", 60)
        functions = client.CustomObjectsApi(api)
        functions.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, manifest("hello")
        )
        Cluster.wait(lambda: ready(functions, namespace, "hello"), "Function hello Ready", 180)
        Cluster.wait(lambda: gateway.knows(namespace, "hello"), "the gateway to see hello", 30)
        yield namespace, "hello"
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")


def test_invoke_by_namespace_and_name(gateway: Gateway, hello: tuple[str, str]) -> None:
    namespace, name = hello
    response = gateway.lambda_client().invoke(
        FunctionName=f"{namespace}/{name}", Payload=json.dumps({"n": 1})
    )
    assert response["StatusCode"] == 200, gateway.logs()
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "event": {"n": 1},
        "function": name,
        "arn": f"arn:aws:lambda:us-east-1:{namespace}:function:{name}",
    }


def test_invoke_by_arn(gateway: Gateway, hello: tuple[str, str]) -> None:
    namespace, name = hello
    arn = f"arn:aws:lambda:us-east-1:{namespace}:function:{name}"
    response = gateway.lambda_client().invoke(FunctionName=arn, Payload=b'"by-arn"')
    assert response["StatusCode"] == 200
    assert json.loads(response["Payload"].read())["event"] == "by-arn"


def test_function_error(gateway: Gateway, hello: tuple[str, str]) -> None:
    namespace, name = hello
    response = gateway.lambda_client().invoke(
        FunctionName=f"{namespace}/{name}", Payload=json.dumps({"fail": True})
    )
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    body = json.loads(response["Payload"].read())
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "asked to fail"


def test_aws_cli_invoke(gateway: Gateway, hello: tuple[str, str], tmp_path: Path) -> None:
    namespace, name = hello
    out = tmp_path / "out.json"
    env = {
        "PATH": str(AWS.parent),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": gateway.identity.access_key_id,
        "AWS_SECRET_ACCESS_KEY": gateway.identity.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    result = subprocess.run(
        [str(AWS), "lambda", "invoke", "--endpoint-url", gateway.url,
         "--function-name", f"{namespace}/{name}", "--payload", '{"from": "cli"}', str(out)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text())["event"] == {"from": "cli"}


def test_list_functions_shows_the_function(gateway: Gateway, hello: tuple[str, str]) -> None:
    namespace, name = hello
    lam = gateway.lambda_client()
    found = [
        f for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]
    ]
    (mine,) = [f for f in found if f["FunctionName"] == f"{namespace}/{name}"]
    assert mine["FunctionArn"] == f"arn:aws:lambda:us-east-1:{namespace}:function:{name}"
    assert mine["Runtime"] == "python3.11"
    assert mine["Handler"] == "app.handler"


def test_http_trigger(gateway: Gateway, hello: tuple[str, str]) -> None:
    namespace, name = hello
    with gateway.open(urllib.request.Request(f"{gateway.url}/fn/{namespace}/{name}/hello?x=1"),
                      timeout=60) as r:  # fmt: skip
        status, headers, body = r.status, r.headers, json.loads(r.read())
    assert status == 201
    assert headers["x-kappa"] == "yes"
    assert body == {"method": "GET", "path": "/hello", "query": {"x": "1"}}


def test_missing_function_is_resource_not_found(gateway: Gateway, namespace: str) -> None:
    lam = gateway.lambda_client()
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as raised:
        lam.invoke(FunctionName=f"{namespace}/nothing-here", Payload=b"{}")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_reserved_concurrency_zero_throttles(
    gateway: Gateway, api: client.ApiClient, namespace: str, operator: Operator
) -> None:
    functions = client.CustomObjectsApi(api)
    functions.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, manifest("off", concurrency={"reserved": 0})
    )
    Cluster.wait(lambda: gateway.knows(namespace, "off"), "the gateway to see off", 30)
    lam = gateway.lambda_client()
    with pytest.raises(lam.exceptions.TooManyRequestsException) as raised:
        lam.invoke(FunctionName=f"{namespace}/off", Payload=b"{}")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def sleeper(name: str, *, timeout: int = 30, **spec: Any) -> dict[str, Any]:
    fn = manifest(name, timeoutSeconds=timeout, **spec)
    fn["spec"]["code"] = {"inline": {"app.py": SLEEPER}}
    return fn


def ready_pods(core: client.CoreV1Api, namespace: str, selector: str) -> list[client.V1Pod]:
    return [
        p
        for p in core.list_namespaced_pod(namespace, label_selector=selector).items
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]


def gateway_pod_urls(api: client.ApiClient, core: client.CoreV1Api) -> list[str]:
    """The gateway pods themselves (by the Deployment's selector), not the Service."""
    deployment = client.AppsV1Api(api).read_namespaced_deployment("kappa-gateway", "kappa-system")
    labels = deployment.spec.selector.match_labels
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    pods = Cluster.wait(
        lambda: found if len(found := ready_pods(core, "kappa-system", selector)) == 2 else None,
        "two ready gateway pods",
        60,
    )
    return [f"http://{p.status.pod_ip}:8000" for p in pods]


def create_ready(
    api: client.ApiClient, namespace: str, fn: dict[str, Any], replicas: int
) -> client.CustomObjectsApi:
    functions = client.CustomObjectsApi(api)
    name = fn["metadata"]["name"]
    functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, fn)

    def up() -> bool:
        got = functions.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        return (
            ready(functions, namespace, name)
            and (got.get("status") or {}).get("readyReplicas") == replicas
        )

    Cluster.wait(up, f"Function {name} Ready with {replicas} pods", 180)
    return functions


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals that hold one instant (checked at every start)."""
    return max(sum(1 for s, e in intervals if s <= t < e) for t, _ in intervals)


def test_reserved_concurrency_holds_across_both_replicas(
    gateway: Gateway,
    api: client.ApiClient,
    core: client.CoreV1Api,
    namespace: str,
    operator: Operator,
) -> None:
    # Two pods of one slot: the function's slots are at its reserved cap, so (per
    # kappa.gateway.admission.when_full) a call that finds no free slot is throttled at
    # once rather than queued, whichever replica it reaches.
    create_ready(api, namespace, sleeper("pair", concurrency={"reserved": 2, "provisioned": 2}), 2)
    urls = gateway_pod_urls(api, core)
    name = f"{namespace}/pair"
    for url in urls:  # both replicas know it, and route to both (Ready) pods
        Cluster.wait(lambda u=url: _knows(u, name), f"{url} to see pair", 30)
        Cluster.wait(
            lambda u=url: routes_to_both_pods(u, name), f"{url} to see both pods of pair", 120
        )

    results = burst_at(name, urls, 3, sleep=10)
    ran = [body for kind, body, _ in results if kind == "ok"]
    refused = [(body, at) for kind, body, at in results if kind == "error"]
    assert all("errorType" not in body for body in ran), results
    intervals = [(body["start"], body["end"]) for body in ran]
    assert max_overlap(intervals) <= 2, results
    # Both slots were used, once each; the other four were throttled, not queued.
    assert len(ran) == 2, (results, gateway.logs())
    assert len({body["pod"] for body in ran}) == 2, results
    assert len(refused) == 4, results
    for error, at in refused:
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 429, error
        assert error["Error"]["Code"] == "TooManyRequestsException", error
        # Refused by admission, not after a wait in the queue.
        assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded", error
        assert error["Error"]["Message"] == ADMISSION_THROTTLE_MESSAGE, error
        assert error["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1", error
        # At once: answered while both slots were still busy, not after one came free.
        assert at < min(end for _, end in intervals), (error, at, intervals)


def _knows(url: str, name: str) -> bool:
    lam = lambda_client_at(url)
    try:
        lam.get_function(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        return False
    return True


def test_pod_deleted_mid_call_gives_a_clear_error_then_recovers(
    gateway: Gateway,
    api: client.ApiClient,
    core: client.CoreV1Api,
    namespace: str,
    operator: Operator,
) -> None:
    # The call sleeps far longer than the wait for it below (a hang guard): it can only end
    # in time because the gateway saw its pod go.
    create_ready(api, namespace, sleeper("doomed", timeout=300), 1)
    name = f"{namespace}/doomed"
    Cluster.wait(lambda: gateway.knows(namespace, "doomed"), "the gateway to see doomed", 30)
    lam = lambda_client_at(gateway.url)
    warm = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
    (pod,) = ready_pods(core, namespace, "kappa.dev/function=doomed")
    assert warm["pod"] == pod.metadata.name

    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["response"] = lam.invoke(FunctionName=name, Payload=b'{"sleep": 240}')
        except ClientError as exc:
            outcome["error"] = exc.response

    def starts() -> int:
        # Raw: the client would otherwise try to decode the log as a Python literal.
        log = core.read_namespaced_pod_log(
            pod.metadata.name, namespace, container="function", _preload_content=False
        ).data.decode()
        return int(log.count("START RequestId"))

    thread = threading.Thread(target=call)
    thread.start()
    Cluster.wait(lambda: starts() >= 2, "the second call to be in the handler", 60)
    assert thread.is_alive()
    core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
    thread.join(50)  # a hang guard, far shorter than the handler's 240 s sleep
    assert not thread.is_alive(), "the call outlived its pod"
    assert "response" not in outcome, (outcome, gateway.logs())
    error = outcome["error"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 502, error
    assert error["Error"]["Code"] == "ServiceException", error
    assert "pod went away during the invocation" in error["Error"]["Message"], error

    replacement = Cluster.wait(
        lambda: [p for p in ready_pods(core, namespace, "kappa.dev/function=doomed")
                 if p.metadata.name != pod.metadata.name],
        "the replacement pod to be Ready",
        180,
    )  # fmt: skip
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["pod"] == replacement[0].metadata.name
