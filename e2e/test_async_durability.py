"""Accepted events outlive the NATS pod: 5,000 Event invocations are answered 202, the
chart's NATS pod is deleted while they drain, and every one of them still runs (at least
once: the number that ran twice is printed), from the store kept on its
PersistentVolumeClaim. The same with the chart's three-node JetStream cluster and R3
streams (nats.replicas=3), one node of which is killed while they drain.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import _kubectl, install_chart
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


def deploy_counter(functions: client.CustomObjectsApi, gateway: Gateway, ns: str) -> None:
    """The Function `counter` in ``ns``, Ready and known to the gateway."""
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


def send_events(gateway: Gateway, ns: str) -> None:
    """EVENTS Event invocations of counter, each answered 202."""
    lambda_client = gateway.lambda_client()

    def send(n: int) -> int:
        response = lambda_client.invoke(
            FunctionName=f"{ns}/counter", InvocationType="Event", Payload=json.dumps({"n": n})
        )
        return int(response["StatusCode"])

    with ThreadPoolExecutor(16) as pool:
        statuses = Counter(pool.map(send, range(EVENTS)))
    assert statuses == {202: EVENTS}, statuses


def delete_while_draining(cluster: Cluster, core: client.CoreV1Api, ns: str, pod: str) -> int:
    """Once the first events ran, ``pod`` (of NATS) is deleted at once; until its successor
    is Ready. How many events had run when it went."""
    before = core.read_namespaced_pod(pod, "kappa-system")
    claim = before.spec.volumes[[v.name for v in before.spec.volumes].index("data")]
    assert claim.persistent_volume_claim is not None  # the store is a claim, not an emptyDir
    Cluster.wait(lambda: len(ran(cluster, ns)) >= 200, "the first events to run", 120)
    core.delete_namespaced_pod(pod, "kappa-system", grace_period_seconds=0)
    ran_before_deletion = len(ran(cluster, ns))
    # What the test is about: events still queued (at most 80 a second ran meanwhile).
    assert ran_before_deletion < EVENTS - 1000, ran_before_deletion

    def back() -> bool:
        now = core.read_namespaced_pod(pod, "kappa-system")
        return now.metadata.uid != before.metadata.uid and any(
            c.type == "Ready" and c.status == "True" for c in now.status.conditions or []
        )

    Cluster.wait(back, f"a new {pod} Ready", 180)
    return ran_before_deletion


def wait_all_ran(cluster: Cluster, gateway: Gateway, ns: str) -> int:
    """Every event ran at least once; how many ran more than once."""
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
    return sum(1 for count in seen.values() if count > 1)


@pytest.mark.timeout(900)
def test_events_accepted_before_the_nats_pod_is_deleted_all_run(
    cluster: Cluster, gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    deploy_counter(client.CustomObjectsApi(api), gateway, ns)
    send_events(gateway, ns)
    # While they drain: the NATS pod goes (as in a node drain or an eviction).
    ran_before_deletion = delete_while_draining(cluster, core, ns, NATS_POD)
    twice = wait_all_ran(cluster, gateway, ns)
    print(  # noqa: T201 - the count of duplicates is part of the result
        f"\n{EVENTS} events accepted; NATS pod deleted after {ran_before_deletion} had run; "
        f"all ran, {twice} more than once"
    )


def drop_nats(cluster: Cluster) -> None:
    """The chart's NATS StatefulSet and its claims deleted (the queue with them): a change
    between one node and a cluster is not made in place (docs/operations.md)."""
    system = [*_kubectl(cluster), "-n", "kappa-system"]
    subprocess.run([*system, "delete", "statefulset", "kappa-nats", "--ignore-not-found",
                    "--cascade=foreground", "--wait", "--timeout=120s"], check=True)  # fmt: skip
    subprocess.run([*system, "delete", "pvc", "-l", "app.kubernetes.io/component=nats",
                    "--wait", "--timeout=120s"], check=True)  # fmt: skip


def queues_ready(core: client.CoreV1Api) -> bool:
    """Whether every gateway pod answers 200 on /readyz/queue (it can queue events)."""
    pods = core.list_namespaced_pod(
        "kappa-system", label_selector="app.kubernetes.io/component=gateway"
    ).items
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None or not pod.status.pod_ip:
            continue
        try:
            url = f"http://{pod.status.pod_ip}:8000/readyz/queue"
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status != 200:
                    return False
        except (urllib.error.URLError, OSError):
            return False
    return bool(pods)


@pytest.fixture
def nats_cluster(cluster: Cluster, gateway: Gateway, core: client.CoreV1Api) -> Iterator[None]:
    """The release's NATS as a three-node JetStream cluster with R3 streams, for the test;
    then back to the defaults (one node) the other tests expect."""
    drop_nats(cluster)
    try:
        install_chart(cluster, "--reuse-values", "--set", "nats.replicas=3",
                      "--set", "nats.streamReplicas=3")  # fmt: skip
        # Helm waits for the pods; each gateway still has to reach the new cluster (an Event
        # until then is a 500 ServiceException, which an SDK retries and this test does not).
        Cluster.wait(lambda: queues_ready(core), "every gateway's event queue ready", 180)
        yield
    finally:
        drop_nats(cluster)
        install_chart(cluster)


def stream_replicas(core: client.CoreV1Api) -> dict[str, int]:
    """The queue's streams and their replica counts, from NATS's monitoring endpoint."""
    service = core.read_namespaced_service("kappa-nats", "kappa-system")
    url = f"http://{service.spec.cluster_ip}:8222/jsz?accounts=true&streams=true&config=true"
    with urllib.request.urlopen(url, timeout=10) as response:
        jsz = json.load(response)
    return {
        stream["name"]: int(stream["config"]["num_replicas"])
        for account in jsz.get("account_details") or []
        for stream in account.get("stream_detail") or []
    }


@pytest.mark.timeout(1200)
def test_on_the_nats_cluster_events_outlive_a_killed_node(
    cluster: Cluster, gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str,
    nats_cluster: None,
) -> None:  # fmt: skip
    deploy_counter(client.CustomObjectsApi(api), gateway, ns)
    send_events(gateway, ns)
    replicas = stream_replicas(core)
    assert replicas.get(f"kappa-events_{ns}") == 3, replicas
    # While they drain: one node of three is killed (its successor starts on the same claim).
    ran_before_kill = delete_while_draining(cluster, core, ns, "kappa-nats-1")
    twice = wait_all_ran(cluster, gateway, ns)
    print(  # noqa: T201 - the count of duplicates is part of the result
        f"\n{EVENTS} events accepted on the R3 cluster; NATS node kappa-nats-1 killed after "
        f"{ran_before_kill} had run; all ran, {twice} more than once"
    )
