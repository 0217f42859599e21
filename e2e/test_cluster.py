"""The cluster under test is a real Kubernetes: pods from our images run and are
reachable through Services, owners garbage-collect what they own, and memory
limits are enforced by the kernel."""

from __future__ import annotations

import urllib.request

from kubernetes import client

from e2e.cluster import Cluster
from e2e.pod_security import restricted

BASE_IMAGE = "kappa.local/base:dev"
# A tiny HTTP server in the base image's own Python: answers with the pod's name.
HTTP_SERVER = """
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from " + os.environ["POD_NAME"]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("", 8080), H).serve_forever()
"""


def pod(name: str, command: list[str], **spec: object) -> client.V1Pod:
    container = client.V1Container(
        name="main",
        image=BASE_IMAGE,
        image_pull_policy="Never",
        command=command,
        security_context=restricted(),
        env=[
            client.V1EnvVar(
                name="POD_NAME",
                value_from=client.V1EnvVarSource(
                    field_ref=client.V1ObjectFieldSelector(field_path="metadata.name")
                ),
            )
        ],
        resources=spec.pop("resources", None),
        readiness_probe=spec.pop("readiness_probe", None),
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name=name, labels={"app": name}, owner_references=spec.pop("owners", None)
        ),
        spec=client.V1PodSpec(
            containers=[container], automount_service_account_token=False, **spec
        ),
    )


def http_pod(name: str) -> client.V1Pod:
    probe = client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=8080), period_seconds=1)
    return pod(name, ["python3", "-c", HTTP_SERVER], readiness_probe=probe)


def phase(core: client.CoreV1Api, namespace: str, name: str) -> str:
    return str(core.read_namespaced_pod(name, namespace).status.phase)


def ready(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    conditions = core.read_namespaced_pod(name, namespace).status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def test_http_pod_from_local_image_is_ready_and_reachable_from_host_and_pods(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_pod(namespace, http_pod("web"))
    Cluster.wait(lambda: ready(core, namespace, "web"), "pod web Ready", 120)
    pod_ip = core.read_namespaced_pod("web", namespace).status.pod_ip

    with urllib.request.urlopen(f"http://{pod_ip}:8080/", timeout=5) as response:
        assert response.read() == b"hello from web"

    service = core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1ServiceSpec(
                selector={"app": "web"},
                ports=[client.V1ServicePort(port=80, target_port=8080)],
            ),
        ),
    )
    cluster_ip = service.spec.cluster_ip
    # Another pod reaches the first through the Service's ClusterIP (kube-proxy).
    fetch = (
        "import urllib.request, time\n"
        f"url = 'http://{cluster_ip}/'\n"
        "for _ in range(50):\n"
        "    try:\n"
        "        print(urllib.request.urlopen(url, timeout=2).read().decode())\n"
        "        break\n"
        "    except OSError as e:\n"
        "        print('retry', e); time.sleep(0.2)\n"
        "else:\n"
        "    raise SystemExit(1)\n"
    )
    core.create_namespaced_pod(
        namespace, pod("client", ["python3", "-c", fetch], restart_policy="Never")
    )
    final = Cluster.wait(
        lambda: (
            phase(core, namespace, "client") in {"Succeeded", "Failed"}
            and phase(core, namespace, "client")
        ),
        "client pod to finish",
        120,
    )
    # Raw bytes: some client versions return the repr of bytes as the "str" log.
    logs = core.read_namespaced_pod_log("client", namespace, _preload_content=False).data.decode()
    assert final == "Succeeded", logs
    assert logs.strip().endswith("hello from web")


def test_deleting_an_owner_garbage_collects_its_pods(
    core: client.CoreV1Api, namespace: str
) -> None:
    owner = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    reference = client.V1OwnerReference(
        api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
    )
    core.create_namespaced_pod(namespace, pod("owned", ["sleep", "3600"], owners=[reference]))
    core.create_namespaced_pod(namespace, pod("unowned", ["sleep", "3600"]))

    core.delete_namespaced_config_map("owner", namespace, propagation_policy="Background")

    def owned_gone() -> bool:
        names = {p.metadata.name for p in core.list_namespaced_pod(namespace).items}
        return "owned" not in names

    Cluster.wait(owned_gone, "the garbage collector to delete pod owned", 120)
    assert core.read_namespaced_pod("unowned", namespace).metadata.deletion_timestamp is None


def test_a_pod_over_its_memory_limit_is_oom_killed(core: client.CoreV1Api, namespace: str) -> None:
    hog = "b = bytearray(512 * 1024 * 1024); print('survived')"
    limits = client.V1ResourceRequirements(limits={"memory": "64Mi"}, requests={"memory": "64Mi"})
    core.create_namespaced_pod(
        namespace, pod("hog", ["python3", "-c", hog], restart_policy="Never", resources=limits)
    )

    def terminated() -> client.V1ContainerStateTerminated | None:
        statuses = core.read_namespaced_pod("hog", namespace).status.container_statuses or []
        return next((s.state.terminated for s in statuses if s.state.terminated), None)

    state = Cluster.wait(terminated, "container hog to terminate", 120)
    assert state.reason == "OOMKilled"
    assert state.exit_code == 137
    # The pod's phase follows its only container (restartPolicy Never).
    Cluster.wait(lambda: phase(core, namespace, "hog") == "Failed", "pod hog Failed", 60)
