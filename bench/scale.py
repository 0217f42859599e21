"""make bench-scale: many Functions (provisioned 1) applied at once until all are Ready.

On the local cluster (or KUBECONFIG) with simulated nodes (kwok: `make cluster-up
KWOK_NODES=50`), the Functions' pods go to the kwok nodes, which mark them Ready at once,
so what is timed is Kappa's operator and the control plane, not containers starting.
A namespace of the benchmark's own steers them there: its annotations ask the API
server's PodNodeSelector and PodTolerationRestriction admission plugins (which
e2e/local/cluster-up.sh enables) for the kwok nodes' label and taint.

Phases (default 1,000, then 5,000, then 10,000 in all): create the Functions from 16
threads while a watch on the namespace's Functions notes when each is first Ready for its
generation. Per phase:

- time to all created, and to the last Function's first Ready (kwok's simulated pods
  flap to not-ready now and then, so "all Ready at the same instant" may never come on a
  large run; the first-Ready time of every Function does);
- the operator's CPU seconds and resident memory (peak and at the end), read from
  /proc of its process on this host (the containers run here); and those of the
  replicas standing by (they serve the admission webhook from watches of their own);
- API requests per Function: the API server's apiserver_request_total before and
  after, by verb and resource, less the benchmark's own creates and lists.

After the last phase, the time for one Function's change to roll while all of them
exist: its `spec.env` is changed (five times, one after the other) and a pod watch times
the patch to the first pod of the new revision seen by the API server (ADDED).

Provisioned concurrency counts against the cluster's limit (KAPPA_CONCURRENCY_LIMIT,
1,000) less its unreserved minimum, as in Lambda: when that is too small for the
Functions, the operator is restarted with a larger limit for the run, and the old
one is put back at the end.

Prints figures; asserts nothing. Usage:
    python bench/scale.py [--phases 1000,5000,10000] [--keep]
    python bench/scale.py --smoke --phases 5       # real node, no kwok: checks the script
    python bench/scale.py --refuse-pods --phases 1000   # no nodes at all: the operator alone
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "functions"
KWOK_TAINT = {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}
PODS_PER_KWOK_NODE = 100  # of the 110 a kwok node takes, with room to spare
THREADS = 16
CODE = {"app.py": "def handler(event, context):\n    return event\n"}
_COUNTED = frozenset({"functions", "pods", "configmaps", "events", "concurrencyquotas"})
_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
_TICKS = os.sysconf("SC_CLK_TCK")


def function(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": {"inline": CODE},
            "concurrency": {"provisioned": 1},
        },
    }


def is_ready(fn: dict[str, Any], reason: str | None = None) -> bool:
    """Ready for its generation (with ``reason``: Ready has that reason, whatever its status)."""
    generation = fn["metadata"].get("generation")
    return any(
        c.get("type") == "Ready"
        and (c.get("status") == "True" if reason is None else c.get("reason") == reason)
        and c.get("observedGeneration") == generation
        for c in (fn.get("status") or {}).get("conditions") or []
    )


# ------------------------------------------------------------------ observations


def requests(api: client.ApiClient) -> Counter[tuple[str, str]]:
    """apiserver_request_total summed by (verb, resource[/subresource]) for Kappa's kinds."""
    text = api.call_api(
        "/metrics", "GET", auth_settings=["BearerToken"], _preload_content=False,
        _return_http_data_only=True, _request_timeout=30,
    ).data.decode()  # fmt: skip
    counts: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        found = _METRIC.match(line)
        if not found:
            continue
        labels = dict(_LABEL.findall(found["labels"]))
        if labels.get("resource") not in _COUNTED:
            continue
        resource = labels["resource"] + (
            f"/{labels['subresource']}" if labels.get("subresource") else ""
        )
        counts[labels.get("verb", ""), resource] += int(float(found["value"]))
    return counts


