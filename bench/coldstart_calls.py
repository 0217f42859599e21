"""make bench-coldstart: cold calls as a caller sees them, beside the floor of the node.

Needs the chart installed on the local cluster (`make up`) or on KUBECONFIG's. Per
runtime (python3.11, nodejs22 and java17 by default), --calls cold calls (20) of each:

(a) Kappa without a pool: a Function (an echo handler, ``scaleToZeroAfterSeconds: 0``)
    at zero pods, no pod of it left at all (terminating ones gone too); then one
    ``POST /2015-03-31/functions/<ns>/<name>/invocations`` to the gateway's Service,
    timed from the request to the whole answer. The answer's ``X-Kappa-Cold-Start``
    is counted: a call that met a pod after all is reported, not hidden.
(c) The floor: a plain pod (the same runtime image, resources and security context
    as the Function's pod, its command a trivial HTTP server: ``python3 -m http.server``
    or a one-line node server; python's for java17, a JRE having no one-line server)
    created directly, its IP taken from a watch and
    ``GET /`` polled every 5 ms, timed from the create call to the first 200: what
    containerd, the CNI and the kubelet cost here, with no Kappa in between.

(b) Kappa with a warm pool: a WarmPool of the runtime (128 MB, ``size: {min: 1, max: 1}``)
    in the namespace, and another such Function; before each call, no pod of it and one
    ready pool pod; the call takes the pool pod (the operator claims and specialises it,
    docs/warm-pools.md). The answer must say cold as in (a), and the pod that answered
    must be the pool's: a call that did not go through the pool is reported.

With ``--burst N`` (``make bench-pool-refill``: 20), instead: a WarmPool of the runtime
sized for the burst (``size: {min: N, max: N}``) and N Functions at zero pods, then one
call to each at once (N threads); printed: the calls' p50/p99 and refusals, how many
pool pods were claimed (the pool's ``status.claims``), and from the burst until the pool
had N pods ready again.

p50 and p99 are nearest-rank (with 20 calls p99 is the slowest). Prints figures;
asserts nothing. The caller is the e2e identity (e2e/identity.py: a ServiceAccount
bound to kappa-invoker, its bearer token). Usage:
    python bench/coldstart_calls.py [--calls 20] [--runtime python3.11 --runtime nodejs22]
java17's code is a jar compiled here with javac (a JDK >= 17 on the machine).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import coldstart  # noqa: E402 - bench/coldstart.py, beside this file
from coldstart import CODE, GROUP, PLURAL, VERSION, wait  # noqa: E402
from e2e.identity import Identity, e2e_identity  # noqa: E402

_NODE_SERVER = ["node", "-e", "require('http').createServer((q, s) => s.end('ok')).listen(8080)"]
FLOOR_SERVER = {
    "python3.11": ["python3", "-m", "http.server", "8080"],
    "nodejs20": _NODE_SERVER,
    "nodejs22": _NODE_SERVER,
    # A JRE has no one-line HTTP server (no javac to run a source file): the base image's
    # python3 serves. The floor is the pod's start; the JVM's is in the runtime's init.
    "java17": ["python3", "-m", "http.server", "8080"],
}
POLL_SECONDS = 0.005
HANG_GUARD_SECONDS = 180


@dataclass
class Series:
    """One row of the table: the seconds of each call."""

    runtime: str
    path: str
    seconds: list[float] = field(default_factory=list)
    warm: int = 0  # Kappa's calls whose answer said X-Kappa-Cold-Start: false

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def kubectl(kubeconfig: str) -> list[str]:
    built = subprocess.run(
        [str(REPO / "e2e/local/build-k8s.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    return [f"{built}/kubectl", "--kubeconfig", kubeconfig]


def gateway_url(core: client.CoreV1Api) -> str:
    service = core.read_namespaced_service("kappa-gateway", "kappa-system")
    port = service.spec.ports[0].port
    return f"http://{service.spec.cluster_ip}:{port}"


def function(name: str, runtime: str) -> dict[str, Any]:
    """The phases bench's echo Function, gone from its last pod as soon as it is idle."""
    fn = coldstart.function(name, runtime)
    fn["spec"]["scaling"] = {"scaleToZeroAfterSeconds": 0}
    return fn


