"""The local cluster provider's own promises: cluster-up is idempotent, and
cluster-down leaves no process, mount, network namespace, bridge, iptables rule
or state file of its own behind. These run last (marker `teardown`)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from kubernetes import client

from e2e.cluster import Cluster

VARDIR = "/var/lib/kappa-local"
RUNDIR = "/run/kappa-local"
PID_DIR = Path(RUNDIR) / "pids"


@pytest.fixture
def local(cluster: Cluster) -> Cluster:
    if not cluster.is_local:
        pytest.skip("KUBECONFIG names an external cluster; the local provider is not in use")
    return cluster


def component_pids() -> dict[str, str]:
    return {p.stem: p.read_text().strip() for p in sorted(PID_DIR.glob("*.pid"))}


def our_processes(state_dir: Path) -> list[str]:
    """Command lines that name any directory the local cluster owns."""
    markers = (VARDIR, RUNDIR, str(state_dir) + "/")
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended while we looked
        if any(m in argv for m in markers) and "pytest" not in argv:
            found.append(argv)
    return found


def our_mounts() -> list[str]:
    """Mount points under our directories (pods' netns included) or in /run/netns/cni-*."""
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return [p for p in points if p.startswith((VARDIR, RUNDIR, "/run/netns/cni-"))]


def netns_mounts() -> list[str]:
    """Network namespaces held by mounts (fstype nsfs), i.e. pods' sandboxes."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype == "nsfs" and "net:" in fields[3]:
            found.append(fields[4])
    return found


def iptables_rules() -> list[str]:
    rules = []
    for family in ("iptables-save", "ip6tables-save"):
        out = subprocess.run([family], check=True, capture_output=True, text=True).stdout
        rules += [line for line in out.splitlines() if "KUBE-" in line or "CNI-" in line]
    return rules


def pod_cgroups() -> list[Path]:
    return [*Path("/sys/fs/cgroup").glob("*/kubepods"), *Path("/sys/fs/cgroup").glob("kubepods")]


def stale_shim_sockets() -> list[str]:
    """Sockets containerd 1.6 leaves in /run/containerd/s that no process listens on."""
    shown = subprocess.run(["ss", "-xlnH"], check=True, capture_output=True, text=True)
    listening = {line.split()[4] for line in shown.stdout.splitlines() if len(line.split()) > 4}
    sockets = Path("/run/containerd/s").glob("*")
    return [str(s) for s in sockets if str(s) not in listening]


def bridge_exists() -> bool:
    shown = subprocess.run(["ip", "link", "show", "kappa0"], check=False, capture_output=True)
    return shown.returncode == 0


def test_cluster_up_again_keeps_every_running_component(local: Cluster) -> None:
    before = component_pids()
    assert set(before) >= {"containerd", "etcd", "kube-apiserver", "kubelet", "kube-proxy"}
    subprocess.run([str(local.repo / "e2e/local/cluster-up.sh")], check=True)
    assert component_pids() == before


def test_kwok_adds_simulated_nodes_that_run_only_pods_tolerating_them(
    local: Cluster, core: client.CoreV1Api, namespace: str
) -> None:
    subprocess.run([str(local.repo / "e2e/local/kwok.sh"), "2"], check=True)
    nodes = core.list_node(label_selector="type=kwok").items
    assert sorted(n.metadata.name for n in nodes) == ["kwok-node-0", "kwok-node-1"]
    container = client.V1Container(name="main", image="kappa.local/base:dev")
    toleration = client.V1Toleration(key="kwok.x-k8s.io/node", operator="Exists")
    simulated = client.V1PodSpec(
        containers=[container], node_selector={"type": "kwok"}, tolerations=[toleration]
    )
    core.create_namespaced_pod(
        namespace, client.V1Pod(metadata=client.V1ObjectMeta(name="sim"), spec=simulated)
    )
    core.create_namespaced_pod(
        namespace,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name="plain"),
            spec=client.V1PodSpec(
                containers=[
                    client.V1Container(
                        name="main",
                        image="kappa.local/base:dev",
                        image_pull_policy="Never",
                        command=["sleep", "3600"],
                    )
                ]
            ),
        ),
    )

    def running(name: str) -> client.V1Pod | None:
        pod = core.read_namespaced_pod(name, namespace)
        return pod if pod.status.phase == "Running" else None

    sim = Cluster.wait(lambda: running("sim"), "pod sim Running on a kwok node", 60)
    assert sim.spec.node_name.startswith("kwok-node-")
    plain = Cluster.wait(lambda: running("plain"), "pod plain Running", 60)
    assert plain.spec.node_name == "kappa-node"  # the taint keeps real pods off simulated nodes


@pytest.mark.teardown
def test_cluster_down_leaves_nothing_of_its_own_behind(
    local: Cluster, core: client.CoreV1Api
) -> None:
    state = local.repo / ".local-cluster"
    # Precondition: a running pod, so the cluster holds every kind of thing down
    # must remove (its netns, mounts, cgroups, CNI rules, shim).
    sleeper = client.V1Pod(
        metadata=client.V1ObjectMeta(name=f"teardown-{uuid.uuid4().hex[:6]}"),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="main",
                    image="kappa.local/base:dev",
                    image_pull_policy="Never",
                    command=["sleep", "3600"],
                )
            ]
        ),
    )
    core.create_namespaced_pod("default", sleeper)
    Cluster.wait(
        lambda: (
            core.read_namespaced_pod(sleeper.metadata.name, "default").status.phase == "Running"
        ),
        "the sleeper pod Running",
        120,
    )
    assert our_processes(state)
    assert our_mounts()
    assert [m for m in netns_mounts() if m.startswith(RUNDIR)]
    assert bridge_exists()
    assert iptables_rules()
    assert pod_cgroups()

    subprocess.run([str(local.repo / "e2e/local/cluster-down.sh")], check=True)

    assert our_processes(state) == []
    assert our_mounts() == []
    assert [m for m in netns_mounts() if m.startswith((RUNDIR, "/run/netns/cni-"))] == []
    assert not bridge_exists()
    assert pod_cgroups() == []
    assert stale_shim_sockets() == []
    assert iptables_rules() == []
    assert not Path(VARDIR).exists()
    assert not Path(RUNDIR).exists()
    assert sorted(p.name for p in state.iterdir()) == ["logs"]