def operator_processes() -> dict[str, int]:
    """The operator's processes on this host (the containers' `python3 -m kappa operator`)
    by their pod's name (KAPPA_POD_NAME; "" for a single replica without one)."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if not (b"kappa" in argv and b"operator" in argv and b"-m" in argv):
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        names = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"KAPPA_POD_NAME=")]
        found[names[0] if names else ""] = int(entry.name)
    return found


def live_operator_pods(core: client.CoreV1Api, selector: str) -> set[str]:
    """The operator's pods matching ``selector`` that are not being deleted (a rolled-out
    leader keeps its label until it is gone)."""
    pods = core.list_namespaced_pod(OPERATOR[0], label_selector=selector).items
    return {pod.metadata.name for pod in pods if pod.metadata.deletion_timestamp is None}


def operator_pid(core: client.CoreV1Api) -> int:
    """The leading operator's process on this host (its KAPPA_POD_NAME is the live pod
    labelled the leader; with no label, a single replica's)."""
    processes = operator_processes()
    leaders = live_operator_pods(core, "kappa.dev/operator-leader=true")
    for name, pid in processes.items():
        if name in leaders or not leaders:
            return pid
    sys.exit(
        "no leading operator process on this host: is the operator running on the local cluster?"
    )


def standby_pids(core: client.CoreV1Api, leader: int) -> list[int]:
    """The processes of the operator's other live replicas (standing by: they serve the
    admission webhook from watches of their own)."""
    live = live_operator_pods(core, "app.kubernetes.io/component=operator")
    return [pid for name, pid in operator_processes().items() if name in live and pid != leader]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid``; NaN once it has ended (OOM-killed, say)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid``; NaN once it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Sampler:
    """The operator's resident memory, sampled every 0.5 s while running."""

    pid: int
    peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Sampler:
        self.peak = rss_mb(self.pid)
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, rss_mb(self.pid))


# ------------------------------------------------------------------------ phases


def make_namespace(core: client.CoreV1Api, *, smoke: bool, service_account: bool = False) -> str:
    """A namespace of the benchmark's own, its default ServiceAccount there (made here with
    ``service_account``: a control plane without a controller manager makes none)."""
    name = f"bench-scale-{uuid.uuid4().hex[:6]}"
    annotations = {} if smoke else {
        "scheduler.alpha.kubernetes.io/node-selector": "type=kwok",
        "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([KWOK_TAINT]),
    }  # fmt: skip
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, annotations=annotations))
    )
    if service_account:
        core.create_namespaced_service_account(
            name, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="default"))
        )
    for _ in range(120):
        if core.list_namespaced_service_account(name).items:
            break
        time.sleep(0.5)
    return name


def check_placement(core: client.CoreV1Api, namespace: str) -> None:
    """Refuse to run when the namespace's pods would not go to the kwok nodes."""
    probe = client.V1Pod(
        metadata=client.V1ObjectMeta(name="placement-probe"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="none")]),
    )
    made = core.create_namespaced_pod(namespace, probe, dry_run="All")
    selector = made.spec.node_selector or {}
    tolerated = any(t.key == KWOK_TAINT["key"] for t in made.spec.tolerations or [])
    if selector.get("type") != "kwok" or not tolerated:
        sys.exit(
            "pods of the benchmark's namespace would not go to the kwok nodes: the API server "
            "needs the PodNodeSelector and PodTolerationRestriction admission plugins "
            "(e2e/local/cluster-up.sh enables them; restart the cluster: make cluster-down "
            "cluster-up KWOK_NODES=50)"
        )


def kwok_nodes(core: client.CoreV1Api) -> int:
    nodes = core.list_node(label_selector="type=kwok").items
    return sum(
        1
        for n in nodes
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    )