def ready(custom: client.CustomObjectsApi, namespace: str, name: str) -> bool:
    return coldstart.ready_condition(
        custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    )


def pods_of(core: client.CoreV1Api, namespace: str, name: str) -> list[client.V1Pod]:
    selector = f"kappa.dev/function={name}"
    return list(core.list_namespaced_pod(namespace, label_selector=selector).items)


def invoke(url: str, identity: Identity, namespace: str, name: str) -> tuple[float, bool]:
    """One call through the gateway: (seconds to the whole answer, whether it said cold)."""
    request = urllib.request.Request(
        f"{url}/2015-03-31/functions/{namespace}%2F{name}/invocations",
        data=b'{"bench": "coldstart"}',
        method="POST",
        headers=identity.bearer(),
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=HANG_GUARD_SECONDS) as response:
        response.read()
        took = time.monotonic() - started
        if response.status != 200:
            raise RuntimeError(f"{name}: the gateway answered {response.status}")
        return took, response.headers.get("X-Kappa-Cold-Start") == "true"


def kappa_series(
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    url: str,
    identity: Identity,
    namespace: str,
    runtime: str,
    calls: int,
) -> tuple[Series, dict[str, Any]]:
    """(a): cold calls to a Function at zero pods; also the operator's pod, as the floor's model."""
    name = f"cold-{runtime.replace('.', '')}"
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, function(name, runtime)
    )
    # Its first pod (the floor's model) may be gone again by the time it is Ready
    # (scaleToZeroAfterSeconds 0): noted while waiting, or made by a first call.
    seen: list[client.V1Pod] = []

    def ready_noting_pods() -> bool:
        seen.extend(pods_of(core, namespace, name)[:1])
        return ready(custom, namespace, name)

    wait(ready_noting_pods, f"Function {name} Ready", interval=0.2)
    if not seen:
        invoke(url, identity, namespace, name)
        seen.extend(wait(lambda: pods_of(core, namespace, name), f"a pod of {name}"))
    model = seen[0]
    template = client.ApiClient().sanitize_for_serialization(model)
    series = Series(runtime, "(a) Kappa, no pool (agent readiness)")
    for _ in range(calls):
        wait(lambda: not pods_of(core, namespace, name), f"{name} at zero pods", interval=0.2)
        time.sleep(1.0)  # the gateways' watches have seen the last pod go
        took, cold = invoke(url, identity, namespace, name)
        series.seconds.append(took)
        series.warm += not cold
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return series, template


def pool_pods(core: client.CoreV1Api, namespace: str, pool: str) -> list[client.V1Pod]:
    """The pool's ready pods (not being deleted)."""
    return [
        p
        for p in core.list_namespaced_pod(namespace, label_selector=f"kappa.dev/pool={pool}").items
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]


def create_pool(
    custom: client.CustomObjectsApi, namespace: str, pool: str, runtime: str, size: int
) -> None:
    """A WarmPool of ``runtime`` (128 MB) kept at ``size`` pods."""
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "warmpools", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "WarmPool", "metadata": {"name": pool},
        "spec": {"runtime": runtime, "memoryMB": 128, "size": {"min": size, "max": size}},
    })  # fmt: skip


