"""make bench-operator-memory: the operator's memory, CPU and API requests at many Functions,
on a private control plane with no nodes (not the local cluster, not KUBECONFIG).

Starts its own etcd and kube-apiserver (the local cluster's binaries, under
/var/cache/kappa/k8s-v<version>/bin; free ports, a temporary folder, a bearer token),
applies Kappa's CRDs, and runs `kappa operator` as a process of this machine against
it (no webhook; KAPPA_CONCURRENCY_LIMIT large enough for every Function's
`provisioned: 1`). Then, phase after phase, it creates Functions as `make bench-scale`
does (bench/scale.py: the same Functions, threads, watch and counting) until every one
shows Ready=False EnvironmentsStarting for its generation: its ConfigMap and pod made,
its status written. With no scheduler and no node, the pods stay Pending with an empty
status; what a node adds (pod status updates, the Ready pass) is not in these figures.

Per phase: the operator's CPU seconds, RSS peak and at the end, and the API requests per
new Function (apiserver_request_total before and after, less the benchmark's own), one
progress line every --every seconds while it waits; then, --settle seconds after the last
phase, --idle seconds at rest: the operator's CPU seconds and API requests while nothing
changes. The operator is the one of --operator-source (default: this checkout's
operator/, whatever the virtualenv has installed); another checkout's measures a
baseline with the same benchmark. With
--profile DIR the operator writes DIR/<phase>.txt after each phase: its live objects by
type (gc), and with --trace-frames N (tracemalloc: several times slower, and its RSS is
then not the figure) the allocations by file:line and by traceback.

Prints figures; asserts nothing. Usage:
    python bench/operator_memory.py [--phases 1000,5000,10000] [--profile DIR]
    python bench/operator_memory.py --phases 200 --operator-env KAPPA_KUBE_THREADS=8
    python bench/operator_memory.py --operator-source ../base/operator   # a baseline
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from gateway import free_port, stop_all
from gateway_latency import wait_ready
from kubernetes import client, config
from scale import (
    Readiness,
    change_roll,
    cpu_seconds,
    make_namespace,
    report,
    requests,
    rss_mb,
    run_phase,
)

REPO = Path(__file__).resolve().parent.parent
K8S_VERSION = "v1.32.9"  # e2e/local/build-k8s.sh builds this one
BIN = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa")) / f"k8s-{K8S_VERSION}" / "bin"
TOKEN = "kappa-bench-operator-memory"  # noqa: S105 - a throwaway cluster's admin token
STARTING = "EnvironmentsStarting"  # Ready's reason once a Function's pod is made (no node)
PROBE_SIGNAL = signal.SIGUSR2


# ------------------------------------------------------------------ control plane


def _wait_apiserver(port: int, deadline_s: float = 90) -> None:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(
        f"https://127.0.0.1:{port}/readyz", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, context=context, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"kube-apiserver on port {port} not ready after {deadline_s:.0f} s")


@contextmanager
def control_plane(folder: Path) -> Iterator[Path]:
    """etcd and kube-apiserver on free loopback ports, state in ``folder``; the kubeconfig."""
    apiserver = BIN / "kube-apiserver"
    if not apiserver.exists():
        raise SystemExit(f"no {apiserver}: build it with `make k8s-binaries` (cached)")
    etcd_port, peer_port, metrics_port, api_port = (free_port() for _ in range(4))
    subprocess.run(  # the service-account signing key the API server insists on
        ["openssl", "genrsa", "-out", str(folder / "sa.key"), "2048"],
        check=True, capture_output=True,
    )  # fmt: skip
    (folder / "tokens.csv").write_text(f'{TOKEN},kappa-bench,kappa-bench,"system:masters"\n')
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with (folder / "etcd.log").open("wb") as log:
            processes.append(subprocess.Popen(
                ["etcd", "--name", "bench", "--data-dir", str(folder / "etcd"),
                 "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                 "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                 "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                 "--initial-cluster", f"bench=http://127.0.0.1:{peer_port}",
                 "--listen-metrics-urls", f"http://127.0.0.1:{metrics_port}",
                 "--quota-backend-bytes", str(4 << 30), "--unsafe-no-fsync"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ))  # fmt: skip
        wait_ready(metrics_port, "/health")
        with (folder / "kube-apiserver.log").open("wb") as log:
            processes.append(subprocess.Popen(
                [str(apiserver), "--etcd-servers", f"http://127.0.0.1:{etcd_port}",
                 "--bind-address", "127.0.0.1", "--secure-port", str(api_port),
                 "--cert-dir", str(folder / "certs"),
                 "--token-auth-file", str(folder / "tokens.csv"),
                 "--authorization-mode", "RBAC",
                 "--service-cluster-ip-range", "10.97.0.0/16",
                 "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                 "--service-account-key-file", str(folder / "sa.key"),
                 "--service-account-signing-key-file", str(folder / "sa.key"),
                 "--endpoint-reconciler-type", "none", "--profiling=false"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ))  # fmt: skip
        _wait_apiserver(api_port)
        kubeconfig = folder / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "bench",
            "clusters": [{"name": "bench", "cluster": {
                "server": f"https://127.0.0.1:{api_port}",  # its self-made cert, CA included
                "certificate-authority": str(folder / "certs" / "apiserver.crt")}}],
            "users": [{"name": "bench", "user": {"token": TOKEN}}],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
        }))  # fmt: skip
        yield kubeconfig
    finally:
        stop_all(processes)


def apply_crds(api: client.ApiClient) -> None:
    """Kappa's CRDs (crds/), created and Established."""
    extensions = client.ApiextensionsV1Api(api)
    names = []
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        extensions.create_custom_resource_definition(crd)
        names.append(crd["metadata"]["name"])
    for name in names:
        for _ in range(120):
            found = extensions.read_custom_resource_definition(name)
            conditions = found.status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            time.sleep(0.25)
        else:
            raise SystemExit(f"CRD {name} not Established")