class Readiness:
    """When each Function of ``namespace`` was first Ready for its generation: one list, then
    a watch (relisted when it expires), so 10,000 Functions cost no list a second."""

    def __init__(self, api: client.ApiClient, namespace: str, reason: str | None) -> None:
        self.api, self.namespace, self.reason = api, namespace, reason
        self.first_ready: dict[str, float] = {}  # name -> time.monotonic()
        self.calls: Counter[str] = Counter()  # the benchmark's own LIST and WATCH requests
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _see(self, fn: dict[str, Any]) -> None:
        name = fn["metadata"]["name"]
        if name not in self.first_ready and is_ready(fn, self.reason):
            self.first_ready[name] = time.monotonic()

    def _run(self) -> None:
        functions = client.CustomObjectsApi(self.api)
        while not self._stop.is_set():
            try:
                listing = functions.list_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL
                )
                self.calls["LIST"] += 1
                for fn in listing["items"]:
                    self._see(fn)
                version: str | None = listing["metadata"]["resourceVersion"]
                while version is not None and not self._stop.is_set():
                    version = self._follow(functions, version)
            except client.ApiException:
                time.sleep(0.2)  # refused: list again

    def _follow(self, functions: client.CustomObjectsApi, version: str) -> str | None:
        """One watch from ``version``; the version to go on from, None when it expired."""
        self.calls["WATCH"] += 1
        for event in watch.Watch().stream(
            functions.list_namespaced_custom_object, GROUP, VERSION,
            self.namespace, PLURAL, resource_version=version, timeout_seconds=10,
        ):  # fmt: skip
            if event["type"] == "ERROR":
                return None  # 410 Gone: list again
            version = event["object"]["metadata"]["resourceVersion"]
            if event["type"] != "DELETED":
                self._see(event["object"])
        return version


@dataclass
class Phase:
    total: int
    created_s: float
    ready_s: float | None
    cpu_s: float
    rss_peak_mb: float
    rss_end_mb: float
    per_function: dict[tuple[str, str], float]
    not_ready: int
    # The standing-by replicas' CPU seconds and resident memory at the end (summed).
    standby_cpu_s: float | None = None
    standby_rss_end_mb: float | None = None


def run_phase(
    api: client.ApiClient,
    readiness: Readiness,
    start: int,
    total: int,
    pid: int,
    timeout: float,
    standbys: list[int] | None = None,
) -> Phase:
    functions = client.CustomObjectsApi(api)
    namespace = readiness.namespace
    before, cpu_before = requests(api), cpu_seconds(pid)
    standbys = standbys or []
    standby_before = sum(cpu_seconds(other) for other in standbys)
    own_before = Counter(readiness.calls)
    names = [f"fn-{index:05}" for index in range(start, total)]
    with Sampler(pid) as sampler:
        began = time.monotonic()

        def create(name: str) -> None:
            functions.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, function(name)
            )

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(create, names))
        created = time.monotonic() - began
        ready_at: float | None = None
        not_ready = len(names)
        while time.monotonic() - began < timeout:
            firsts = readiness.first_ready
            not_ready = sum(1 for name in names if name not in firsts)
            if not_ready == 0:
                ready_at = max(firsts[name] for name in names) - began
                break
            time.sleep(0.5)
        time.sleep(5)  # let the last status writes and events land before counting
    after = requests(api)
    delta = after - before
    own = Counter(readiness.calls) - own_before
    delta["POST", "functions"] -= len(names)  # the benchmark's own
    delta["LIST", "functions"] -= own["LIST"]
    delta["WATCH", "functions"] -= own["WATCH"]
    return Phase(
        total=total,
        created_s=created,
        ready_s=ready_at,
        cpu_s=cpu_seconds(pid) - cpu_before,
        rss_peak_mb=sampler.peak,
        rss_end_mb=rss_mb(pid),
        per_function={key: value / len(names) for key, value in sorted(delta.items()) if value > 0},
        not_ready=not_ready,
        standby_cpu_s=sum(cpu_seconds(other) for other in standbys) - standby_before
        if standbys
        else None,
        standby_rss_end_mb=sum(rss_mb(other) for other in standbys) if standbys else None,
    )


