"""Accepted events outlive the NATS pod: 5,000 Event invocations are answered 202, the
chart's NATS pod is deleted while they drain, and every one of them still runs (at least
once: the number that ran twice is printed), from the store kept on its
PersistentVolumeClaim.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import _kubectl
from e2e.test_gateway import GROUP, PLURAL, VERSION, Gateway, ready

EVENTS = 5000
NATS_POD = "kappa-nats-0"
COUNTER = r"""
import sys
import time

def handler(event, context):
    time.sleep(0.2)  # 16 slots: at most 80 events a second, so a backlog is still queued
    # One write per line: eight runtime processes of a pod share its log.
    sys.stdout.write("RAN %d\n" % event["n"])
    sys.stdout.flush()
"""


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    namespace = f"durable-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        yield namespace
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")


def ran(cluster: Cluster, namespace: str) -> Counter[int]:
    """How many times each event ran, from the logs of the Function's (two, kept) pods."""
    kubectl = [*_kubectl(cluster), "-n", namespace]
    pods = subprocess.run(
        [*kubectl, "get", "pods", "-l", "kappa.dev/function=counter", "-o", "name"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    seen: Counter[int] = Counter()
    for pod in pods:
        out = subprocess.run(
            [*kubectl, "logs", pod, "--tail=-1"], capture_output=True, text=True, check=False
        ).stdout
        seen.update(int(n) for n in re.findall(r"^RAN (\d+)$", out, re.MULTILINE))
    return seen


@pytest.mark.timeout(900)
def test_events_accepted_before_the_nats_pod_is_deleted_all_run(
    cluster: Cluster, gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    functions = client.CustomObjectsApi(api)
    # Two pods of 8 slots, never more and never fewer: the logs that count stay readable.
    fn: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": "counter"},
        "spec": {
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": {"inline": {"app.py": COUNTER}},
            "concurrency": {"provisioned": 16, "perPod": 8},
            "scaling": {"maxReplicas": 2},
        },
    }
    functions.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, fn)
    Cluster.wait(lambda: ready(functions, ns, "counter"), "Function counter Ready", 180)
    Cluster.wait(lambda: gateway.knows(ns, "counter"), "the gateway to see counter", 30)
    nats_before = core.read_namespaced_pod(NATS_POD, "kappa-system")
    claim = nats_before.spec.volumes[[v.name for v in nats_before.spec.volumes].index("data")]
    assert claim.persistent_volume_claim is not None  # the store is a claim, not an emptyDir

    lambda_client = gateway.lambda_client()

    def send(n: int) -> int:
        response = lambda_client.invoke(
            FunctionName=f"{ns}/counter", InvocationType="Event", Payload=json.dumps({"n": n})
        )
        return int(response["StatusCode"])

    with ThreadPoolExecutor(16) as pool:
        statuses = Counter(pool.map(send, range(EVENTS)))
    assert statuses == {202: EVENTS}, statuses

    # While they drain: the NATS pod goes (as in a node drain or an eviction).
    Cluster.wait(lambda: len(ran(cluster, ns)) >= 200, "the first events to run", 120)
    core.delete_namespaced_pod(NATS_POD, "kappa-system", grace_period_seconds=0)
    ran_before_deletion = len(ran(cluster, ns))
    # What the test is about: events still queued (at most 80 a second ran meanwhile).
    assert ran_before_deletion < EVENTS - 1000, ran_before_deletion

    def nats_back() -> bool:
        pod = core.read_namespaced_pod(NATS_POD, "kappa-system")
        return pod.metadata.uid != nats_before.metadata.uid and any(
            c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
        )

    Cluster.wait(nats_back, "a new NATS pod Ready", 180)
    try:
        seen = Cluster.wait(
            lambda: s if len(s := ran(cluster, ns)) == EVENTS else None,
            f"all {EVENTS} events to run",
            600,
        )
    except TimeoutError as exc:
        seen = ran(cluster, ns)
        missing = sorted(set(range(EVENTS)) - set(seen))
        raise AssertionError(
            f"{exc}: {len(missing)} never ran (first {missing[:20]})\n{gateway.logs()}"
        ) from None
    assert set(seen) == set(range(EVENTS))
    twice = sum(1 for count in seen.values() if count > 1)
    print(  # noqa: T201 - the count of duplicates is part of the result
        f"\n{EVENTS} events accepted; NATS pod deleted after {ran_before_deletion} had run; "
        f"all ran, {twice} more than once"
    )
