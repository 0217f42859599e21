"""The Helm chart in the cluster: what it installed, that installing again changes nothing,
that an upgrade keeps Functions serving, that kstatus (what Flux and cli-utils appliers
use) reads a Function's conditions right, and that uninstalling keeps CRDs and Functions.

The release `kappa` in `kappa-system` is the one every e2e fixture uses (`operator` in
conftest installs it); the uninstall test installs it again before it ends.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import REPO, Operator, _kubectl, install_chart, own_namespace
from e2e.test_gateway import GROUP, PLURAL, VERSION, Gateway, manifest, ready

SYSTEM = "kappa-system"
# What the chart makes in kappa-system (kind/name) and cluster-wide.
RELEASE_OBJECTS = [
    "deployment/kappa-operator",
    "deployment/kappa-gateway",
    "statefulset/kappa-nats",
    "service/kappa-gateway",
    "service/kappa-operator",
    "service/kappa-operator-webhook",
    "service/kappa-nats",
    "serviceaccount/kappa-operator",
    "serviceaccount/kappa-gateway",
    "poddisruptionbudget/kappa-gateway",
    "networkpolicy/kappa-operator",
    "networkpolicy/kappa-gateway",
    "networkpolicy/kappa-nats",
    "configmap/kappa-dashboard",
    "configmap/kappa-nats",
    "secret/kappa-nats-auth",
]
CLUSTER_OBJECTS = [
    "clusterrole/kappa-operator",
    "clusterrole/kappa-gateway",
    "clusterrolebinding/kappa-operator",
    "clusterrolebinding/kappa-gateway",
]


def tool(cluster: Cluster, name: str) -> str:
    built = subprocess.run(
        [str(REPO / "e2e/local/build-tools.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    return f"{built}/{name}"


def run(*argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(argv, check=True, capture_output=True, text=True, input=stdin)
    return done.stdout


def versions(kubectl: list[str], *objects: str) -> dict[str, str]:
    """kind/name → what changes when the object is written: `generation` where the object
    has one (its status, which controllers keep writing, does not count), else the
    resourceVersion. Objects in kappa-system, and cluster-scoped ones."""
    listed = json.loads(run(*kubectl, "-n", SYSTEM, "get", *objects, "-o", "json"))
    return {
        f"{o['kind'].lower()}/{o['metadata']['name']}": str(
            o["metadata"].get("generation", o["metadata"]["resourceVersion"])
        )
        for o in listed["items"]
    }


def kstatus(cluster: Cluster, body: dict[str, Any]) -> tuple[str, str]:
    """(status, message) the real kstatus library computes for an object."""
    verdict = json.loads(run(tool(cluster, "kstatus"), stdin=json.dumps(body)))
    return verdict["status"], verdict["message"]


def argocd_health(cluster: Cluster, body: dict[str, Any]) -> tuple[str, str]:
    """(status, message) the chart's Argo CD health check gives an object, run as Argo CD
    runs it (gopher-lua)."""
    script = str(REPO / "charts/kappa/gitops/argocd-health.lua")
    verdict = json.loads(run(tool(cluster, "argocd-health"), script, stdin=json.dumps(body)))
    return verdict["status"], verdict["message"]


@pytest.fixture(scope="module")
def chart_ns(core: client.CoreV1Api, gateway: Gateway) -> Iterator[str]:
    with own_namespace(core, "helm-chart") as name:
        yield name


@pytest.fixture(scope="module")
def functions(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


@pytest.fixture(scope="module")
def serving(chart_ns: str, functions: client.CustomObjectsApi, gateway: Gateway) -> tuple[str, str]:
    """A Ready Function the gateway knows: (namespace, name)."""
    functions.create_namespaced_custom_object(
        GROUP, VERSION, chart_ns, PLURAL, manifest("steady", memoryMB=128)
    )
    Cluster.wait(lambda: ready(functions, chart_ns, "steady"), "Function steady Ready", 180)
    Cluster.wait(lambda: gateway.knows(chart_ns, "steady"), "the gateway to see it", 30)
    return chart_ns, "steady"


def test_release_deployed_with_every_component(cluster: Cluster, operator: Operator) -> None:
    helm = tool(cluster, "helm")
    status = json.loads(
        run(helm, "--kubeconfig", str(cluster.kubeconfig), "-n", SYSTEM, "status", "kappa",
            "-o", "json")
    )  # fmt: skip
    assert status["info"]["status"] == "deployed"
    kubectl = _kubectl(cluster)
    assert set(versions(kubectl, *RELEASE_OBJECTS, *CLUSTER_OBJECTS)) == {
        *RELEASE_OBJECTS,
        *CLUSTER_OBJECTS,
    }
    for deployment in ("kappa-operator", "kappa-gateway"):
        body = json.loads(
            run(*kubectl, "-n", SYSTEM, "get", "deployment", deployment, "-o", "json")
        )
        assert kstatus(cluster, body)[0] == "Current", body["status"]


def test_components_run_without_restarts(cluster: Cluster, operator: Operator) -> None:
    """No container of the release has restarted since its pod started (a crash loop, e.g.
    an RBAC rule missing for what the operator does a minute after start, shows here)."""
    kubectl = _kubectl(cluster)
    pods = json.loads(run(*kubectl, "-n", SYSTEM, "get", "pods", "-o", "json"))["items"]
    restarts = {
        p["metadata"]["name"]: sum(
            c.get("restartCount", 0) for c in p["status"].get("containerStatuses", [])
        )
        for p in pods
        if p["metadata"].get("deletionTimestamp") is None
    }
    assert restarts
    assert not {name: n for name, n in restarts.items() if n}, restarts


def test_function_network_policy_admits_only_the_gateway(
    api: client.ApiClient, core: client.CoreV1Api, operator: Operator
) -> None:
    """The operator writes the policy in a namespace when its first Function comes and
    deletes it with the last, with the content written here (test_network_policies.py
    checks the traffic it lets through)."""
    networking = client.NetworkingV1Api(api)
    functions = client.CustomObjectsApi(api)

    def policy(namespace: str) -> client.V1NetworkPolicy | None:
        try:
            return networking.read_namespaced_network_policy("kappa-functions", namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise

    with own_namespace(core, "netpol") as namespace:
        assert policy(namespace) is None  # no Function: no policy
        for name in ("one", "two"):
            functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL,
                                                      manifest(name))  # fmt: skip
        written = Cluster.wait(lambda: policy(namespace), "the namespace's NetworkPolicy", 60)
        spec = api.sanitize_for_serialization(written.spec)
        assert spec["podSelector"] == {"matchExpressions": [
            {"key": "kappa.dev/component", "operator": "In", "values": ["function", "pool"]}
        ]}  # fmt: skip
        assert spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
        assert rule["from"] == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": SYSTEM}},
                "podSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/name": "kappa",
                        "app.kubernetes.io/component": component,
                    }
                },
            }
            for component in ("gateway", "operator")
        ]
        functions.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "one")
        time.sleep(3)  # another Function remains: the policy stays
        assert policy(namespace) is not None
        functions.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "two")
        Cluster.wait(lambda: policy(namespace) is None, "the policy gone with the last Function",
                     60)  # fmt: skip


def test_installing_again_changes_nothing(
    cluster: Cluster, serving: tuple[str, str], functions: client.CustomObjectsApi
) -> None:
    kubectl = _kubectl(cluster)
    namespace, name = serving
    before = versions(kubectl, *RELEASE_OBJECTS, *CLUSTER_OBJECTS)
    crds_before = run(*kubectl, "get", "-f", str(REPO / "charts/kappa/crds"), "-o",
                      "jsonpath={.metadata.resourceVersion}")  # fmt: skip
    install_chart(cluster)
    assert versions(kubectl, *RELEASE_OBJECTS, *CLUSTER_OBJECTS) == before
    assert run(*kubectl, "get", "-f", str(REPO / "charts/kappa/crds"), "-o",
               "jsonpath={.metadata.resourceVersion}") == crds_before  # fmt: skip
    # The same Function manifest applied twice, as a GitOps sync does: no new version.
    path = REPO / "examples/hello-python/function.yaml"
    run(*kubectl, "-n", namespace, "apply", "-f", str(path))
    # Once Ready the operator has nothing more to write.
    Cluster.wait(lambda: ready(functions, namespace, "hello-python"), "hello-python Ready", 180)
    fn_before = functions.get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "hello-python"
    )["metadata"]["resourceVersion"]
    assert "unchanged" in run(*kubectl, "-n", namespace, "apply", "-f", str(path))
    fn_after = functions.get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "hello-python"
    )["metadata"]
    assert fn_after["resourceVersion"] == fn_before, name


def test_kstatus_reads_function_conditions(
    cluster: Cluster,
    serving: tuple[str, str],
    functions: client.CustomObjectsApi,
    gateway: Gateway,
) -> None:
    namespace, name = serving
    body = functions.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    assert kstatus(cluster, body) == ("Current", "Resource is Ready")
    assert argocd_health(cluster, body)[0] == "Healthy"
    # A spec change the operator has not observed yet is in progress, whatever Ready says.
    stale = json.loads(json.dumps(body))
    stale["metadata"]["generation"] += 1
    status, message = kstatus(cluster, stale)
    assert status == "InProgress", message
    assert argocd_health(cluster, stale)[0] == "Progressing"
    # A Function that cannot get ready (its handler does not exist) is Stalled: kstatus reads
    # it as Failed, with the reason, not as still in progress.
    functions.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, manifest("broken", handler="app.nowhere")
    )

    def failing() -> dict[str, Any] | None:
        fn = functions.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "broken")
        conditions = (fn.get("status") or {}).get("conditions") or []
        reasons = {c["type"]: c["reason"] for c in conditions}
        return fn if reasons.get("Ready") == "InitError" else None

    broken = Cluster.wait(failing, "Function broken Ready=False InitError", 180)
    status, message = kstatus(cluster, broken)
    assert status == "Failed", message
    assert "Runtime.HandlerNotFound" in message
    status, message = argocd_health(cluster, broken)
    assert status == "Degraded", message
    assert "Runtime.HandlerNotFound" in message


def test_upgrade_keeps_functions_serving(
    cluster: Cluster, serving: tuple[str, str], gateway: Gateway, operator: Operator
) -> None:
    """Both Deployments are rolled (new pod templates) while calls keep coming."""
    namespace, name = serving
    lam = gateway.lambda_client()
    results: list[int | str] = []
    stop = threading.Event()

    def call() -> None:
        while not stop.is_set():
            try:
                answer = lam.invoke(FunctionName=f"{namespace}/{name}", Payload=b'{"n": 1}')
                results.append(answer["StatusCode"] if "FunctionError" not in answer else "error")
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                results.append(repr(exc))
            time.sleep(0.05)

    caller = threading.Thread(target=call)
    caller.start()
    try:
        rev = uuid.uuid4().hex[:8]
        install_chart(
            cluster,
            # --set-string: a revision of digits only would be a number, which the schema
            # refuses for an annotation.
            "--set-string", f"gateway.podAnnotations.kappa\\.dev/test-rollout={rev}",
            "--set-string", f"operator.podAnnotations.kappa\\.dev/test-rollout={rev}",
        )  # fmt: skip
        kubectl = [*_kubectl(cluster), "-n", SYSTEM]
        run(*kubectl, "rollout", "status", "deployment/kappa-gateway", "--timeout=180s")
        template = json.loads(run(*kubectl, "get", "deployment/kappa-gateway", "-o", "json"))
        annotations = template["spec"]["template"]["metadata"]["annotations"]
        assert annotations["kappa.dev/test-rollout"] == rev
        rolled = len(results)  # a few calls on the new gateways too
        Cluster.wait(lambda: len(results) >= rolled + 10, "calls after the rollout", 60)
    finally:
        stop.set()
        caller.join()
        install_chart(cluster)  # back to the defaults the other tests expect
    failures = [r for r in results if r != 200]
    assert len(results) > 20
    assert failures == [], gateway.logs()


def test_uninstall_keeps_crds_and_functions_then_reinstall(
    cluster: Cluster, serving: tuple[str, str], functions: client.CustomObjectsApi
) -> None:
    kubectl = _kubectl(cluster)
    namespace, name = serving
    helm = tool(cluster, "helm")
    try:
        run(helm, "--kubeconfig", str(cluster.kubeconfig), "-n", SYSTEM, "uninstall", "kappa",
            "--wait")  # fmt: skip
        left = run(*kubectl, "-n", SYSTEM, "get", *RELEASE_OBJECTS, *CLUSTER_OBJECTS,
                   "--ignore-not-found", "-o", "name")  # fmt: skip
        assert left == ""
        assert run(*kubectl, "get", "crd", "functions.kappa.dev", "-o", "name").strip()
        fn = functions.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        assert fn["metadata"].get("deletionTimestamp") is None
    finally:
        install_chart(cluster)
    Cluster.wait(lambda: ready(functions, namespace, name), "Function Ready again", 180)