def pool_series(
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    url: str,
    identity: Identity,
    namespace: str,
    runtime: str,
    calls: int,
) -> Series:
    """(b): cold calls to a Function at zero pods that a warm pool's pod answers."""
    pool = f"pool-{runtime.replace('.', '')}"
    create_pool(custom, namespace, pool, runtime, 1)
    name = f"warm-{runtime.replace('.', '')}"
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, function(name, runtime)
    )
    wait(lambda: ready(custom, namespace, name), f"Function {name} Ready", interval=0.2)
    series = Series(runtime, "(b) Kappa, warm pool")
    for _ in range(calls):
        wait(lambda: not pods_of(core, namespace, name), f"{name} at zero pods", interval=0.2)
        waiting = wait(lambda: pool_pods(core, namespace, pool), "a ready pool pod", interval=0.2)
        time.sleep(1.0)  # the gateways' watches have seen the last pod go
        took, cold = invoke(url, identity, namespace, name)
        series.seconds.append(took)
        answered = {p.metadata.name for p in pods_of(core, namespace, name)}
        series.warm += not cold or not answered & {p.metadata.name for p in waiting}
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "warmpools", pool)
    return series


def pool_ready_status(custom: client.CustomObjectsApi, namespace: str, pool: str) -> dict[str, Any]:
    found = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "warmpools", pool)
    status: dict[str, Any] = found.get("status") or {}
    return status


def burst_refill(
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    url: str,
    identity: Identity,
    namespace: str,
    runtime: str,
    calls: int,
) -> str:
    """N cold calls at once through a warm pool of N; how fast the pool is full again."""
    pool = f"burst-{runtime.replace('.', '')}"
    create_pool(custom, namespace, pool, runtime, calls)
    names = [f"b{index:03d}-{runtime.replace('.', '')}" for index in range(calls)]
    for name in names:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, function(name, runtime)
        )
    for name in names:
        wait(lambda name=name: ready(custom, namespace, name), f"{name} Ready", 600, 0.5)
    for name in names:
        wait(lambda name=name: not pods_of(core, namespace, name), f"{name} at zero", 600, 0.5)
    wait(lambda: len(pool_pods(core, namespace, pool)) >= calls, "the pool full", 900, 0.5)
    time.sleep(5.0)  # the gateways' watches have seen the last pods go
    results: dict[str, tuple[float, bool] | str] = {}

    def call(name: str) -> None:
        try:
            results[name] = invoke(url, identity, namespace, name)
        except urllib.error.HTTPError as exc:
            results[name] = f"{exc.code}"

    threads = [threading.Thread(target=call, args=(name,)) for name in names]
    burst = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD_SECONDS)
    answered = time.monotonic() - burst
    refilled = wait(lambda: len(pool_pods(core, namespace, pool)) >= calls and
                    time.monotonic() - burst, "the pool full again", 900, 0.1)  # fmt: skip
    claims = pool_ready_status(custom, namespace, pool).get("claims")
    series = Series(runtime, f"burst of {calls}")
    series.seconds = [r[0] for r in results.values() if isinstance(r, tuple)]
    refused = [r for r in results.values() if isinstance(r, str)]
    for name in names:
        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "warmpools", pool)
    figures = (
        f"p50 {series.percentile(0.5):.3f} s, p99 {series.percentile(0.99):.3f} s"
        if series.seconds
        else "none answered"
    )
    return (
        f"{runtime}: {len(series.seconds)} of {calls} calls answered within {answered:.2f} s "
        f"({figures}; refused: {refused or 'none'}); {claims} pool pods claimed; the pool "
        f"had {calls} ready pods again {refilled:.1f} s after the burst"
    )


def floor_manifest(template: dict[str, Any], runtime: str, name: str) -> dict[str, Any]:
    """A plain pod: the Function pod's image, resources and security, a trivial server."""
    spec = template["spec"]
    container = spec["containers"][0]
    plain = {
        "name": "server",
        "image": container["image"],
        "imagePullPolicy": container.get("imagePullPolicy", "IfNotPresent"),
        "command": FLOOR_SERVER[runtime],
        "workingDir": "/tmp",
        "ports": [{"containerPort": 8080}],
        "resources": container.get("resources") or {},
        "securityContext": container.get("securityContext") or {},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"kappa.dev/bench": "coldstart-floor"}},
        "spec": {
            "containers": [plain],
            "securityContext": spec.get("securityContext") or {},
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 0,
            "restartPolicy": "Never",
        },
    }


