"""Asynchronous invocation benchmark: enqueue rate, end-to-end events/s, 202 → handler start.

Real processes on 127.0.0.1: nats-server with JetStream (Debian's), agents running a no-op
Python handler (awslambdaric) that notes when it started, and `kappa gateway`. Three runs:

(1) enqueue: N Event invocations from 16 keep-alive connections to a gateway with no
    workers (KAPPA_ASYNC_WORKERS=0): 202s per second, each after JetStream's ack;
(2) drain: a gateway with workers started on that backlog: events run per second;
(3) latency: events at a fixed rate to the gateway with workers: from each 202 to its
    handler's start (p50/p99; wall clock, one host).

``--baseline REF`` runs (2) first with the gateway of git revision REF on a backlog of its
own, then with this checkout's: the same machine, the same run, side by side.
``--replicas 1,3`` repeats run (1) on a three-node JetStream cluster (three nats-servers
routed to each other, streams in three copies: KAPPA_ASYNC_REPLICAS=3), side by side.

Prints figures; asserts nothing.

    .venv/bin/python bench/async_events.py [-n 5000] [--rate 200] [--seconds 5] [--agents 2]
                                           [--replicas 1,3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from gateway import agent, free_port, scaffold, stop_all
from gateway_latency import start, wait_ready

# Notes the request id and when the handler started (the gateway's 202 came before).
NOTING = """
import os, time

def handler(event, context):
    started = time.time()
    with open(os.environ["LAMBDA_TASK_ROOT"] + "/../started.txt", "a") as out:
        out.write(f"{context.aws_request_id} {started}\\n")
"""
PATH = "/2015-03-31/functions/noop/invocations"
SENDERS = 16


def nats_servers(root: Path, count: int = 1) -> tuple[list[subprocess.Popen[bytes]], str]:
    """``count`` nats-servers (routed to each other when several); their URL list."""
    ports = [free_port() for _ in range(count)]
    routes = [free_port() for _ in range(count)]
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    processes = []
    for i, port in enumerate(ports):
        store = root / f"js{count}-{i}"
        config = root / f"nats{count}-{i}.conf"
        text = f'listen: 127.0.0.1:{port}\nmax_payload: 8MB\njetstream {{ store_dir: "{store}" }}\n'
        if count > 1:
            peers = ", ".join(f"nats-route://127.0.0.1:{r}" for r in routes if r != routes[i])
            text += (f"server_name: n{i}\n"
                     f"cluster {{ name: bench, listen: 127.0.0.1:{routes[i]}, routes: [{peers}] }}\n")  # fmt: skip
        config.write_text(text)
        with (root / f"nats{count}-{i}.log").open("wb") as log:
            processes.append(subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=log))
    time.sleep(0.5 if count == 1 else 3)  # a cluster elects its JetStream leader first
    return processes, ",".join(f"nats://127.0.0.1:{port}" for port in ports)


def send(port: int, count: int, rate: float | None = None) -> dict[str, float]:
    """``count`` events over SENDERS connections (paced to ``rate``/s when given): id → 202 time."""
    accepted: dict[str, float] = {}
    refused: list[int] = []
    lock = threading.Lock()
    began = time.monotonic()

    def sender(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for number in range(index, count, SENDERS):
            if rate is not None:
                time.sleep(max(began + number / rate - time.monotonic(), 0))
            connection.request("POST", PATH, b'{"k": "v"}', {"X-Amz-Invocation-Type": "Event"})
            response = connection.getresponse()
            response.read()
            if response.status != 202:
                with lock:
                    refused.append(response.status)
                return
            with lock:
                accepted[response.getheader("x-amzn-RequestId") or str(uuid.uuid4())] = time.time()
        connection.close()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if refused:
        raise SystemExit(
            f"enqueue answered {sorted(set(refused))} ({len(refused)} senders stopped)"
        )
    return accepted


def started(root: Path) -> dict[str, float]:
    path = root / "started.txt"
    if not path.exists():
        return {}
    return {rid: float(at) for rid, at in (line.split() for line in path.read_text().splitlines())}


def wait_for(root: Path, ids: set[str], timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while not ids <= started(root).keys():
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(ids - started(root).keys())} events never ran")
        time.sleep(0.05)
    return time.monotonic()


def gateway(root: Path, registry: Path, base: dict[str, str], url: str, workers: int,
            name: str, replicas: int = 1, source: Path | None = None,
            ) -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    """A gateway (this checkout's, or the operator/ tree of ``source``), once it can queue."""
    # This checkout's own tree, not whichever the venv was installed from.
    base = {**base, "PYTHONPATH": str((source or Path(__file__).parents[1]) / "operator")}
    env = {**base, "KAPPA_GATEWAY_HOST": "127.0.0.1", "KAPPA_GATEWAY_PORT": "0",
           "KAPPA_LOG_LEVEL": "INFO", "KAPPA_NATS_URL": url,
           "KAPPA_ASYNC_REPLICAS": str(replicas),
           "KAPPA_ASYNC_WORKERS": str(workers),  # no cluster to check callers against:
           "KAPPA_GATEWAY_AUTH": "none"}  # fmt: skip
    process, port = start(
        [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)],
        env, root, root / f"{name}.log",
    )  # fmt: skip
    # Connected to NATS, its streams set up (a revision before /readyz/queue: its /readyz).
    wait_ready(port, "/readyz" if source is not None else "/readyz/queue")
    return process, port


