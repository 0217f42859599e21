"""The operator's cost of the gateways' stats reports: every usage total each second vs the changed ones.

Ten gateways that have each run ten thousand Functions report every second; in any
second a few of those Functions run (``--active``, 100 by default, per gateway). The
real autoscaler endpoint (``kappa.autoscaler.server`` over a real ``Autoscaler`` and
``UsageLedger``) runs in a process of its own on loopback, and its CPU time is read from
``/proc/<pid>/stat`` around each round, so what is measured is the endpoint's own work,
not the reporting side's. Rounds alternate, side by side in one run:

- ``all``: each report carries every total (what a gateway sent before reports carried
  only what changed);
- ``changed``: each report carries the totals that changed since the last one taken
  (``kappa.quota.usage.changed_totals``, as the gateway does), the first one all of them.

Each report is built with the gateway's own ``stats_document``. Per mode: the body's size,
the endpoint's CPU seconds per round (one report from each gateway: what one second of
reporting costs), and the answer times.

    make bench-stats-reports              # BENCH_ARGS="--gateways 10 --functions 10000"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from kappa.autoscaler.loop import Autoscaler
from kappa.autoscaler.server import make_app
from kappa.autoscaler.stats import Sample
from kappa.autoscaler.wire import stats_document, wants_complete_usage
from kappa.quota.usage import Usage, UsageLedger, changed_totals

Key = tuple[str, str]
TICKS = os.sysconf("SC_CLK_TCK")


def serve(port_file: Path) -> None:
    """The endpoint: the real app, a real Autoscaler and ledger, on a free loopback port."""

    async def main() -> None:
        autoscaler = Autoscaler(1000, 1000, wake=lambda _key: None, clock=time.time)
        ledger = UsageLedger(since=time.time() - 3600)
        runner = web.AppRunner(make_app(autoscaler, usage=ledger), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port_file.write_text(str(runner.addresses[0][1]))
        await asyncio.Event().wait()

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


@dataclass
class Gateway:
    """One simulated gateway: its usage totals, and those the endpoint took."""

    name: str
    totals: dict[Key, Usage]
    taken: dict[Key, Usage] = field(default_factory=dict)
    started: float = field(default_factory=lambda: time.time() - 60)

    def run(self, keys: list[Key]) -> dict[Key, Sample]:
        """Those Functions ran once each this second."""
        for key in keys:
            self.totals[key] = self.totals[key] + Usage.of(100, 128)
        return {key: Sample(in_flight=0.5, peak=1) for key in keys}

    def document(self, samples: dict[Key, Sample], mode: str) -> tuple[bytes, dict[Key, Usage]]:
        usage = dict(self.totals) if mode == "all" else changed_totals(self.totals, self.taken)
        complete = self.totals.keys() <= usage.keys()
        body = stats_document(self.name, samples, usage, self.started, complete=complete)
        return json.dumps(body).encode(), usage


async def one_round(
    session: aiohttp.ClientSession, url: str, gateways: list[Gateway], mode: str, active: int,
    second: int,
) -> tuple[list[float], list[int]]:  # fmt: skip
    times: list[float] = []
    sizes: list[int] = []

    async def report(gateway: Gateway, index: int) -> None:
        keys = list(gateway.totals)
        start = (second * active + index * 7919) % len(keys)
        ran = [keys[(start + i) % len(keys)] for i in range(active)]
        body, usage = gateway.document(gateway.run(ran), mode)
        sizes.append(len(body))
        began = time.perf_counter()
        async with session.post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            answer = await response.read()
            assert response.status < 300, (response.status, answer[:200])
        times.append(time.perf_counter() - began)
        if wants_complete_usage(answer):
            gateway.taken = {}
        else:
            gateway.taken.update(usage)

    await asyncio.gather(*(report(g, i) for i, g in enumerate(gateways)))
    return times, sizes


async def measure(args: argparse.Namespace, url: str, pid: int) -> dict[str, dict[str, list]]:
    keys = [(f"team-{i % 50}", f"fn-{i}") for i in range(args.functions)]
    fleets = {
        mode: [
            Gateway(f"{mode}-gw-{g}", {key: Usage(10, 1000, 128_000) for key in keys})
            for g in range(args.gateways)
        ]
        for mode in ("all", "changed")
    }
    results: dict[str, dict[str, list]] = {m: {"cpu": [], "times": [], "sizes": []} for m in fleets}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for mode, fleet in fleets.items():  # each fleet's first report: all totals, not measured
            await one_round(session, url, fleet, mode, args.active, 0)
        for second in range(1, args.rounds + 1):
            for mode in ("all", "changed") if second % 2 else ("changed", "all"):
                before = cpu_seconds(pid)
                times, sizes = await one_round(
                    session, url, fleets[mode], mode, args.active, second
                )
                results[mode]["cpu"].append(cpu_seconds(pid) - before)
                results[mode]["times"].extend(times)
                results[mode]["sizes"].extend(sizes)
                await asyncio.sleep(0.2)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateways", type=int, default=10)
    parser.add_argument("--functions", type=int, default=10_000, help="Functions each gateway ran")
    parser.add_argument(
        "--active", type=int, default=100, help="of them run each second, per gateway"
    )
    parser.add_argument("--rounds", type=int, default=10, help="rounds of each mode")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        port_file = Path(folder) / "port"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the endpoint did not start", file=sys.stderr)
                    return 1
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}/v1/stats"
            results = asyncio.run(measure(args, url, server.pid))
        finally:
            server.terminate()
            server.wait(10)
    print(
        f"{args.gateways} gateways x {args.functions} Functions each, {args.active} of them "
        f"run per gateway each second; {args.rounds} rounds of each mode, alternated"
    )
    print(
        "| usage in each report | body per report | endpoint CPU per round (s) p50 / max "
        "| answer p50 / max (ms) |"
    )
    print("|---|---|---|---|")
    for mode, got in results.items():
        cpu, times = got["cpu"], [t * 1000 for t in got["times"]]
        size = statistics.median(got["sizes"]) / 1024
        print(
            f"| {mode} | {size:,.0f} KiB | {statistics.median(cpu):.3f} / {max(cpu):.3f} "
            f"| {statistics.median(times):.1f} / {max(times):.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
