"""The author's `kappa` command as a new user runs it, from a clean folder, on a real
cluster: init, add `requests` and use it, deploy (vendored for the runtime, stored in a
ConfigMap, applied, waited for), invoke (the gateway found in the cluster), logs (the
REPORT line), url. The caller is the e2e identity's access key, which the `gateway`
fixture puts in the environment (docs/cli.md: how the command authenticates)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_a_new_author_from_an_empty_folder_to_the_report_line(
    cluster: Cluster, gateway: Gateway, namespace: str, core: client.CoreV1Api, tmp_path: Path
) -> None:
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

    def kappa(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "kappa", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, f"kappa {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

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