def change_roll(
    api: client.ApiClient, namespace: str, name: str, times: int, *, nodes: bool = True
) -> list[float]:
    """Seconds from a change of ``name``'s spec to the API server's first pod of the new
    revision (a pod watch's ADDED), ``times`` changes one after the other.

    With ``nodes``, each change waits for the Function to be Ready before the next; without
    (pods stay Pending), three seconds."""
    core, functions = client.CoreV1Api(api), client.CustomObjectsApi(api)
    selector = f"kappa.dev/function={name}"
    seconds = []
    for turn in range(times):
        pods = core.list_namespaced_pod(namespace, label_selector=selector)
        known = {pod.metadata.name for pod in pods.items}
        change = {"spec": {"env": [{"name": "ROLL", "value": f"{turn}-{uuid.uuid4().hex[:6]}"}]}}
        stream = watch.Watch()
        began = time.monotonic()
        functions.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, change)
        took = math.nan
        for event in stream.stream(
            core.list_namespaced_pod, namespace, label_selector=selector,
            resource_version=pods.metadata.resource_version, timeout_seconds=60,
        ):  # fmt: skip
            if event["type"] == "ADDED" and event["object"].metadata.name not in known:
                took = time.monotonic() - began
                stream.stop()
        seconds.append(took)
        if not nodes:
            time.sleep(3)
            continue
        for _ in range(120):  # settled (Ready for the new generation) before the next change
            if is_ready(functions.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name)):  # fmt: skip
                break
            time.sleep(0.5)
    return seconds


def report(phase: Phase, start: int, goal: str) -> None:
    count = phase.total - start
    ready = "not all there" if phase.ready_s is None else f"{phase.ready_s:.1f} s"
    print(f"\n{count} Functions applied at once ({start} -> {phase.total} in the namespace):")
    print(f"  created in {phase.created_s:.1f} s ({THREADS} threads); all {goal} in {ready}"
          + (f" ({phase.not_ready} not)" if phase.not_ready else ""))  # fmt: skip
    print(f"  operator: {phase.cpu_s:.1f} CPU s, RSS peak {phase.rss_peak_mb:.0f} MB, "
          f"at the end {phase.rss_end_mb:.0f} MB")  # fmt: skip
    if phase.standby_cpu_s is not None and phase.standby_rss_end_mb is not None:
        print(f"  standing by (serving the webhook): {phase.standby_cpu_s:.1f} CPU s, RSS at "
              f"the end {phase.standby_rss_end_mb:.0f} MB")  # fmt: skip
    if math.isnan(phase.rss_end_mb):
        print("  the measured operator process ended during the phase (killed for memory? "
              "kubectl -n kappa-system get pods -o wide; its lastState says why)")  # fmt: skip
    total = sum(phase.per_function.values())
    print(
        f"  API requests per Function: {total:.1f} (the benchmark's own creates and lists left out)"
    )
    for (verb, resource), value in phase.per_function.items():
        print(f"    {verb:>7} {resource:<28} {value:6.2f}")


OPERATOR = ("kappa-system", "kappa-operator")
LIMIT_VARIABLE = "KAPPA_CONCURRENCY_LIMIT"


def operator_limit(apps: client.AppsV1Api) -> tuple[int, int]:
    """The operator's cluster limit and unreserved minimum (its Deployment's env, or defaults)."""
    deployment = apps.read_namespaced_deployment(OPERATOR[1], OPERATOR[0])
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env or []}
    return int(env.get(LIMIT_VARIABLE) or 1000), int(env.get("KAPPA_UNRESERVED_MINIMUM") or 100)


def set_operator_limit(apps: client.AppsV1Api, core: client.CoreV1Api, limit: int) -> int:
    """Restart the operator with cluster limit ``limit``; the new leader's pid once it leads."""
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "operator", "env": [{"name": LIMIT_VARIABLE, "value": str(limit)}]}
    ]}}}}  # fmt: skip
    apps.patch_namespaced_deployment(OPERATOR[1], OPERATOR[0], patch)
    for _ in range(360):
        time.sleep(0.5)
        leaders = core.list_namespaced_pod(
            OPERATOR[0], label_selector="kappa.dev/operator-leader=true"
        ).items
        if not any(
            env.name == LIMIT_VARIABLE and env.value == str(limit)
            for pod in leaders
            for env in pod.spec.containers[0].env or []
        ):
            continue
        try:
            pid = operator_pid(core)
        except SystemExit:
            continue
        time.sleep(10)  # its watches list everything before it is measured
        return pid
    sys.exit("the operator did not lead again after its cluster limit was changed")


