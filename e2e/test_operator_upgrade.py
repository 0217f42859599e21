"""An upgrade that changes the function pods' template, on the real cluster: a Function's
warm pod (no call since, well inside its idle time) is rolled to the new template by the
new leader, not dropped. The chart's tracing endpoint is the change here: the operator
puts it into every function pod's variables, so the pods' revision changes with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import install_chart, own_namespace
from e2e.gateway import Gateway
from e2e.test_autoscaling import create, live_pods
from e2e.test_gateway import sleeper
from e2e.test_tracing import leader_knows

ENDPOINT = "http://127.0.0.1:4318"  # nothing listens: spans are dropped, counted


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    with own_namespace(core, "upgrade") as name:
        yield name


def with_endpoint(pod: client.V1Pod) -> bool:
    env = {e.name: e.value for e in pod.spec.containers[0].env or []}
    return env.get("KAPPA_TRACING_OTLP_ENDPOINT") == ENDPOINT


@pytest.mark.timeout(900)
def test_a_warm_pod_of_the_old_template_is_rolled_not_dropped(
    cluster: Cluster, gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    create(api, gateway, ns, sleeper("warm", scaling={"scaleToZeroAfterSeconds": 900}))
    [old] = Cluster.wait(lambda: live_pods(core, ns, "warm"), "the Function's first pod", 120)
    assert not with_endpoint(old)
    try:
        install_chart(cluster, "--reuse-values", "--set", f"tracing.otlpEndpoint={ENDPOINT}")
        Cluster.wait(lambda: leader_knows(core, ENDPOINT), "a leader of the new template", 180)
        rolled = Cluster.wait(
            lambda: [p for p in live_pods(core, ns, "warm") if with_endpoint(p)],
            "the warm pod rolled to the new template",
            180,
        )
        assert rolled[0].metadata.name != old.metadata.name
    finally:
        install_chart(cluster)
