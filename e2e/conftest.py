"""e2e plumbing: one real cluster per session.

`KUBECONFIG` set → that cluster (kind, EKS, …); unset → the local cluster of
`e2e/local/`, brought up (idempotently) for the session. Tests marked
`teardown` take the local cluster down and so run after every other test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from e2e.cluster import Cluster

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


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    """A namespace of the test's own, deleted (with all it holds) afterwards."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # Pods need the namespace's default service account, made asynchronously.
    Cluster.wait(lambda: core.list_namespaced_service_account(name).items, "default SA", 60)
    yield name
    core.delete_namespace(name, propagation_policy="Background")


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


class OperatorProcess:
    """`kappa operator` running against the cluster, as a process of this session.

    (The Helm chart runs it in-cluster; here it runs beside the tests so that
    its log is at hand, and a test can restart it.)
    """

    def __init__(self, kubeconfig: Path, log: Path) -> None:
        self.log = log
        self._env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KAPPA_LOG_LEVEL": "INFO"}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "kappa", "operator"],
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None


@pytest.fixture(scope="session")
def operator(
    cluster: Cluster, kappa_crds: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    process = OperatorProcess(
        cluster.kubeconfig, tmp_path_factory.mktemp("operator") / "operator.log"
    )
    process.start()
    yield process
    process.stop()


def _kubectl(cluster: Cluster) -> list[str]:
    binary = "kubectl"
    if cluster.is_local:
        built = subprocess.run(
            [str(REPO / "e2e/local/build-k8s.sh")], check=True, capture_output=True, text=True
        ).stdout.strip()
        binary = f"{built}/kubectl"
    return [binary, "--kubeconfig", str(cluster.kubeconfig)]
