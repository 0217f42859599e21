"""e2e plumbing: one real cluster per session.

`KUBECONFIG` set → that cluster (kind, EKS, …); unset → the local cluster of
`e2e/local/`, brought up (idempotently) for the session. Tests marked
`teardown` take the local cluster down and so run after every other test.
"""

from __future__ import annotations

import os
import subprocess
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
