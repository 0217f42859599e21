"""The gateway's own ceiling: the gateway and of-watchdog in front of the same bare server.

The runtime is taken out of the picture: the "agent" behind the gateway is
bench/gateway.py's bare asyncio server (it answers ``POST /invoke`` with the body,
as an agent answers with a no-op handler's result, plus the billed duration an agent
reports), registered as one pod with ``--slots`` slots, so neither a runtime nor
slot routing is the bound. Side by side, on 127.0.0.1:

  (c) the bare server directly (the floor)
  (d) OpenFaaS of-watchdog (mode=http) in front of it (its fprocess)
  (e) Kappa's gateway (this checkout's tree) in front of it
  (e') with ``--baseline REV``: the gateway of git revision REV, the same way

How the two CPUs are shared (``--no-pin`` leaves it to the scheduler): the front end
under test (of-watchdog, the gateway) alone on CPU 0; the bare server and the load
generator on CPU 1 (taskset). Each round measures every target once, in turn, so a
noisy moment hits all of them; the figures are the medians over ``--rounds``.

- max 2xx/s: ``wrk -t1 -cC -dS`` (closed loop), 2xx responses per second;
- p50/p99 at a fixed rate: ``vegeta attack -rate R`` (open loop: requests are sent on
  schedule whether or not earlier ones came back), exact quantiles of its results;
  "added" is a front end's quantile less the bare server's in the same round.

    .venv/bin/python bench/gateway_ceiling.py [--rounds 3] [--seconds 10] [--rate 1000]
        [--baseline main]

wrk comes from Debian (apt-get install wrk); vegeta is built once from its Go module
(bench/vegeta.sh); of-watchdog is looked for as bench/gateway.py says. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from gateway import BODY, WATCHDOG, free_port, stop_all, wait_http, wrk
from gateway_latency import start, wait_ready

HERE = Path(__file__).resolve().parent
INVOKE_PATH = "/2015-03-31/functions/echo/invocations"


@dataclass
class Target:
    label: str
    url: str
    pid: int | None = None  # the front end, whose CPU time is reported
    maxes: list[float] = field(default_factory=list)
    p50s: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    added50: list[float] = field(default_factory=list)
    added99: list[float] = field(default_factory=list)
    cpu_per_call: list[float] = field(default_factory=list)  # µs of the pid's CPU per 2xx
    notes: list[str] = field(default_factory=list)


def pinned(cpu: int | None, argv: list[str]) -> list[str]:
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


def vegeta_binary() -> str:
    found = shutil.which("vegeta")
    if found:
        return found
    return subprocess.run(
        [str(HERE / "vegeta.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()


def fixed_rate(vegeta: str, url: str, rate: int, seconds: float, root: Path,
               cpu: int | None) -> tuple[float, float, str]:  # fmt: skip
    """p50 and p99 (ms) of ``rate`` req/s for ``seconds``, open loop; a note of non-2xx."""
    (root / "body.json").write_bytes(BODY)
    (root / "targets.txt").write_text(
        f"POST {url}\nContent-Type: application/json\n@{root / 'body.json'}\n"
    )

    def attack(duration: float) -> bytes:
        return subprocess.run(
            pinned(cpu, [vegeta, "attack", f"-rate={rate}/s", f"-duration={duration}s",
                         f"-targets={root / 'targets.txt'}", "-timeout=10s"]),
            check=True, capture_output=True, timeout=duration + 60,
        ).stdout  # fmt: skip

    attack(1)  # warm-up: connections opened
    results = attack(seconds)
    text = subprocess.run(
        [vegeta, "encode", "--to", "csv"], input=results, check=True, capture_output=True
    ).stdout.decode()
    latencies, codes = [], {}
    for row in csv.reader(io.StringIO(text)):
        code = int(row[1])
        codes[code] = codes.get(code, 0) + 1
        if 200 <= code < 300:
            latencies.append(int(row[2]) / 1e6)
        elif row[5]:
            codes[row[5][:60]] = codes.get(row[5][:60], 0) + 1
    latencies.sort()
    bad = {k: v for k, v in codes.items() if not (isinstance(k, int) and 200 <= k < 300)}
    note = f"at {rate}/s: {bad}" if bad else ""
    if not latencies:
        return float("nan"), float("nan"), note
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return p(0.5), p(0.99), note


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def checkout(revision: str, into: Path) -> Path:
    """The operator/ tree of git ``revision`` of this repository, under ``into``."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", revision, "operator"], check=True,
                             capture_output=True, cwd=HERE.parent).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def start_gateway(root: Path, name: str, tree: Path, registry: Path, base: dict[str, str],
                  cpu: int | None) -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    env = {**base, "PYTHONPATH": str(tree / "operator"), "KAPPA_GATEWAY_HOST": "127.0.0.1",
           "KAPPA_GATEWAY_PORT": "0", "KAPPA_LOG_LEVEL": "INFO",
           "KAPPA_GATEWAY_AUTH": "none"}  # fmt: skip  # no cluster to check callers against
    argv = [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)]
    process, port = start(pinned(cpu, argv), env, root, root / f"{name}.log")
    wait_ready(port)
    return process, port