def checkout(revision: str, into: Path) -> Path:
    """The operator/ tree of git ``revision`` of this repository, under ``into``."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", revision, "operator"], check=True,
                             capture_output=True, cwd=Path(__file__).parents[1]).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return sum(times.get(member, 0.0) for member in family)


@dataclass
class Drained:
    """Run (2): events/s end to end, CPU seconds per process, and the draining gateway."""

    rate: float
    spent: dict[str, float]
    worker: subprocess.Popen[bytes]
    port: int


def drain(root: Path, registry: Path, base: dict[str, str], url: str, enqueue_port: int,
          args: argparse.Namespace, others: dict[str, list[int]], source: Path | None = None,
          backlog: dict[str, float] | None = None) -> Drained:  # fmt: skip
    """(2) on ``backlog`` (else a fresh one of ``args.n``) with the gateway of ``source``
    (this checkout's when None); the CPU of ``others`` (name → pids) and of the gateway
    meanwhile, the gateway's start-up (imports, connecting) left out."""
    if backlog is None:
        backlog = send(enqueue_port, args.n)
    before = {pid: tree_cpu_seconds(pid) for pids in others.values() for pid in pids}
    began = time.monotonic()
    name = "worker" if source is None else "baseline"
    worker, port = gateway(root, registry, base, url, args.workers, name, source=source)
    ready = tree_cpu_seconds(worker.pid)
    rate = args.n / (wait_for(root, set(backlog)) - began)
    spent = {"gateway": tree_cpu_seconds(worker.pid) - ready}
    for name, pids in others.items():
        spent[name] = sum(tree_cpu_seconds(pid) - before[pid] for pid in pids)
    return Drained(rate, spent, worker, port)


def per_event(spent: dict[str, float], count: int) -> str:
    """CPU milliseconds per event, by process."""
    return ", ".join(f"{name} {seconds / count * 1000:.2f} ms" for name, seconds in spent.items())


def clustered_enqueue(root: Path, registry: Path, base: dict[str, str], replicas: int,
                      count: int, processes: list[subprocess.Popen[bytes]]) -> float:  # fmt: skip
    """Run (1) on a ``replicas``-node JetStream cluster, streams in as many copies: 202s/s."""
    cluster, url = nats_servers(root, replicas)
    processes.extend(cluster)
    enqueuer, port = gateway(root, registry, base, url, 0, f"enqueuer-r{replicas}", replicas)
    processes.append(enqueuer)
    began = time.monotonic()
    send(port, count)
    return count / (time.monotonic() - began)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="events of runs 1 and 2")
    parser.add_argument("--rate", type=float, default=200, help="events/s of run 3")
    parser.add_argument("--seconds", type=float, default=5, help="length of run 3")
    parser.add_argument("--agents", type=int, default=2, help="one-slot agents")
    parser.add_argument("--workers", type=int, default=32, help="KAPPA_ASYNC_WORKERS")
    parser.add_argument("--baseline", help="git revision whose gateway drains first (2)")
    parser.add_argument("--replicas", default="1",
                        help="run (1) with these stream replicas, e.g. 1,3 (3: a 3-node cluster)")  # fmt: skip
    return parser.parse_args()


