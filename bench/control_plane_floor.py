"""make bench-scale-floor: what the control plane alone takes for N Functions on kwok nodes.

The least any operator has to cause for a Function to be Ready is one pod and one status
write. This benchmark does exactly that itself, with Kappa's operator scaled to zero, so
the time it takes is a floor for `make bench-scale` on the same cluster: the API server,
etcd, the scheduler and kwok doing their part and nothing else.

- the Functions (the same manifest as bench/scale.py's) are created from 16 threads, each
  followed at once by one bare pod for it (in a namespace steered to the kwok nodes, as
  bench/scale.py's is);
- a watch on the namespace's pods sees each turn Ready (kwok marks it so once the
  scheduler has bound it), and the Function's status is then written Ready from 16
  threads;
- printed: the time to all created, and to the last status written; the API requests per
  Function (as bench/scale.py counts them, less the benchmark's own Function creates).

The operator is scaled back to its replicas at the end. Prints figures; asserts nothing.
Usage:
    python bench/control_plane_floor.py [--functions 10000] [--timeout 600]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from scale import (
    GROUP,
    OPERATOR,
    PLURAL,
    PODS_PER_KWOK_NODE,
    THREADS,
    VERSION,
    check_placement,
    function,
    kwok_nodes,
    make_namespace,
    requests,
)


def pod(name: str) -> dict[str, Any]:
    """The one pod the Function ``name`` needs (kwok runs no container: the image is moot)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{name}-pod", "labels": {"bench.kappa.dev/function": name}},
        "spec": {"containers": [{"name": "function", "image": "kappa.local/base:dev"}]},
    }


def ready_status(generation: int) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Floor",
                    "message": "its pod is Ready (written by the floor benchmark)",
                    "lastTransitionTime": now,
                    "observedGeneration": generation,
                }
            ]
        }
    }


class Statuses:
    """Watches the namespace's pods; writes each one's Function Ready when it first is."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.api, self.namespace = api, namespace
        self.written: dict[str, float] = {}  # Function -> time.monotonic() of its status write
        self.own = Counter[str]()  # the benchmark's own pod LISTs and WATCHes
        self._seen: set[str] = set()
        self._writers = ThreadPoolExecutor(THREADS)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._writers.shutdown(wait=False, cancel_futures=True)

    def _write(self, name: str) -> None:
        functions = client.CustomObjectsApi(self.api)
        for _ in range(5):
            try:
                functions.patch_namespaced_custom_object_status(
                    GROUP, VERSION, self.namespace, PLURAL, name, ready_status(1)
                )
            except client.ApiException:
                time.sleep(0.5)
                continue
            with self._lock:
                self.written[name] = time.monotonic()
            return

    def _see(self, found: Any) -> None:
        name = (found.metadata.labels or {}).get("bench.kappa.dev/function")
        ready = any(c.type == "Ready" and c.status == "True" for c in found.status.conditions or [])
        if name and ready and name not in self._seen:
            self._seen.add(name)
            self._writers.submit(self._write, name)

    def _run(self) -> None:
        core = client.CoreV1Api(self.api)
        while not self._stop.is_set():
            try:
                listing = core.list_namespaced_pod(self.namespace)
                self.own["LIST"] += 1
                for found in listing.items:
                    self._see(found)
                version = listing.metadata.resource_version
                while version is not None and not self._stop.is_set():
                    self.own["WATCH"] += 1
                    stream = watch.Watch().stream(
                        core.list_namespaced_pod, self.namespace,
                        resource_version=version, timeout_seconds=10,
                    )  # fmt: skip
                    for event in stream:
                        if event["type"] == "ERROR":
                            version = None
                            break
                        version = event["object"].metadata.resource_version
                        if event["type"] != "DELETED":
                            self._see(event["object"])
            except client.ApiException:
                time.sleep(0.2)


def scale_operator(apps: client.AppsV1Api, replicas: int) -> int:
    """Set the operator's replicas; the number it had."""
    before = apps.read_namespaced_deployment(OPERATOR[1], OPERATOR[0]).spec.replicas or 0
    apps.patch_namespaced_deployment(OPERATOR[1], OPERATOR[0], {"spec": {"replicas": replicas}})
    return int(before)


def wait_no_operator(core: client.CoreV1Api) -> None:
    for _ in range(240):
        pods = core.list_namespaced_pod(
            OPERATOR[0], label_selector="app.kubernetes.io/component=operator"
        ).items
        if not pods:
            return
        time.sleep(0.5)
    sys.exit("the operator's pods did not go away")


def run(api: client.ApiClient, namespace: str, count: int, timeout: float) -> None:
    functions, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    names = [f"fn-{index:05}" for index in range(count)]
    statuses = Statuses(api, namespace)
    before = requests(api)
    began = time.monotonic()

    def create(name: str) -> None:
        functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, function(name))
        core.create_namespaced_pod(namespace, pod(name))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(create, names))
    created = time.monotonic() - began
    done: float | None = None
    while time.monotonic() - began < timeout:
        if len(statuses.written) == count:
            done = max(statuses.written.values()) - began
            break
        time.sleep(0.5)
    missing = count - len(statuses.written)
    statuses.stop()
    time.sleep(5)  # the last writes land before counting
    delta = requests(api) - before
    delta["POST", "functions"] -= count  # the benchmark's own Function creates
    delta["LIST", "pods"] -= statuses.own["LIST"]
    delta["WATCH", "pods"] -= statuses.own["WATCH"]
    print(f"\n{count} Functions, each with one pod and one status write (no operator):")
    print(f"  Functions and pods created in {created:.1f} s ({THREADS} threads); every "
          f"Function's status written Ready in "
          + ("not all: " + f"{missing} missing" if done is None else f"{done:.1f} s"))  # fmt: skip
    per = {key: value / count for key, value in sorted(delta.items()) if value > 0}
    print(f"  API requests per Function: {sum(per.values()):.1f} (the Function creates left out)")
    for (verb, resource), value in per.items():
        print(f"    {verb:>7} {resource:<28} {value:6.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, default=10000)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG") or str(
        Path(__file__).resolve().parent.parent / ".local-cluster/kubeconfig"
    )
    api = config.new_client_from_config(config_file=kubeconfig)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    needed = math.ceil(args.functions / PODS_PER_KWOK_NODE)
    if kwok_nodes(core) < needed:
        sys.exit(f"{args.functions} pods need {needed} kwok nodes: make cluster-up "
                 f"KWOK_NODES={needed}")  # fmt: skip
    replicas = scale_operator(apps, 0)
    namespace = make_namespace(core, smoke=False)
    print(f"namespace {namespace}; the operator scaled from {replicas} to 0 replicas")
    try:
        wait_no_operator(core)
        check_placement(core, namespace)
        run(api, namespace, args.functions, args.timeout)
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")
        scale_operator(apps, replicas)
        print(f"\ndeleting namespace {namespace}; the operator back to {replicas} replicas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