def start_watchdog(root: Path, base: dict[str, str], front: int | None,
                   back: int | None) -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    """of-watchdog (mode=http) on ``front``; its fprocess, the bare server, on ``back``."""
    upstream, port = free_port(), free_port()
    serve = " ".join(
        pinned(back, [sys.executable, str(HERE / "gateway.py"), "--serve", str(upstream)])
    )
    with (root / "watchdog.log").open("wb") as sink:
        watchdog = subprocess.Popen(
            pinned(front, [str(WATCHDOG)]),
            env={**base, "mode": "http", "port": str(port),
                 "upstream_url": f"http://127.0.0.1:{upstream}", "metrics_port": str(free_port()),
                 "fprocess": serve},
            cwd=root, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_http(port, "/_/health")
    return watchdog, port


def measure_round(targets: list[Target], args: argparse.Namespace, root: Path, vegeta: str,
                  cpu: int | None) -> None:  # fmt: skip
    """Each target once: wrk's maximum, then (``args.rate``) vegeta's fixed rate."""
    floor_row: tuple[float, float] | None = None
    for target in targets:
        spent = cpu_seconds(target.pid) if target.pid else 0.0
        rps, note = wrk(target.url, args.connections, args.seconds, root / "post.lua",
                        prefix=pinned(cpu, []))  # fmt: skip
        if target.pid:
            used = cpu_seconds(target.pid) - spent
            target.cpu_per_call.append(used / max(rps * args.seconds, 1) * 1e6)
        target.maxes.append(rps)
        if note:
            target.notes.append(note)
        if not args.rate:
            continue
        p50, p99, fixed_note = fixed_rate(vegeta, target.url, args.rate, args.seconds, root, cpu)
        target.p50s.append(p50)
        target.p99s.append(p99)
        if target.label.startswith("(c)"):
            floor_row = (p50, p99)
        elif floor_row is not None:
            target.added50.append(p50 - floor_row[0])
            target.added99.append(p99 - floor_row[1])
        if fixed_note:
            target.notes.append(fixed_note)


def report(targets: list[Target], args: argparse.Namespace, started: str,
           load: tuple[str, str], *, pinned_cpus: bool) -> None:  # fmt: skip
    how = ("front end alone on CPU 0; bare server and load generator on CPU 1" if pinned_cpus else
           "unpinned (the scheduler shares both CPUs among all)")  # fmt: skip
    print(f"{started}; {args.rounds} rounds of {args.seconds:g} s per measurement; {how}")
    print(f"load average before {load[0]}, after {load[1]}")
    print(f"max = wrk -t1 -c{args.connections} -d{args.seconds:g}s; fixed = vegeta -rate {args.rate}/s;"
          f" medians over rounds (each round's value in brackets)")  # fmt: skip
    print("CPU/call: the front end's CPU time (user + system, all its threads) per 2xx under wrk")
    print(
        f"{'path':<34}{'max 2xx/s':>11}{'CPU/call':>10}{'p50 ms':>9}{'p99 ms':>9}{'+p50':>8}{'+p99':>8}"
    )
    for target in targets:
        med = lambda values: statistics.median(values) if values else float("nan")  # noqa: E731
        print(f"{target.label:<34}{med(target.maxes):>11.0f}{med(target.cpu_per_call):>8.0f}µs"
              f"{med(target.p50s):>9.2f}"
              f"{med(target.p99s):>9.2f}{med(target.added50):>8.2f}{med(target.added99):>8.2f}"
              f"  [{', '.join(f'{m:.0f}' for m in target.maxes)}] "
              f"[{', '.join(f'{m:.0f}' for m in target.cpu_per_call)}] "
              f"[p99 {', '.join(f'{m:.2f}' for m in target.p99s)}]")  # fmt: skip
        for note in dict.fromkeys(target.notes):
            print(f"{'':<34}{note}")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:  # noqa: PLR0915 - one straight run
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="of each measurement")
    parser.add_argument(
        "--rate", type=int, default=1000, help="req/s of the fixed-rate run (0: none)"
    )
    parser.add_argument("--connections", type=int, default=64, help="wrk's")
    parser.add_argument("--slots", type=int, default=256, help="of the one pod behind the gateway")
    parser.add_argument("--baseline", help="git revision whose gateway runs beside this one")
    parser.add_argument("--no-pin", action="store_true", help="leave the CPUs to the scheduler")
    parser.add_argument("--only", help="comma-separated letters of the targets to run (c,d,e,e')")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (apt-get install -y wrk)")
    if shutil.which("taskset") is None:
        args.no_pin = True
    front, back = (None, None) if args.no_pin else (0, 1)
    vegeta = vegeta_binary()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "post.lua").write_text(
            f"wrk.method = \"POST\"\nwrk.body = '{BODY.decode()}'\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "TZ": "UTC"}
        targets: list[Target] = []
        try:
            floor, floor_port = start(
                pinned(back, [sys.executable, str(HERE / "gateway.py"), "--serve", "0"]),
                base, root, root / "floor.log",
            )  # fmt: skip
            processes.append(floor)
            wait_http(floor_port, "/")
            targets.append(
                Target("(c) bare server", f"http://127.0.0.1:{floor_port}/invoke", floor.pid)
            )
            if WATCHDOG.exists():
                watchdog, port = start_watchdog(root, base, front, back)
                processes.append(watchdog)
                targets.append(
                    Target("(d) of-watchdog -> server", f"http://127.0.0.1:{port}/invoke",
                           watchdog.pid)
                )  # fmt: skip
            else:
                print(f"(d) skipped: no of-watchdog at {WATCHDOG}")
            registry = root / "registry.json"
            registry.write_text(json.dumps({"functions": [{
                "name": "echo", "handler": "app.handler", "timeoutSeconds": 3,
                "endpoints": [{"pod": "echo-0", "address": f"127.0.0.1:{floor_port}",
                               "slots": args.slots}],
            }]}))  # fmt: skip
            trees = [("(e) gateway -> server", HERE.parent)]
            if args.baseline:
                trees.append(
                    (f"(e') gateway@{args.baseline} -> server",
                     checkout(args.baseline, root / "baseline"))
                )  # fmt: skip
            for index, (label, tree) in enumerate(trees):
                gateway, port = start_gateway(root, f"gateway{index}", tree, registry, base, front)
                processes.append(gateway)
                targets.append(Target(label, f"http://127.0.0.1:{port}{INVOKE_PATH}", gateway.pid))
            if args.only:
                wanted = {f"({letter.strip()})" for letter in args.only.split(",")}
                targets = [t for t in targets if t.label.split()[0] in wanted]
            load_before = loadavg()
            started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            for _ in range(args.rounds):
                measure_round(targets, args, root, vegeta, back)
            load_after = loadavg()
        finally:
            stop_all(processes)
    report(targets, args, started, (load_before, load_after), pinned_cpus=front is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
