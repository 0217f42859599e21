"""Cold starts on the real cluster, through the real gateway and operator: a call at zero
pods is answered by the new pod as soon as its agent says it is ready (the gateway asks
the agents of not-yet-Ready pods: ``kappa_gateway_readiness_probes_total{outcome="ready"}``
grows), with ``X-Kappa-Cold-Start: true`` (tests/integration/gateway/test_cold_start.py shows a
warm call saying ``false``: here the pod goes as soon as it is idle).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import own_namespace
from e2e.gateway import metric
from e2e.test_autoscaling import create, live_pods
from e2e.test_gateway import Gateway, gateway_pod_urls, sleeper

READY_PROBES = 'kappa_gateway_readiness_probes_total{outcome="ready"}'


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    with own_namespace(core, "coldstart") as name:
        yield name


def invoke(gateway: Gateway, namespace: str, name: str) -> tuple[str, str]:
    """(the pod that answered, the X-Kappa-Cold-Start header)."""
    request = urllib.request.Request(
        f"{gateway.url}/2015-03-31/functions/{namespace}%2F{name}/invocations",
        data=b"{}",
        method="POST",
    )
    with gateway.open(request, timeout=60) as response:
        body = json.loads(response.read())
        return body["pod"], response.headers.get("X-Kappa-Cold-Start", "")


def probed_ready(urls: list[str]) -> float:
    return sum(metric(url, READY_PROBES) for url in urls)


# On a loaded machine the kubelet can report a new pod's IP and its Ready condition in one
# status update: the gateway then never sees it not-yet-Ready and no probe is needed. That
# is right, but shows nothing; so the cold call is made up to three times, and at least
# one of them must have been routed by an agent's answer.
ATTEMPTS = 3


@pytest.mark.timeout(900)
def test_a_call_at_zero_pods_is_routed_by_the_agents_readiness_and_says_cold(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    create(api, gateway, ns, sleeper("zero", scaling={"scaleToZeroAfterSeconds": 0}))
    urls = gateway_pod_urls(api, core)
    probed = 0.0
    for _ in range(ATTEMPTS):
        Cluster.wait(lambda: not live_pods(core, ns, "zero"), "no pod of zero left", 120)
        before = probed_ready(urls)
        pod, cold = invoke(gateway, ns, "zero")
        assert cold == "true"
        assert pod in {p.metadata.name for p in live_pods(core, ns, "zero")}
        probed = probed_ready(urls) - before
        if probed > 0:
            break
    assert probed > 0, gateway.logs()


ACCEPTED_PUSHES = 'kappa_gateway_agent_ready_pushes_total{outcome="accepted"}'
UNKNOWN_PUSHES = 'kappa_gateway_agent_ready_pushes_total{outcome="unknown"}'


def told_line(core: client.CoreV1Api, namespace: str, pod: str) -> str | None:
    """The agent's ``readiness told:`` line, once the API server serves the pod's log."""
    try:
        logs = core.read_namespaced_pod_log(pod, namespace, container="function")
    except client.ApiException:
        return None
    return next((line for line in logs.splitlines() if "readiness told:" in line), None)


def pushed(urls: list[str], name: str) -> float:
    return sum(metric(url, name) for url in urls)


@pytest.mark.timeout(900)
def test_a_new_pods_agent_tells_every_gateway_it_is_ready_before_the_kubelet_does(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    """The operator gives a new pod the gateways' addresses; its agent posts its readiness to
    each, which route to it at once (docs/internals/function-pods.md, "Readiness pushed by
    the agent"); a push that proves nothing changes nothing."""
    create(api, gateway, ns, sleeper("told", scaling={"scaleToZeroAfterSeconds": 0}))
    urls = gateway_pod_urls(api, core)
    Cluster.wait(lambda: not live_pods(core, ns, "told"), "no pod of told left", 120)
    before = pushed(urls, ACCEPTED_PUSHES)
    pod, cold = invoke(gateway, ns, "told")
    assert cold == "true"
    env = {
        e.name: e
        for e in core.read_namespaced_pod(pod, ns).spec.containers[0].env
        if e.name.startswith("KAPPA_")
    }
    told = env["KAPPA_AGENT_READY_PUSH"].value.split(",")
    # Every gateway replica (and any that was still going away when the pod was made).
    addresses = [url.removeprefix("http://") for url in urls]
    assert set(addresses) <= set(told), (addresses, told)
    assert env["KAPPA_POD_UID"].value_from.field_ref.field_path == "metadata.uid"
    # Each gateway took the push of this pod (or of the second pod the autoscaler's
    # headroom may start): at least one per gateway.
    Cluster.wait(
        lambda: pushed(urls, ACCEPTED_PUSHES) - before >= len(urls), "every gateway told", 30
    )
    # The pod answered before the kubelet reported its container running (that is the
    # point), and the API server serves a container's log only once it has: wait for it.
    line = Cluster.wait(lambda: told_line(core, ns, pod), "the pod's log readable", 60)
    for address in addresses:
        assert f"{address} 204" in line, line
    # From this host (not a pod): a push of a pod no gateway waits for is a 404.
    unknown = pushed(urls, UNKNOWN_PUSHES)
    request = urllib.request.Request(
        f"{gateway.url}/kappa/v1/agent-ready",
        data=json.dumps(
            {"namespace": ns, "pod": "told-000000-000000",
             "uid": "fafb9981-7e77-4bd4-9135-8179bd8e1d35"}
        ).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()  # the answer's connection
    assert refused.value.code == 404
    assert pushed(urls, UNKNOWN_PUSHES) == unknown + 1
