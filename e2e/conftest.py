"""e2e plumbing: one real cluster per session.

`KUBECONFIG` set → that cluster (kind, EKS, …); unset → the local cluster of
`e2e/local/`, brought up (idempotently) for the session. Tests marked
`teardown` take the local cluster down and so run after every other test.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from e2e.cluster import Cluster
from e2e.gateway import Gateway, installed

REPO = Path(__file__).resolve().parent.parent
_E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_E2E_DIR):
            item.add_marker(pytest.mark.e2e)
    # Stable sort: teardown tests last, everything else in collection order.
    items.sort(key=lambda item: item.get_closest_marker("teardown") is not None)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    external = os.environ.get("KUBECONFIG", "")
    if external:
        return Cluster(kubeconfig=Path(external), provider="external", repo=REPO)
    subprocess.run([str(REPO / "e2e/local/cluster-up.sh")], check=True)
    return Cluster(kubeconfig=REPO / ".local-cluster/kubeconfig", provider="local", repo=REPO)


@pytest.fixture(scope="session")
def api(cluster: Cluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig))


@pytest.fixture(scope="session")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@contextlib.contextmanager
def own_namespace(core: client.CoreV1Api, prefix: str) -> Iterator[str]:
    """A namespace `<prefix>-<random>`, deleted (with all it holds) afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        # Pods need the namespace's default service account, made asynchronously.
        Cluster.wait(lambda: core.list_namespaced_service_account(name).items, "default SA", 60)
        yield name
    finally:
        core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    """A namespace of the test's own, deleted (with all it holds) afterwards."""
    with own_namespace(core, "e2e") as name:
        yield name


@pytest.fixture(scope="session")
def kappa_crds(cluster: Cluster) -> list[str]:
    """Kappa's CRDs applied (server-side) and Established; their names."""
    kubectl = _kubectl(cluster)
    subprocess.run([*kubectl, "apply", "--server-side", "-f", str(REPO / "crds")], check=True)
    names = subprocess.run(
        [*kubectl, "get", "-f", str(REPO / "crds"), "-o", "name"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    subprocess.run(
        [*kubectl, "wait", "--for=condition=Established", "--timeout=60s", *names], check=True
    )
    return names


def install_chart(cluster: Cluster, *helm_args: str) -> None:
    """charts/install.sh: the CRDs, then `helm upgrade --install` of charts/kappa, waited for.

    With the chart's defaults and ``helm_args`` only, unless they say --reuse-values: an
    upgrade given no values would keep the last release's (Helm's rule), so a test that
    set some would leave them behind for the next.
    """
    if "--reuse-values" not in helm_args:
        helm_args = ("--reset-values", *helm_args)
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    subprocess.run([str(REPO / "charts/install.sh"), *helm_args], env=env, check=True)


class Operator:
    """Kappa's operator as installed in the cluster by the chart (charts/kappa)."""

    SELECTOR = "app.kubernetes.io/name=kappa,app.kubernetes.io/component=operator"

    def __init__(self, cluster: Cluster, kubectl: list[str]) -> None:
        self._cluster = cluster
        self._kubectl = [*kubectl, "-n", "kappa-system"]

    def _run(self, *args: str) -> str:
        done = subprocess.run([*self._kubectl, *args], check=True, capture_output=True, text=True)
        return done.stdout

    def install(self) -> None:
        """Install the chart and restart, so a freshly imported image is the one that runs
        (not waiting for the install: a pod of a replaced image may never get ready)."""
        install_chart(self._cluster, "--wait=false")
        self._run("rollout", "restart", "deployment/kappa-operator")
        self._run("rollout", "status", "deployment/kappa-operator", "--timeout=180s")
        self.wait_for_leader()

    def stop(self) -> None:
        self._run("scale", "deployment/kappa-operator", "--replicas=0")
        self._run("wait", "--for=delete", "pod", "-l", self.SELECTOR, "--timeout=120s")

    def start(self, replicas: int = 2) -> None:
        """Start the chart's replicas again, and wait for one of them to lead."""
        self._run("scale", "deployment/kappa-operator", f"--replicas={replicas}")
        self._run("rollout", "status", "deployment/kappa-operator", "--timeout=180s")
        self.wait_for_leader()

    def leader(self) -> str:
        """The pod that holds the Lease and that the operator's Service sends to ('' if none)."""
        holder = self._run(
            "get", "lease", "kappa-operator", "-o", "jsonpath={.spec.holderIdentity}",
            "--ignore-not-found",
        ).strip()  # fmt: skip
        served = self._run(
            "get", "endpoints", "kappa-operator",
            "-o", "jsonpath={.subsets[*].addresses[*].targetRef.name}",
        ).split()  # fmt: skip
        return holder if holder and served == [holder] else ""

    def wait_for_leader(self) -> str:
        """Wait (a hang guard) until one replica leads and the Service sends to it only."""
        return Cluster.wait(self.leader, "an operator replica leading, its Service on it", 120)

    def logs(self) -> str:
        return self._run("logs", "-l", self.SELECTOR, "--tail=200")


@pytest.fixture(scope="session")
def operator(cluster: Cluster, kappa_crds: list[str]) -> Operator:
    installed = Operator(cluster, _kubectl(cluster))
    installed.install()
    return installed


def _kubectl(cluster: Cluster) -> list[str]:
    binary = "kubectl"
    if cluster.is_local:
        built = subprocess.run(
            [str(REPO / "e2e/local/build-k8s.sh")], check=True, capture_output=True, text=True
        ).stdout.strip()
        binary = f"{built}/kubectl"
    return [binary, "--kubeconfig", str(cluster.kubeconfig)]


@pytest.fixture(scope="session")
def gateway(cluster: Cluster, core: client.CoreV1Api, operator: Operator) -> Iterator[Gateway]:
    """The chart installed (by `operator`), the gateway restarted and answering, once a
    session; the e2e caller's access key in the environment (for the AWS CLI and scripts)."""
    found = installed(_kubectl(cluster), core)
    environment = pytest.MonkeyPatch()
    environment.setenv("AWS_ACCESS_KEY_ID", found.identity.access_key_id)
    environment.setenv("AWS_SECRET_ACCESS_KEY", found.identity.secret_access_key)
    environment.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        yield found
    finally:
        environment.undo()
