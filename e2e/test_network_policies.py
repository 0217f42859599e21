"""The chart's and the operator's NetworkPolicies, enforced: a pod of another tenant reaches
the gateway and nothing behind it.

The local cluster enforces NetworkPolicies with kube-network-policies
(e2e/local/network-policies.sh), so this is what a cluster with Calico or Cilium does with
the same objects. A pod in a namespace of its own tries TCP connections from inside the
cluster: to the gateway's pods (open to every caller: the control that the pod's network
works), and to a function pod's agent, an operator's autoscaler port and NATS, which only
the gateways may reach. Traffic the node's root user makes (the kubelet's probes, these
tests' own calls from the host) is not filtered by kube-network-policies; only pod to pod
is tested here.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import Operator, own_namespace
from e2e.gateway import Gateway
from e2e.pod_security import restricted
from e2e.test_gateway import GROUP, PLURAL, VERSION, manifest, ready

SYSTEM = "kappa-system"

# Each target: (label, ip, port). Prints one JSON line: {label: "open" | "blocked"}.
PROBE = """
import json, socket, sys
results = {}
for label, ip, port in json.loads(sys.argv[1]):
    try:
        socket.create_connection((ip, int(port)), timeout=4).close()
        results[label] = "open"
    except OSError:
        results[label] = "blocked"
print(json.dumps(results), flush=True)
"""


def pod_ip(core: client.CoreV1Api, namespace: str, selector: str) -> str:
    def found() -> str | None:
        for pod in core.list_namespaced_pod(namespace, label_selector=selector).items:
            ready = any(c.type == "Ready" and c.status == "True"
                        for c in pod.status.conditions or ())  # fmt: skip
            if ready and pod.status.pod_ip and pod.metadata.deletion_timestamp is None:
                return str(pod.status.pod_ip)
        return None

    return str(Cluster.wait(found, f"a Ready pod of {selector} in {namespace}", 180))


@pytest.fixture(scope="module")
def function_pod(
    core: client.CoreV1Api, api: client.ApiClient, gateway: Gateway
) -> Iterator[tuple[str, str]]:
    """A Function (provisioned 1) in a namespace of its own: (its namespace, a Ready pod's IP)."""
    functions = client.CustomObjectsApi(api)
    with own_namespace(core, "netpol-fn") as namespace:
        functions.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL,
            manifest("kept", concurrency={"provisioned": 1}),
        )  # fmt: skip
        Cluster.wait(lambda: ready(functions, namespace, "kept"), "Function kept Ready", 180)
        yield namespace, pod_ip(core, namespace, "kappa.dev/function=kept")


def probe_from_another_namespace(core: client.CoreV1Api, targets: list[tuple[str, str, int]]
                                 ) -> dict[str, str]:  # fmt: skip
    with own_namespace(core, "netpol-rogue") as namespace:
        name = f"probe-{uuid.uuid4().hex[:6]}"
        container = client.V1Container(
            name="probe", image="kappa.local/base:dev", image_pull_policy="Never",
            command=["python3", "-c", PROBE, json.dumps(targets)],
            security_context=restricted(run_as_user=1000),
        )  # fmt: skip
        core.create_namespaced_pod(namespace, client.V1Pod(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1PodSpec(containers=[container], restart_policy="Never",
                                  automount_service_account_token=False),
        ))  # fmt: skip
        try:
            Cluster.wait(
                lambda: core.read_namespaced_pod(name, namespace).status.phase
                in ("Succeeded", "Failed"),
                "the probe pod to finish", 120,
            )  # fmt: skip
            # Raw: the client would parse a log that looks like JSON and give its repr.
            log = core.read_namespaced_pod_log(
                name, namespace, _preload_content=False
            ).data.decode()
        finally:
            with contextlib.suppress(client.ApiException):
                core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    lines = [line for line in log.splitlines() if line.startswith("{")]
    assert lines, log
    result: dict[str, str] = json.loads(lines[-1])
    return result


def test_another_namespaces_pod_reaches_the_gateway_and_nothing_behind_it(
    core: client.CoreV1Api, operator: Operator, gateway: Gateway, function_pod: tuple[str, str]
) -> None:
    namespace, agent = function_pod
    gateway_pod = pod_ip(core, SYSTEM, "app.kubernetes.io/component=gateway")
    operator_pod = pod_ip(core, SYSTEM, "app.kubernetes.io/component=operator")
    nats = pod_ip(core, SYSTEM, "app.kubernetes.io/component=nats")
    time.sleep(2)  # the policies' pods known to the enforcer (it follows pods by watch)
    seen = probe_from_another_namespace(core, [
        ("gateway", gateway_pod, 8000),
        ("function agent", agent, 8080),
        ("operator autoscaler", operator_pod, 8081),
        ("nats", nats, 4222),
    ])  # fmt: skip
    assert seen == {
        "gateway": "open",
        "function agent": "blocked",
        "operator autoscaler": "blocked",
        "nats": "blocked",
    }
    # While the gateway still reaches the agent: the same pod answers through it.
    Cluster.wait(lambda: gateway.knows(namespace, "kept"), "the gateway to know kept", 30)
    answer = gateway.lambda_client().invoke(FunctionName=f"{namespace}/kept", Payload=b"{}")
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["function"] == "kept"