def main() -> int:
    args = arguments()
    replica_counts = [int(r) for r in args.replicas.split(",")]
    enqueue_rates: dict[int, float] = {}
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        scaffold(root)
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "TZ": "UTC"}
        try:
            nats, url = nats_servers(root)
            processes.extend(nats)
            ports = []
            for index in range(args.agents):
                process, port = agent(root, f"noop{index}", NOTING, {**base})
                processes.append(process)
                ports.append(port)
            registry = root / "registry.json"
            registry.write_text(json.dumps({"functions": [{
                "name": "noop", "handler": "app.handler", "timeoutSeconds": 3,
                "endpoints": [{"pod": f"noop-{i}", "address": f"127.0.0.1:{port}", "slots": 1}
                              for i, port in enumerate(ports)],
            }]}))  # fmt: skip
            for replicas in (r for r in replica_counts if r != 1):
                enqueue_rates[replicas] = clustered_enqueue(
                    root, registry, base, replicas, args.n, processes
                )
            enqueuer, enqueue_port = gateway(root, registry, base, url, 0, "enqueuer")
            processes.append(enqueuer)
            others = {"nats-server": [nats[0].pid], "agents and runtimes": [
                p.pid for p in processes[len(nats):len(nats) + args.agents]]}  # fmt: skip
            if args.baseline:
                baseline = drain(root, registry, base, url, enqueue_port, args, others,
                                 checkout(args.baseline, root / "baseline"))  # fmt: skip
                stop_all([baseline.worker])
            began = time.monotonic()
            backlog = send(enqueue_port, args.n)
            enqueue_seconds = time.monotonic() - began
            drained = drain(root, registry, base, url, enqueue_port, args, others, backlog=backlog)
            processes.append(drained.worker)
            steady = send(drained.port, int(args.rate * args.seconds), rate=args.rate)
            wait_for(root, set(steady))
            runs = started(root)
            latencies = sorted((runs[rid] - at) * 1000 for rid, at in steady.items())
        finally:
            stop_all(processes)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"async events, {args.agents} one-slot no-op agents, {args.workers} workers, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"(1) enqueue: {args.n} events in {enqueue_seconds:.2f} s = "
          f"{args.n / enqueue_seconds:,.0f} events/s (202 after JetStream's ack)")  # fmt: skip
    for replicas, rate in sorted(enqueue_rates.items()):
        print(f"(1) enqueue on a {replicas}-node JetStream cluster, streams in {replicas} copies: "
              f"{rate:,.0f} events/s")  # fmt: skip
    if args.baseline:
        print(f"(2) drain with the gateway of {args.baseline}: {baseline.rate:,.0f} events/s "
              "end to end")  # fmt: skip
        print(f"    CPU per event: {per_event(baseline.spent, args.n)}")
    print(f"(2) drain of that backlog (gateway start included): {drained.rate:,.0f} events/s "
          "end to end")  # fmt: skip
    print(f"    CPU per event: {per_event(drained.spent, args.n)} "
          "(the gateway's start-up left out)")  # fmt: skip
    print(f"(3) {args.rate:.0f} events/s for {args.seconds:.0f} s: 202 -> handler start "
          f"p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms, max {latencies[-1]:.1f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
