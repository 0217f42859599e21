"""Request at zero pods -> pod create requested: the autoscaler's 100 ms goal, on the cluster.

Needs the local cluster (or any KUBECONFIG) with Kappa's operator and gateway
installed. A Function that scales to zero after 1 s idle is invoked through the
gateway's Service once it has no pod, RUNS times. The figure per run is the
operator's own measurement (histogram kappa_autoscaler_poke_to_create_seconds,
read from its /metrics before and after): from the moment the gateway queued the
invocation for want of a slot (it pokes the autoscaler then) to the pod-create
call returning from the API server. The whole cold call (client to answer) is
printed beside it.

    make bench-autoscaler-poke            # BENCH_RUNS=10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from kubernetes import client, config

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "functions"
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
METRIC = "kappa_autoscaler_poke_to_create_seconds"


def histogram(url: str) -> tuple[float, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        for suffix in ("_sum", "_count"):
            if line.startswith(METRIC + suffix + " "):
                values[suffix] = float(line.split()[1])
    return values["_sum"], values["_count"]


def live_pods(core: client.CoreV1Api, namespace: str) -> int:
    pods = core.list_namespaced_pod(namespace, label_selector="kappa.dev/function=cold").items
    return sum(1 for p in pods if p.metadata.deletion_timestamp is None)


def wait(probe: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    kubeconfig = os.environ.get(
        "KUBECONFIG", str(Path(__file__).resolve().parent.parent / ".local-cluster/kubeconfig")
    )
    api = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api)
    functions = client.CustomObjectsApi(api)
    gateway = core.read_namespaced_service("kappa-gateway", "kappa-system").spec.cluster_ip
    operator = core.read_namespaced_service("kappa-operator", "kappa-system").spec.cluster_ip
    operator_url = f"http://{operator}:8081"
    lam = boto3.client(
        "lambda", endpoint_url=f"http://{gateway}", region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",  # noqa: S106 - dummy: not checked
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )  # fmt: skip
    namespace = f"autoscale-bench-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        wait(lambda: core.list_namespaced_service_account(namespace).items, "the default SA")
        functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Function", "metadata": {"name": "cold"},
            "spec": {"runtime": "python3.11", "handler": "app.handler",
                     "code": {"inline": {"app.py": HANDLER}},
                     "scaling": {"scaleToZeroAfterSeconds": 1}},
        })  # fmt: skip
        name = f"{namespace}/cold"
        wait(lambda: _known(lam, name), "the gateway to know the function")
        pokes: list[float] = []
        calls: list[float] = []
        for run in range(args.runs):
            wait(lambda: live_pods(core, namespace) == 0, "zero pods")
            time.sleep(1.5)  # the gateways' pod watches have seen the last pod go
            before = histogram(operator_url)
            began = time.monotonic()
            payload = lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()
            calls.append(time.monotonic() - began)
            assert json.loads(payload) == {"ok": True}, payload
            after = histogram(operator_url)
            if after[1] - before[1] != 1:
                print(f"run {run}: {after[1] - before[1]:g} pokes timed; skipped")
                continue
            pokes.append(after[0] - before[0])
            print(f"run {run}: poke -> pod create {pokes[-1] * 1000:.1f} ms, "
                  f"cold call {calls[-1] * 1000:.0f} ms")  # fmt: skip
        if pokes:
            ordered = sorted(pokes)
            print(
                f"poke -> pod create over {len(pokes)} runs: median "
                f"{statistics.median(pokes) * 1000:.1f} ms, p90 "
                f"{ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000:.1f} ms, max "
                f"{max(pokes) * 1000:.1f} ms; cold call (client to answer) median "
                f"{statistics.median(calls) * 1000:.0f} ms"
            )
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")
    return 0


def _known(lam: Any, name: str) -> bool:
    try:
        lam.get_function(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