def floor_call(
    core: client.CoreV1Api, namespace: str, template: dict[str, Any], runtime: str
) -> float:
    """(c): create a plain pod, poll it directly; seconds from the create to the first 200."""
    name = f"floor-{uuid.uuid4().hex[:6]}"
    ip: list[str] = []
    seen = threading.Event()
    opened = threading.Event()

    def watcher() -> None:
        w = watch.Watch()
        opened.set()
        for event in w.stream(
            core.list_namespaced_pod,
            namespace,
            field_selector=f"metadata.name={name}",
            timeout_seconds=HANG_GUARD_SECONDS,
        ):
            if event["object"].status.pod_ip:
                ip.append(event["object"].status.pod_ip)
                seen.set()
                w.stop()

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    opened.wait(10)
    time.sleep(0.3)  # the watch is open before the pod exists
    started = time.monotonic()
    core.create_namespaced_pod(namespace, floor_manifest(template, runtime, name))
    try:
        if not seen.wait(HANG_GUARD_SECONDS):
            raise TimeoutError(f"pod {name} got no IP")
        while time.monotonic() - started < HANG_GUARD_SECONDS:
            try:
                with urllib.request.urlopen(f"http://{ip[0]}:8080/", timeout=5) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"pod {name} never answered")
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        thread.join(10)


def table(rows: list[Series]) -> str:
    header = (
        f"{'runtime':<11} {'path':<40} {'calls':>5} {'p50 s':>7} {'p99 s':>7} {'min s':>7}"
        f" {'not cold':>8}"
    )
    lines = [header]
    for row in rows:
        warm = str(row.warm) if row.path.startswith(("(a)", "(b)")) else "-"
        lines.append(
            f"{row.runtime:<11} {row.path:<40} {len(row.seconds):>5} {row.percentile(0.5):7.3f}"
            f" {row.percentile(0.99):7.3f} {min(row.seconds):7.3f} {warm:>8}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--runtime", action="append", choices=sorted(CODE))
    parser.add_argument("--burst", type=int, default=0, help="N cold calls at once (a pool)")
    args = parser.parse_args()
    runtimes = args.runtime or ["python3.11", "nodejs22", "java17"]
    kubeconfig = os.environ.get("KUBECONFIG") or str(REPO / ".local-cluster/kubeconfig")
    config.load_kube_config(kubeconfig)
    core, custom = client.CoreV1Api(), client.CustomObjectsApi()
    url = gateway_url(core)
    identity = e2e_identity(kubectl(kubeconfig))
    namespace = f"bench-cold-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    rows: list[Series] = []
    try:
        wait(lambda: core.list_namespaced_service_account(namespace).items, "a service account")
        if args.burst:
            for runtime in args.runtime or ["python3.11"]:
                coldstart.prepare_code(core, namespace, runtime)
                line = burst_refill(core, custom, url, identity, namespace, runtime, args.burst)
                print(line, flush=True)
            return 0
        for runtime in runtimes:
            coldstart.prepare_code(core, namespace, runtime)
            kappa, template = kappa_series(
                core, custom, url, identity, namespace, runtime, args.calls
            )
            pool = pool_series(core, custom, url, identity, namespace, runtime, args.calls)
            floor_call(core, namespace, template, runtime)  # warm-up: image in the page cache
            floor = Series(runtime, "(c) floor: plain pod, polled directly")
            floor.seconds = [
                floor_call(core, namespace, template, runtime) for _ in range(args.calls)
            ]
            rows += [kappa, pool, floor]
            print(table(rows), flush=True)
    finally:
        core.delete_namespace(namespace)
    print(f"\ngateway {url}; {args.calls} cold calls each; request at zero pods -> answer")
    print(table(rows))
    print(json.dumps({f"{r.runtime} {r.path}": r.seconds for r in rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
