"""The author's `kappa` command as a new user runs it, from a clean folder, on a real
cluster: init, add `requests` and use it, deploy (vendored for the runtime, stored in a
ConfigMap, applied, waited for), invoke (the gateway found in the cluster), logs (the
REPORT line), url. The caller is the e2e identity's access key, which the `gateway`
fixture puts in the environment (docs/cli.md: how the command authenticates). And a
Layer with a shared helper used by two Functions, whose new code rolls both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import _kubectl
from e2e.gateway import Gateway

REPO = Path(__file__).resolve().parents[1]
HANDLER = """\
import requests


def handler(event, context):
    print("calling with", requests.__version__)
    return {"requests": requests.__version__, "quoted": requests.utils.quote(event["name"])}
"""


Kappa = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kappa(cluster: Cluster, gateway: Gateway, tmp_path: Path) -> Kappa:
    """`kappa ARGS` in tmp_path against the cluster, as the e2e identity; asserts success."""
    kubectl = Path(_kubectl(cluster)[0])
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "PYTHONPATH": str(REPO / "operator"),
        # kubectl for the port-forward, when the gateway's cluster address is not reachable.
        "PATH": f"{kubectl.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        if kubectl.is_absolute()
        else os.environ.get("PATH", ""),
    }

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "kappa", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, f"kappa {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    return run


def test_a_new_author_from_an_empty_folder_to_the_report_line(
    kappa: Kappa, namespace: str, core: client.CoreV1Api, tmp_path: Path
) -> None:
    kappa("init", "hello", "--runtime", "python3.11")
    with (tmp_path / "hello/requirements.txt").open("a") as requirements:
        requirements.write("requests==2.32.3\n")
    (tmp_path / "hello/app.py").write_text(HANDLER)

    deployed = kappa("deploy", "hello", "--namespace", namespace)
    assert f"kappa invoke hello --namespace {namespace}" in deployed.stdout
    package = core.read_namespaced_config_map("hello-package", namespace)
    assert set(package.binary_data) == {"code.zip"}

    invoked = kappa("invoke", "hello", "--namespace", namespace, "--payload", '{"name": "a b"}')
    assert json.loads(invoked.stdout) == {"requests": "2.32.3", "quoted": "a%20b"}

    def report() -> str | None:
        lines = kappa("logs", "hello", "--namespace", namespace).stdout
        return lines if "REPORT RequestId:" in lines and "calling with 2.32.3" in lines else None

    logs = Cluster.wait(report, "the REPORT line in kappa logs", 60, interval=2)
    request_id = next(
        line.split("REPORT RequestId: ", 1)[1].split()[0]
        for line in logs.splitlines()
        if "REPORT RequestId:" in line
    )
    only = kappa("logs", "hello", "--namespace", namespace, "--request-id", request_id).stdout
    assert f"START RequestId: {request_id}" in only
    assert f"REPORT RequestId: {request_id}" in only

    url = kappa("url", "hello", "--namespace", namespace).stdout.strip()
    assert url.endswith(f"/fn/{namespace}/hello/")


def test_a_layer_with_a_shared_helper_used_by_two_functions(
    kappa: Kappa, namespace: str, tmp_path: Path
) -> None:
    shared = tmp_path / "shared/python"
    shared.mkdir(parents=True)
    (shared / "greeting.py").write_text("def greet(name):\n    return 'hello ' + name\n")
    kappa("layer", "publish", "shared", "--name", "shared", "--namespace", namespace)
    for name, greeting in (("fn-a", "a"), ("fn-b", "b")):
        kappa("init", name, "--runtime", "python3.11")
        (tmp_path / name / "app.py").write_text(
            "import greeting\n\n\ndef handler(event, context):\n"
            f"    return greeting.greet('{greeting}')\n"
        )
        kappa("deploy", name, "--namespace", namespace, "--layer", "shared")
    for name, greeting in (("fn-a", "a"), ("fn-b", "b")):
        invoked = kappa("invoke", name, "--namespace", namespace)
        assert json.loads(invoked.stdout) == f"hello {greeting}"

    # The layer's new code rolls both Functions.
    (shared / "greeting.py").write_text("def greet(name):\n    return 'hi ' + name\n")
    kappa("layer", "publish", "shared", "--name", "shared", "--namespace", namespace)

    def rolled() -> bool:
        answers = [
            json.loads(kappa("invoke", name, "--namespace", namespace).stdout)
            for name in ("fn-a", "fn-b")
        ]
        return answers == ["hi a", "hi b"]

    Cluster.wait(rolled, "both Functions running the layer's new code", 180, interval=3)