# ------------------------------------------------------------------------ operator


@contextmanager
def operator(
    kubeconfig: Path,
    folder: Path,
    limit: int,
    extra_env: dict[str, str],
    *,
    profile: bool,
    source: Path,
) -> Iterator[subprocess.Popen[bytes]]:
    """`kappa operator` (its package in ``source``) against the private control plane,
    logging to folder/operator.log."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KAPPA_")},
        "PYTHONPATH": str(source),
        "KUBECONFIG": str(kubeconfig),
        "KAPPA_AUTOSCALER_PORT": str(port),
        "KAPPA_CONCURRENCY_LIMIT": str(limit),
        "KAPPA_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    argv = [sys.executable, "-m", "kappa", "operator"]
    if profile:
        argv = [sys.executable, str(Path(__file__).resolve()), "--probed-operator"]
    with (folder / "operator.log").open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(8):  # a busy machine, or tracemalloc, makes its start slow
            try:
                wait_ready(port, "/healthz")
                break
            except SystemExit:
                if process.poll() is not None:
                    raise
        else:
            raise SystemExit(f"the operator did not answer on port {port}: {folder}/operator.log")
        yield process
    finally:
        stop_all([process])


def probed_operator() -> int:
    """`kappa operator`; PROBE_SIGNAL writes a report to KAPPA_PROBE_FILE (tracemalloc on,
    with that many frames, when KAPPA_PROBE_FRAMES is more than 0)."""
    frames = int(os.environ.get("KAPPA_PROBE_FRAMES") or 0)
    if frames:
        tracemalloc.start(frames)

    def write(*_: object) -> None:
        target = Path(os.environ.get("KAPPA_PROBE_FILE") or "operator-probe.txt")
        target.write_text(probe_report())

    signal.signal(PROBE_SIGNAL, write)
    from kappa.cli import main  # noqa: PLC0415 - after tracemalloc started

    sys.argv = ["kappa", "operator"]
    return main()


def probe_report(top: int = 40) -> str:
    """Live objects by type (gc: count, shallow size); with tracemalloc on, allocations by
    file:line and by traceback."""
    counts: collections.Counter[str] = collections.Counter()
    sizes: collections.Counter[str] = collections.Counter()
    for thing in gc.get_objects():
        name = type(thing).__qualname__
        counts[name] += 1
        sizes[name] += sys.getsizeof(thing)
    total = sum(sizes.values()) / 1e6
    head = f"== live objects by type (gc: {sum(counts.values()):,}, {total:.1f} MB shallow)"
    lines = [head]
    lines += [
        f"{counts[name]:10,} {size / 1e6:8.2f} MB {name}" for name, size in sizes.most_common(top)
    ]
    if tracemalloc.is_tracing():
        lines += ["", *_traced(top)]
    return "\n".join(lines) + "\n"


def _traced(top: int) -> list[str]:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(inclusive=False, filename_pattern=tracemalloc.__file__)]
    )
    lines = [f"traced: {sum(s.size for s in snapshot.statistics('filename')) / 1e6:.1f} MB"]
    lines.append("\n== by file:line")
    lines += [
        f"{s.size / 1e6:8.2f} MB {s.count:9,} {s.traceback[0]}"
        for s in snapshot.statistics("lineno")[:top]
    ]
    lines.append("\n== by traceback (innermost last)")
    for stat in snapshot.statistics("traceback")[: top // 2]:
        lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:9,}")
        lines += [f"      {frame}" for frame in stat.traceback]
    return lines


# ------------------------------------------------------------------------- phases


def ask_probe(process: subprocess.Popen[bytes], target: Path) -> None:
    """Have the probed operator write its report to ``target`` (it reads the path at start)."""
    current = Path(os.environ["KAPPA_PROBE_FILE"])
    current.unlink(missing_ok=True)
    process.send_signal(PROBE_SIGNAL)
    for _ in range(1200):  # a snapshot of a large heap takes a while
        if current.exists() and current.stat().st_size:
            time.sleep(0.5)
            current.replace(target)
            return
        time.sleep(0.25)
    print(f"  (no probe report from the operator for {target.name})")


def progress(
    readiness: Readiness, names_total: int, began: float, pid: int, every: float
) -> threading.Event:
    """A line every ``every`` seconds while a phase waits: how many are reconciled, RSS."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            print(f"    {time.monotonic() - began:5.0f} s: {len(readiness.first_ready):,} of "
                  f"{names_total:,} reconciled, operator RSS {rss_mb(pid):.0f} MB", flush=True)  # fmt: skip

    threading.Thread(target=run, daemon=True).start()
    return stop


