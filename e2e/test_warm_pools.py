"""Warm pools on the real cluster: a WarmPool keeps a generic python3.11 pod ready; a call
to a Function at zero pods is answered by that very pod, specialised with the Function's
code and settings and adopted as its pod; the pool makes a new one in its place.

The call's time from the client is printed (a benchmark, not a claim:
`make bench-coldstart` compares the paths side by side).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import own_namespace
from e2e.gateway import metric
from e2e.test_autoscaling import create, live_pods
from e2e.test_cold_start import invoke
from e2e.test_gateway import Gateway, gateway_pod_urls, sleeper

GROUP, VERSION = "kappa.dev", "v1alpha1"


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    with own_namespace(core, "warmpool") as name:
        yield name


def pool_pods(core: client.CoreV1Api, namespace: str) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(namespace, label_selector="kappa.dev/pool=py").items
    return [
        p
        for p in pods
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]


def condition(custom: client.CustomObjectsApi, namespace: str, name: str, kind: str) -> Any:
    found = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functions", name)
    conditions = (found.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), None)


def pool_calls(urls: list[str], namespace: str, name: str) -> float:
    series = (
        f'kappa_gateway_cold_starts_total{{function="{name}",namespace="{namespace}",path="pool"}}'
    )
    return sum(metric(url, series) for url in urls)


def pool_status(custom: client.CustomObjectsApi, namespace: str) -> dict[str, Any]:
    found = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "warmpools", "py")
    status: dict[str, Any] = found.get("status") or {}
    return status


@pytest.mark.timeout(900)
def test_a_call_at_zero_pods_is_answered_by_the_pools_pod_and_the_pool_refills(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "warmpools", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "WarmPool", "metadata": {"name": "py"},
        "spec": {"runtime": "python3.11", "memoryMB": 128, "size": {"min": 1, "max": 2}},
    })  # fmt: skip
    Cluster.wait(lambda: len(pool_pods(core, ns)) == 1, "one ready pool pod", 180)
    create(api, gateway, ns, sleeper("warm", scaling={"scaleToZeroAfterSeconds": 0}))
    Cluster.wait(lambda: not live_pods(core, ns, "warm"), "no pod of warm left", 180)
    [waiting] = Cluster.wait(lambda: p if len(p := pool_pods(core, ns)) == 1 else None,
                             "a ready pool pod", 180)  # fmt: skip

    # The pod shows the digest of its token, never the token: reading pods does not let
    # anyone claim one (the operator derives tokens from its key, a Secret of its own).
    variables = {e.name: e.value for e in waiting.spec.containers[0].env}
    assert len(variables["KAPPA_POOL_TOKEN_SHA256"]) == 64
    assert "KAPPA_POOL_TOKEN" not in variables
    key = core.read_namespaced_secret("kappa-pool-key", "kappa-system")
    assert len(base64.b64decode(key.data["key"])) == 32

    eligible = Cluster.wait(lambda: condition(custom, ns, "warm", "PoolEligible"),
                            "the PoolEligible condition", 60)  # fmt: skip
    assert (eligible["status"], eligible["reason"]) == ("True", "Eligible"), eligible
    urls = gateway_pod_urls(api, core)
    before = pool_calls(urls, ns, "warm")

    started = time.monotonic()
    pod, cold = invoke(gateway, ns, "warm")
    took = time.monotonic() - started
    print(f"cold call through the pool: {took * 1000:.0f} ms (pod {pod})")  # noqa: T201
    assert cold == "true"
    assert pod == waiting.metadata.name  # the pool's pod, not a new one

    adopted = core.read_namespaced_pod(pod, ns)
    labels, owners = adopted.metadata.labels, adopted.metadata.owner_references
    assert labels["kappa.dev/function"] == "warm"
    assert labels["kappa.dev/component"] == "function"
    assert "kappa.dev/pool" not in labels
    assert adopted.metadata.annotations["kappa.dev/claimed-from"] == "py"
    assert [(o.kind, o.name, o.controller) for o in owners] == [("Function", "warm", True)]
    assert pool_calls(urls, ns, "warm") == before + 1  # the metric's path says pool

    # The pool makes another in its place and counts the claim.
    Cluster.wait(lambda: any(p.metadata.name != pod for p in pool_pods(core, ns)),
                 "a new ready pool pod", 180)  # fmt: skip
    Cluster.wait(lambda: pool_status(custom, ns).get("claims") == 1, "the claim counted", 60)

    def pool_ready() -> bool:  # a claim raises the target for a minute (its reactive part)
        conditions = pool_status(custom, ns).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    Cluster.wait(pool_ready, "the pool Ready at its target again", 180)

    def claimed_event() -> bool:
        events = core.list_namespaced_event(ns, field_selector="involvedObject.name=warm")
        return any(e.reason == "PodsClaimed" and "warm pool py" in e.message for e in events.items)

    Cluster.wait(claimed_event, "a PodsClaimed Event on the Function", 60)

    # The pod it took is the Function's like any other: scale-down removes it.
    Cluster.wait(lambda: not any(p.metadata.name == pod for p in live_pods(core, ns, "warm")),
                 "the claimed pod removed by scale-down", 180)  # fmt: skip


@pytest.mark.timeout(600)
def test_a_function_no_pool_fits_says_why_and_still_answers(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "warmpools", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "WarmPool", "metadata": {"name": "py"},
        "spec": {"runtime": "python3.11", "memoryMB": 128, "size": {"min": 1, "max": 1}},
    })  # fmt: skip
    Cluster.wait(lambda: len(pool_pods(core, ns)) == 1, "one ready pool pod", 180)
    create(api, gateway, ns, sleeper("big", memoryMB=256, scaling={"scaleToZeroAfterSeconds": 0}))
    verdict = Cluster.wait(lambda: condition(custom, ns, "big", "PoolEligible"),
                           "the PoolEligible condition", 60)  # fmt: skip
    assert (verdict["status"], verdict["reason"]) == ("False", "NoPool"), verdict
    assert "256 MB" in verdict["message"]
    [waiting] = pool_pods(core, ns)
    pod, _ = invoke(gateway, ns, "big")
    assert pod != waiting.metadata.name  # a pod of its own
    assert [p.metadata.name for p in pool_pods(core, ns)] == [waiting.metadata.name]
