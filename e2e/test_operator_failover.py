"""Operator failover on the real cluster: of the chart's two operator replicas one leads
(the Lease kappa-operator, its pod the operator Service's only endpoint). The leader's pod
is deleted at once (grace period 0, as a crash or a lost node would end it): the other
replica takes the Lease and the Service, and a call to a Function at zero pods, made
right after the kill by a caller that retries throttles as the AWS SDKs do, is answered.
The new leader then scales the idle Function to zero and starts it again for the next
call; the replacement replica stands by and no replica restarts. How long the takeover
took is printed (a figure for BENCHMARKS.md, not a bound).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import Operator, own_namespace
from e2e.test_autoscaling import burst, create, live_pods
from e2e.test_gateway import Gateway, sleeper


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    with own_namespace(core, "failover") as name:
        yield name


@pytest.mark.timeout(600)
def test_the_standby_takes_over_when_the_leader_dies(
    gateway: Gateway,
    api: client.ApiClient,
    core: client.CoreV1Api,
    operator: Operator,
    ns: str,
) -> None:
    create(api, gateway, ns, sleeper("cold", scaling={"scaleToZeroAfterSeconds": 15}))
    Cluster.wait(lambda: not live_pods(core, ns, "cold"), "no pod of cold left", 120)
    leader = operator.wait_for_leader()
    replicas = core.list_namespaced_pod("kappa-system", label_selector=Operator.SELECTOR).items
    assert len([p for p in replicas if p.metadata.deletion_timestamp is None]) == 2, [
        p.metadata.name for p in replicas
    ]

    killed = time.monotonic()
    core.delete_namespaced_pod(leader, "kappa-system", grace_period_seconds=0)
    caller = boto3.client(
        "lambda",
        endpoint_url=gateway.url,
        region_name="us-east-1",
        aws_access_key_id=gateway.identity.access_key_id,
        aws_secret_access_key=gateway.identity.secret_access_key,
        config=Config(retries={"mode": "standard", "total_max_attempts": 8}, read_timeout=60),
    )
    answer = caller.invoke(FunctionName=f"{ns}/cold", Payload=json.dumps({}))
    answered = time.monotonic() - killed
    body = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, body
    new_leader = Cluster.wait(
        lambda: (found := operator.leader()) != leader and found, "another replica leading", 120
    )
    took_over = time.monotonic() - killed
    assert body["pod"] in {p.metadata.name for p in live_pods(core, ns, "cold")}

    # The Deployment's new pod stands by (it says so once it has read the Lease), and the
    # new leader keeps the Lease: no replica lost it and restarted.
    def standing_by() -> list[str]:
        pods = core.list_namespaced_pod("kappa-system", label_selector=Operator.SELECTOR).items
        others = [p.metadata.name for p in pods if p.metadata.name not in (leader, new_leader)]
        return [
            name for name in others
            if "standing by" in core.read_namespaced_pod_log(name, "kappa-system")
        ]  # fmt: skip

    Cluster.wait(standing_by, "the replacement replica standing by", 120)
    assert operator.leader() == new_leader
    pods = core.list_namespaced_pod("kappa-system", label_selector=Operator.SELECTOR).items
    restarts = {p.metadata.name: p.status.container_statuses[0].restart_count for p in pods}
    assert set(restarts.values()) == {0}, restarts
    # Decisions are the new leader's now: the Function goes to zero again once idle, and
    # the next cold call starts it again.
    Cluster.wait(lambda: not live_pods(core, ns, "cold"), "cold at zero pods again", 120)
    again = json.loads(caller.invoke(FunctionName=f"{ns}/cold", Payload="{}")["Payload"].read())
    assert again["pod"] in {p.metadata.name for p in live_pods(core, ns, "cold")}, again
    retried = answer["ResponseMetadata"]["RetryAttempts"]
    print(  # noqa: T201 - the figure for BENCHMARKS.md
        f"\nleader {leader} killed; {new_leader} leads {took_over:.1f} s later; the cold call "
        f"was answered after {answered:.1f} s ({retried} retries)"
    )


def settled(core: client.CoreV1Api, ns: str, name: str, *, at_least: int) -> set[str] | None:
    """``name``'s live pods once there are ``at_least`` of them and the set stays the same
    for 5 s (None before)."""
    first = {p.metadata.name for p in live_pods(core, ns, name)}
    if len(first) < at_least:
        return None
    for _ in range(5):
        time.sleep(1)
        if {p.metadata.name for p in live_pods(core, ns, name)} != first:
            return None
    return first


@pytest.mark.timeout(600)
def test_ten_warm_pods_outlive_the_leader(
    gateway: Gateway,
    api: client.ApiClient,
    core: client.CoreV1Api,
    operator: Operator,
    ns: str,
) -> None:
    """A burst of ten calls leaves ten warm pods; the leader is killed at once. The new
    leader's autoscaler starts with no window and no decision: it keeps every pod it finds
    until the gateways' reports say otherwise (not one is deleted for 20 s after it leads,
    well within the stable window of 60 s)."""
    create(api, gateway, ns, sleeper("warm", scaling={"scaleToZeroAfterSeconds": 600}))
    results = burst(gateway.url, f"{ns}/warm", calls=10, sleep=3)
    assert all(kind == "ok" for kind, _ in results), results
    # Ten calls at once ask for ten pods or more (at the default targetUtilization of
    # 0.7, ceil(10 / 0.7) = 15 at most): whatever the burst left, once it stops changing.
    before = Cluster.wait(lambda: settled(core, ns, "warm", at_least=10), "ten warm pods", 120)
    leader = operator.wait_for_leader()
    core.delete_namespaced_pod(leader, "kappa-system", grace_period_seconds=0)
    Cluster.wait(
        lambda: (found := operator.leader()) != leader and found, "another replica leading", 120
    )
    until = time.monotonic() + 20
    while time.monotonic() < until:
        assert {p.metadata.name for p in live_pods(core, ns, "warm")} == before
        time.sleep(1)