def run(
    api: client.ApiClient, namespace: str, sizes: list[int], pid: int, args: argparse.Namespace
) -> None:
    """The phases, then (with real or kwok nodes) the change's roll."""
    reason = "PodCreateFailed" if args.refuse_pods else None
    readiness = Readiness(api, namespace, reason)
    phase: Phase | None = None
    for start, total in zip([0, *sizes], sizes, strict=False):
        phase = run_phase(
            api,
            readiness,
            start,
            total,
            pid,
            args.timeout,
            standby_pids(client.CoreV1Api(api), pid),
        )
        report(phase, start, "Ready" if reason is None else f"Ready={reason}")
        if phase.ready_s is None:
            break
    readiness.stop()
    if phase is not None and reason is None and args.rolls:
        # Timed even when the last phase's Functions were not all Ready in time: they are
        # all present, which is what the roll is measured against.
        present = sizes[-1] if phase.ready_s is not None else f"{sizes[-1]} (not all Ready)"
        rolls = change_roll(api, namespace, "fn-00000", args.rolls)
        print(f"\none Function's spec change -> its new pod created, with {present} "
              f"Functions present: {', '.join(f'{s:.2f}' for s in rolls)} s "
              f"(median {statistics.median(rolls):.2f} s)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--phases", default="1000,5000,10000",
        help="Functions in the namespace after each phase, growing (e.g. 1000,5000,10000)",
    )  # fmt: skip
    parser.add_argument("--rolls", type=int, default=5, help="changes timed after the last phase")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--smoke", action="store_true", help="no kwok: real pods on the real node")
    parser.add_argument("--keep", action="store_true", help="leave the namespace behind")
    parser.add_argument(
        "--refuse-pods",
        action="store_true",
        help="no kwok: a ResourceQuota of 0 pods refuses every pod; times the operator until "
        "every Function shows Ready=False PodCreateFailed (a proxy without nodes)",
    )
    args = parser.parse_args()

    kubeconfig = os.environ.get("KUBECONFIG") or str(
        Path(__file__).resolve().parent.parent / ".local-cluster/kubeconfig"
    )
    api = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api)
    sizes = [int(size) for size in args.phases.split(",")]
    if sizes != sorted(set(sizes)) or sizes[0] < 1:
        sys.exit(f"--phases {args.phases}: growing counts, each at least 1, e.g. 1000,5000,10000")
    largest = sizes[-1]
    kwok = not (args.smoke or args.refuse_pods)
    if kwok:
        needed = math.ceil(largest / PODS_PER_KWOK_NODE)
        have = kwok_nodes(core)
        if have < needed:
            sys.exit(f"{largest} pods need {needed} kwok nodes, the cluster has {have}: "
                     f"make cluster-up KWOK_NODES={needed}")  # fmt: skip
    pid = operator_pid(core)
    # Provisioned concurrency counts against the cluster's limit, of which the unreserved
    # minimum stays free (Lambda's rule): a larger limit, as Lambda raises an account's.
    apps = client.AppsV1Api(api)
    limit, minimum = operator_limit(apps)
    restore = None
    if limit - minimum < largest + 100:
        restore = limit
        pid = set_operator_limit(apps, core, largest + minimum + 1000)
        print(f"operator restarted with {LIMIT_VARIABLE}={largest + minimum + 1000} (was {limit})")
    namespace = make_namespace(core, smoke=not kwok)
    print(f"namespace {namespace}; operator pid {pid}, RSS {rss_mb(pid):.0f} MB before")
    try:
        if kwok:
            check_placement(core, namespace)
        if args.refuse_pods:
            core.create_namespaced_resource_quota(
                namespace,
                client.V1ResourceQuota(
                    metadata=client.V1ObjectMeta(name="no-pods"),
                    spec=client.V1ResourceQuotaSpec(hard={"pods": "0"}),
                ),
            )
        run(api, namespace, sizes, pid, args)
    finally:
        if not args.keep:
            core.delete_namespace(namespace, propagation_policy="Background")
            print(
                f"\ndeleting namespace {namespace} (its Functions, pods and ConfigMaps go with it)"
            )
        if restore is not None:
            set_operator_limit(apps, core, restore)
            print(f"operator restarted with {LIMIT_VARIABLE}={restore} again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
