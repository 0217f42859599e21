"""make bench-operator-start: a replica's start with the cluster's objects present.

A replica that takes the Lease lists every Function, function pod and ConfigMap before
its first handler runs, and holds them until then. This runs the operator from this
checkout as a process of its own against the current cluster (KUBECONFIG), with the
chart's settings taken from the Deployment, no Lease and no webhook, while the in-cluster
operator is scaled to zero (and back at the end). Every 3 s it reads the process's VmRSS,
VmHWM and CPU from /proc; it stops once the CPU has been idle for 15 s (listing done and
the backlog worked through) or at --seconds, and prints the peak and the CPU spent.

Run it after `bench/scale.py --phases 10000 --keep` (BENCHMARKS.md, "Restarted and killed
with 10,000 present"); at another commit to compare (git checkout, then this). Prints
figures; asserts nothing. Usage:
    python bench/operator_start.py [--seconds 180]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from control_plane_floor import scale_operator, wait_no_operator
from kubernetes import client, config
from scale import OPERATOR, cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
IDLE_SECONDS = 15.0
SAMPLE_SECONDS = 3.0
# Not from the Deployment: this process stands alone (no Lease, no webhook, its own port).
OWN = {"KAPPA_LEADER_ELECTION": "false", "KAPPA_AUTOSCALER_PORT": "18081"}
SKIPPED = {"KAPPA_POD_NAME", "KAPPA_WEBHOOK_SERVICE", "KAPPA_WEBHOOK_PORT"}


def chart_environment(apps: client.AppsV1Api, gateway: str) -> dict[str, str]:
    """The operator container's environment as the chart sets it, for a process here."""
    deployment = apps.read_namespaced_deployment(OPERATOR[1], OPERATOR[0])
    env = {}
    for variable in deployment.spec.template.spec.containers[0].env or []:
        if variable.name in SKIPPED:
            continue
        if variable.value_from is not None:  # the downward API: only the namespace is read
            env[variable.name] = OPERATOR[0]
        else:
            env[variable.name] = (variable.value or "").replace(
                "$(KAPPA_GATEWAY_SERVICE_HOST)", gateway
            )
    return {**env, **OWN}


def status_mb(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            found[key] = int(value.split()[0]) / 1024
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    args = parser.parse_args()
    config.load_kube_config()
    api = client.ApiClient()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    gateway = core.read_namespaced_service("kappa-gateway", OPERATOR[0]).spec.cluster_ip
    env = {**os.environ, **chart_environment(apps, gateway)}
    env["PYTHONPATH"] = str(ROOT / "operator")
    replicas = scale_operator(apps, 0)
    wait_no_operator(core)
    print(f"the in-cluster operator scaled from {replicas} to 0; starting one from {ROOT}")
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "operator-start.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kappa", "operator"], env=env, stdout=out, stderr=out
        )
    began, cpu, idle_since, peak = time.monotonic(), 0.0, None, 0.0
    try:
        while time.monotonic() - began < args.seconds:
            time.sleep(SAMPLE_SECONDS)
            elapsed = time.monotonic() - began
            if process.poll() is not None:
                sys.exit(f"the operator exited ({process.returncode}); its log: {log}")
            memory, now_cpu = status_mb(process.pid), cpu_seconds(process.pid)
            peak = max(peak, memory["VmHWM"])
            print(f"  {elapsed:5.0f} s  RSS {memory['VmRSS']:6.0f} MB  CPU {now_cpu:6.1f} s")
            if now_cpu - cpu < 0.05 * SAMPLE_SECONDS:
                idle_since = idle_since if idle_since is not None else elapsed
                if elapsed - idle_since >= IDLE_SECONDS:
                    break
            else:
                idle_since = None
            cpu = now_cpu
    finally:
        process.kill()
        process.wait()
        scale_operator(apps, replicas)
    settled = "idle" if idle_since is not None else f"not idle within {args.seconds:.0f} s"
    print(f"\npeak RSS {peak:.0f} MB; CPU {cpu:.1f} s; {settled}"
          f"{'' if idle_since is None else f' from {idle_since:.0f} s'}; "
          f"the operator back to {replicas} replicas; its log: {log}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