def at_rest(api: client.ApiClient, pid: int, seconds: float, functions: int) -> None:
    """The operator's CPU, RSS and API requests while nothing changes, ``seconds`` long."""
    before, cpu_before = requests(api), cpu_seconds(pid)
    time.sleep(seconds)
    delta = requests(api) - before
    cpu = cpu_seconds(pid) - cpu_before
    print(f"\nat rest with {functions:,} Functions, {seconds:.0f} s: operator {cpu:.2f} CPU s "
          f"({100 * cpu / seconds:.1f} % of a core), RSS {rss_mb(pid):.0f} MB, "
          f"{sum(delta.values()):,} API requests")  # fmt: skip
    for (verb, resource), value in sorted(delta.items()):
        print(f"    {verb:>7} {resource:<28} {value:6}")


def main() -> int:  # noqa: PLR0912, PLR0915 - one straight run
    if sys.argv[1:2] == ["--probed-operator"]:
        return probed_operator()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phases", default="1000,5000,10000",
                        help="Functions in the namespace after each phase, growing")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per phase at most")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between progress lines")
    parser.add_argument("--idle", type=float, default=120.0,
                        help="seconds at rest measured after the last phase (0: none)")  # fmt: skip
    parser.add_argument("--settle", type=float, default=30.0,
                        help="seconds after the last phase before the rest is measured")  # fmt: skip
    parser.add_argument("--operator-source", type=Path, default=REPO / "operator",
                        help="the folder of the operator's kappa package (a baseline: "
                        "another checkout's operator/)")  # fmt: skip
    parser.add_argument("--profile", type=Path, help="folder for a report per phase: live "
                        "objects by type (gc), and allocations with --trace-frames")  # fmt: skip
    parser.add_argument("--trace-frames", type=int, default=0,
                        help="with --profile: tracemalloc with this many frames (slow)")  # fmt: skip
    parser.add_argument("--rolls", type=int, default=5,
                        help="after the last phase, changes of one Function timed to its new "
                        "pod's creation, with all the Functions present (0: none)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--operator-env", action="append", default=[], metavar="NAME=VALUE",
                        help="more environment for the operator (repeatable)")  # fmt: skip
    args = parser.parse_args()
    # Stopped with a signal: the finally blocks still stop etcd, the API server, the operator.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(size) for size in args.phases.split(",")]
    if sizes != sorted(set(sizes)) or sizes[0] < 1:
        sys.exit(f"--phases {args.phases}: growing counts, each at least 1, e.g. 1000,5000,10000")
    extra = dict(item.split("=", 1) for item in args.operator_env)
    folder = Path(tempfile.mkdtemp(prefix="kappa-operator-memory-"))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        extra["KAPPA_PROBE_FILE"] = os.environ["KAPPA_PROBE_FILE"] = str(folder / "probe.txt")
        extra["KAPPA_PROBE_FRAMES"] = str(args.trace_frames)
    print(f"private control plane in {folder} (no nodes)", flush=True)
    try:
        with control_plane(folder) as kubeconfig:
            api = config.new_client_from_config(config_file=str(kubeconfig))
            api.configuration.connection_pool_maxsize = 32
            apply_crds(api)
            limit = sizes[-1] + 100 + 1000  # provisioned 1 each, less the unreserved minimum
            source = args.operator_source.resolve()
            if not (source / "kappa" / "__init__.py").exists():
                sys.exit(f"--operator-source {source}: no kappa package there")
            with operator(
                kubeconfig, folder, limit, extra, profile=bool(args.profile), source=source
            ) as proc:
                time.sleep(5)  # its watches have listed (nothing yet)
                print(f"operator pid {proc.pid} ({source}): RSS {rss_mb(proc.pid):.0f} MB idle",
                      flush=True)  # fmt: skip
                if args.profile:
                    ask_probe(proc, args.profile / "0-idle.txt")
                namespace = make_namespace(client.CoreV1Api(api), smoke=True, service_account=True)
                readiness = Readiness(api, namespace, STARTING)
                for start, total in zip([0, *sizes], sizes, strict=False):
                    print(f"\nphase {start:,} -> {total:,} ...", flush=True)
                    ticker = progress(readiness, total, time.monotonic(), proc.pid, args.every)
                    try:
                        phase = run_phase(api, readiness, start, total, proc.pid, args.timeout)
                    finally:
                        ticker.set()
                    report(phase, start, f"Ready={STARTING}")
                    if args.profile:
                        ask_probe(proc, args.profile / f"{total}.txt")
                    if proc.poll() is not None:
                        print(f"the operator ended (exit {proc.returncode}): {folder}/operator.log")
                        break
                    if phase.ready_s is None:
                        break
                readiness.stop()
                if args.idle and proc.poll() is None:
                    time.sleep(args.settle)
                    at_rest(api, proc.pid, args.idle, sizes[-1])
                if args.rolls and proc.poll() is None:
                    rolls = change_roll(api, namespace, "fn-00000", args.rolls, nodes=False)
                    print(f"\none Function's spec change -> its new pod created, with "
                          f"{sizes[-1]:,} Functions present: "
                          f"{', '.join(f'{s:.3f}' for s in rolls)} s "
                          f"(median {statistics.median(rolls):.3f} s)", flush=True)  # fmt: skip
    finally:
        if args.keep:
            print(f"\nkept {folder}")
        else:
            subprocess.run(["rm", "-rf", str(folder)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
