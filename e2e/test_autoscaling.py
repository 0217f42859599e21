"""Autoscaling on the real cluster, through the real gateway (two replicas) and operator:
a burst scales a function out and every call succeeds; an idle function goes to zero
pods and the next call starts one; provisioned environments stay warm without traffic;
reserved concurrency 2 throttles a third concurrent call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import own_namespace
from e2e.gateway import burst_at, metric
from e2e.test_gateway import (
    GROUP,
    PLURAL,
    VERSION,
    Gateway,
    gateway_pod_urls,
    lambda_client_at,
    ready,
    sleeper,
)


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    """A namespace of this test's own (prefixed with the branch that made these tests)."""
    with own_namespace(core, "autoscale") as name:
        yield name


def get(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    return client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    )


def condition(fn: dict[str, Any], kind: str) -> dict[str, Any]:
    conditions = (fn.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), {})


def live_pods(core: client.CoreV1Api, namespace: str, name: str) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"kappa.dev/function={name}").items
    return [p for p in pods if p.metadata.deletion_timestamp is None]


def create(
    api: client.ApiClient, gateway: Gateway, namespace: str, fn: dict[str, Any]
) -> client.CustomObjectsApi:
    functions = client.CustomObjectsApi(api)
    name = fn["metadata"]["name"]
    functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, fn)
    Cluster.wait(lambda: ready(functions, namespace, name), f"Function {name} Ready", 180)
    Cluster.wait(lambda: gateway.knows(namespace, name), f"the gateway to see {name}", 30)
    return functions


def call(url: str, name: str, payload: dict[str, Any]) -> tuple[str, Any]:
    try:
        response = lambda_client_at(url).invoke(FunctionName=name, Payload=json.dumps(payload))
    except ClientError as exc:
        return "error", exc.response
    return "ok", json.loads(response["Payload"].read())


def burst(url: str, name: str, calls: int = 6, sleep: float = 2) -> list[tuple[str, Any]]:
    """``calls`` calls of ``sleep`` seconds to ``name``, all started at once."""
    return [(kind, body) for kind, body, _ in burst_at(name, [url], calls, sleep)]


def test_burst_scales_out_and_every_call_succeeds(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    create(api, gateway, ns, sleeper("burst"))
    assert len(live_pods(core, ns, "burst")) == 1  # a new Function starts one pod
    results = burst(gateway.url, f"{ns}/burst")

    assert all(kind == "ok" and "errorType" not in body for kind, body in results), (
        results,
        gateway.logs(),
    )
    used = {body["pod"] for _, body in results}
    assert len(used) >= 3, results  # scaled out: the calls ran on several pods
    fn = get(api, ns, "burst")
    assert fn["status"]["desiredReplicas"] >= 3, fn["status"]
    assert fn["status"]["lastScaleTime"]


def test_idle_function_scales_to_zero_and_starts_again_on_a_call(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    # Idle time counts from the Function's first decision, not from its pod's readiness:
    # long enough for the first pod to load the code on a busy machine (CodeReady True),
    # which the status must still say once no pod is left.
    create(api, gateway, ns, sleeper("nap", scaling={"scaleToZeroAfterSeconds": 20}))
    Cluster.wait(
        lambda: condition(get(api, ns, "nap"), "CodeReady").get("status") == "True",
        "CodeReady True on nap",
        60,
    )
    Cluster.wait(lambda: not live_pods(core, ns, "nap"), "no pod of nap left", 120)

    def scaled_to_zero() -> dict[str, Any] | None:
        fn = get(api, ns, "nap")
        status = fn.get("status") or {}
        summary = condition(fn, "Ready")
        if status.get("desiredReplicas") == 0 and summary.get("reason") == "ScaledToZero":
            return fn
        return None

    fn = Cluster.wait(scaled_to_zero, "status desiredReplicas 0, Ready ScaledToZero", 30)
    assert condition(fn, "Ready")["status"] == "True"
    assert condition(fn, "CodeReady")["status"] == "True"  # the code loaded once; still known
    assert condition(fn, "Scaled")["reason"] == "ScaledToZero"
    assert fn["status"]["readyReplicas"] == 0
    events = core.list_namespaced_event(ns, field_selector="involvedObject.name=nap").items
    assert any(e.reason == "ScaledToZero" for e in events), [e.reason for e in events]

    kind, body = call(gateway.url, f"{ns}/nap", {})  # a cold start from zero pods
    assert kind == "ok", (body, gateway.logs())
    assert body["pod"] in {p.metadata.name for p in live_pods(core, ns, "nap")}


def test_provisioned_environments_stay_warm_without_traffic(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    fn = sleeper("warm", concurrency={"provisioned": 2}, scaling={"scaleToZeroAfterSeconds": 1})
    create(api, gateway, ns, fn)
    Cluster.wait(
        lambda: (get(api, ns, "warm").get("status") or {}).get("provisionedReady") == 2,
        "provisionedReady 2",
        120,
    )
    before = sorted(p.metadata.name for p in live_pods(core, ns, "warm"))
    assert len(before) == 2
    # A Function without a floor, idle for far longer (20 s) than `warm` may be (1 s) and
    # made after it, going to zero shows the autoscaler has had time to scale `warm` in.
    create(api, gateway, ns, sleeper("control", scaling={"scaleToZeroAfterSeconds": 20}))
    Cluster.wait(lambda: not live_pods(core, ns, "control"), "no pod of control left", 180)
    after = live_pods(core, ns, "warm")
    assert sorted(p.metadata.name for p in after) == before
    assert all(p.metadata.labels.get("kappa.dev/provisioned") == "true" for p in after)
    env = {e.name: e.value for e in after[0].spec.containers[0].env}
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    status = get(api, ns, "warm")
    assert status["status"]["provisionedReady"] == 2
    assert status["status"]["desiredReplicas"] == 2
    assert condition(status, "Scaled")["reason"] == "ProvisionedFloor"


def test_reserved_two_throttles_a_third_concurrent_call(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    create(api, gateway, ns, sleeper("capped", concurrency={"reserved": 2}))
    # One gateway replica: its own counts (in flight and queued) are what it admits by.
    url = gateway_pod_urls(api, core)[0]
    name = f"{ns}/capped"
    Cluster.wait(lambda: call(url, name, {})[0] == "ok", "a first call through one replica", 60)
    results: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def one() -> None:
        outcome = call(url, name, {"sleep": 10})  # the third comes while both still run
        with lock:
            results.append(outcome)

    def in_hand() -> float:
        """Calls the replica holds, running or queued: what it admits by."""
        return metric(url, "kappa_gateway_concurrent_executions") + metric(
            url, "kappa_gateway_queued_invocations"
        )

    # One after the other: the third arrives once the replica holds the first two.
    baseline = in_hand()
    threads = [threading.Thread(target=one) for _ in range(3)]
    for held, thread in enumerate(threads):
        thread.start()
        if held < 2:
            Cluster.wait(lambda h=held: in_hand() >= baseline + h + 1, f"call {held + 1} held", 30)
    for thread in threads:
        thread.join(60)

    ran = [body for kind, body in results if kind == "ok"]
    refused = [body for kind, body in results if kind == "error"]
    assert len(ran) == 2, (results, gateway.logs())
    assert all("errorType" not in body for body in ran), results
    (error,) = refused
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429, error
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded", error
    # The two calls ran at once, on two pods: the autoscaler scaled to the cap, not past it.
    assert len({body["pod"] for body in ran}) == 2, results
    assert len(live_pods(core, ns, "capped")) <= 2
