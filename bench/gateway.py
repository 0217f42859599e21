"""Gateway benchmark: the same no-op Python handler behind four front ends, side by side.

(a) the Kappa gateway in front of a real agent, (b) the agent directly (POST
/invoke), (c) a bare asyncio HTTP server returning the same bytes (the floor),
(d) the OpenFaaS of-watchdog (mode=http) in front of that same bare server as
its upstream. All on 127.0.0.1. For each: p50/p99 of an open-loop, fixed-rate
schedule (latency counted from each request's scheduled send time, so a stall
is not hidden by coordinated omission) at 100 and 1,000 req/s, and closed-loop
maximum throughput (wrk, N connections). Then the gateway's VmRSS while a
one-slot agent with a sleeping handler is offered 10x its capacity (the
bounded queue answers 429). Prints figures; asserts nothing.

    .venv/bin/python bench/gateway.py [--seconds 5] [--rates 100,1000]

The of-watchdog binary is looked for at $KAPPA_OFWATCHDOG
(default /var/cache/kappa/ofwatchdog/of-watchdog); without it (d) is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
from gateway_latency import start, wait_ready

BODY = b'{"k": "v"}'
NOOP = "def handler(event, context):\n    return event\n"
SLEEPY = "import time\n\n\ndef handler(event, context):\n    time.sleep(0.1)\n    return event\n"
SLEEP_CAPACITY = 10.0  # one slot, 0.1 s a call
WATCHDOG = Path(os.environ.get("KAPPA_OFWATCHDOG", "/var/cache/kappa/ofwatchdog/of-watchdog"))


# -- (c) the floor: a bare asyncio HTTP/1.1 server that answers every request with its body.


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            if b"\r\ntransfer-encoding: chunked" in head:  # of-watchdog's Go client sends this
                body, rest = self._chunks(self.buffer[end + 4 :])
                if rest is None:
                    return
                self.buffer = rest
            else:
                match = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
                length = int(match.group(1)) if match else 0
                if len(self.buffer) < end + 4 + length:
                    return
                body = self.buffer[end + 4 : end + 4 + length]
                self.buffer = self.buffer[end + 4 + length :]
            if head.startswith(b"get "):
                body = b"ok"
            # The billed duration, as an agent answers: a gateway in front counts it.
            self.transport.write(  # type: ignore[attr-defined]
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"X-Kappa-Billed-Duration-Ms: 1\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )

    @staticmethod
    def _chunks(data: bytes) -> tuple[bytes, bytes | None]:
        """A chunked body (no trailers) and what follows it; None while incomplete."""
        body, at = b"", 0
        while (line := data.find(b"\r\n", at)) >= 0:
            size = int(data[at:line].split(b";")[0], 16)
            if size == 0:
                return (body, data[line + 4 :]) if len(data) >= line + 4 else (b"", None)
            if len(data) < line + 2 + size + 2:
                break
            body += data[line + 2 : line + 2 + size]
            at = line + 2 + size + 2
        return b"", None


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Echo, "127.0.0.1", port)
    print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


# -- load


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The gateway's 429 for a full wait queue (kappa.gateway.dispatch); one that waited its
# time in the queue says "No capacity became free for this function in time.".
QUEUE_FULL = b"Too many invocations are waiting for this function's capacity."


async def open_loop(url: str, rate: float, seconds: float) -> dict[str, object]:
    """Send rate*seconds POSTs on a fixed schedule; latency from each scheduled time."""
    total = int(rate * seconds)
    latencies: list[float] = []
    refusals: list[float] = []  # 429s for a full queue: how soon such a call is told
    statuses: collections.Counter[object] = collections.Counter()
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=seconds + 20)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512), timeout=timeout
    ) as session:
        for _ in range(200):  # warm-up: connections opened, handler warm
            async with session.post(url, data=BODY) as response:
                await response.read()
        began = loop.time() + 0.05
        finished = [began]

        async def one(index: int) -> None:
            scheduled = began + index / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            try:
                async with session.post(url, data=BODY) as response:
                    body = await response.read()
                    statuses[response.status] += 1
            except (TimeoutError, aiohttp.ClientError) as error:
                statuses[type(error).__name__] += 1
                return
            now = loop.time()
            finished[0] = max(finished[0], now)
            if response.status == 200:
                latencies.append((now - scheduled) * 1000)
            elif response.status == 429 and QUEUE_FULL in body:
                refusals.append((now - scheduled) * 1000)

        await asyncio.wait_for(
            asyncio.gather(*(one(index) for index in range(total))), seconds + 30
        )
    return {
        "p50": quantile(latencies, 0.5),
        "p99": quantile(latencies, 0.99),
        "refused_p50": quantile(refusals, 0.5),
        "refused_p99": quantile(refusals, 0.99),
        "achieved": len(latencies) / max(finished[0] - began, 1e-9),
        "statuses": dict(statuses),
    }


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (NaN for none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wrk(
    url: str, connections: int, seconds: float, script: Path, prefix: list[str] | None = None
) -> tuple[float, str]:
    """Closed-loop throughput from wrk (req/s) and its non-2xx line, if any.

    ``prefix``: what wrk runs under (``taskset -c N``).
    """
    out = subprocess.run(
        [
            *(prefix or []),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: .*", out)
    bad = int(non2xx.group(1)) if non2xx else 0
    note = f"{bad} of {total} non-2xx" if bad else ""
    if socket_errors:
        note += f" {socket_errors.group(0)}"
    return rps * (total - bad) / max(total, 1), note


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def overload(url: str, pid: int, seconds: float) -> dict[str, object]:
    """Offer 10x the sleeping agent's capacity; VmRSS of ``pid`` every 0.1 s meanwhile."""
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        for _ in range(int((seconds + 60) * 10)):
            if stop.wait(0.1):
                return
            samples.append(vm_rss_kib(pid))

    before = vm_rss_kib(pid)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = asyncio.run(open_loop(url, SLEEP_CAPACITY * 10, seconds))
    finally:
        stop.set()
        sampler.join(5)
    return {"before": before, "max": max(samples, default=before), "after": vm_rss_kib(pid),
            **result}  # fmt: skip


# -- processes


def wait_http(port: int, path: str) -> None:
    for _ in range(300):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.05)
    raise SystemExit(f"port {port} never answered {path}")


def agent(
    root: Path, name: str, handler: str, base: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    task = root / name
    task.mkdir()
    (task / "app.py").write_text(handler)
    env = {
        **base,
        "KAPPA_RUNTIME": "python3.11",
        "KAPPA_FUNCTION_ARN": f"arn:aws:lambda:us-east-1:default:function:{name}",
        "KAPPA_AGENT_HOST": "127.0.0.1",
        "KAPPA_AGENT_PORT": "0",
        "KAPPA_RUNTIME_API_PORT": "0",
        "KAPPA_BOOTSTRAP": str(root / "bootstrap"),
        "KAPPA_TERMINATION_LOG": str(root / f"{name}-termination-log"),
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_FUNCTION_NAME": name,
    }
    return start([sys.executable, "-m", "kappa", "agent"], env, root, root / f"{name}.log")


def report(args: argparse.Namespace, rates: list[float], rows: list, over: dict) -> None:
    print(
        f"no-op python handler, loopback, {os.cpu_count()} CPUs; open loop {args.seconds:g} s per rate;"
    )
    print(f"max = wrk -t1 -c{args.connections} -d{args.seconds:g}s (closed loop)")
    header = "".join(f"{f'p50@{r:g}':>11}{f'p99@{r:g}':>11}{'got/s':>8}" for r in rates)
    print(f"{'path':<28}{header}{'max 2xx/s':>11}")
    for label, fixed, rps, errors in rows:
        cells = "".join(f"{f['p50']:>11.2f}{f['p99']:>11.2f}{f['achieved']:>8.0f}" for f in fixed)
        print(f"{label:<28}{cells}{rps:>11.0f}  {errors}")
        bad = [f["statuses"] for f in fixed if set(f["statuses"]) != {200}]
        if bad:
            print(f"{'':<28}statuses: {bad}")
    print(
        f"overload: {SLEEP_CAPACITY * 10:g} req/s for {args.overload_seconds:g} s at a one-slot agent "
        f"sleeping 0.1 s (capacity {SLEEP_CAPACITY:g}/s): statuses {over['statuses']}; gateway VmRSS "
        f"{over['before']} KiB before, {over['max']} KiB max, {over['after']} KiB after; "
        f"a 429 for the full queue answered in p50 {over['refused_p50']:.2f} ms, "
        f"p99 {over['refused_p99']:.2f} ms from its scheduled send"
    )


def start_watchdog(root: Path, base: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """of-watchdog, mode=http, forwarding to this file's bare server as its fprocess."""
    upstream, port = free_port(), free_port()
    with (root / "watchdog.log").open("wb") as sink:
        watchdog = subprocess.Popen(
            [str(WATCHDOG)],
            env={**base, "mode": "http", "port": str(port),
                 "upstream_url": f"http://127.0.0.1:{upstream}", "metrics_port": str(free_port()),
                 "fprocess": f"{sys.executable} {__file__} --serve {upstream}"},
            cwd=root, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_http(port, "/_/health")
    return watchdog, port


def scaffold(root: Path) -> Path:
    """The agents' bootstrap in ``root``; the wrk POST script (returned)."""
    bootstrap = root / "bootstrap"
    bootstrap.write_text(f'#!/bin/sh\nexec {sys.executable} -m awslambdaric "$_HANDLER"\n')
    bootstrap.chmod(0o755)
    script = root / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.body = \'{"k": "v"}\'\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return script


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rates", default="100,1000")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--overload-seconds", type=float, default=5)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(_serve(args.serve))
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (apt-get install -y wrk)")
    rates = [float(rate) for rate in args.rates.split(",")]
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        script = scaffold(root)
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "TZ": "UTC"}
        try:
            noop, noop_port = agent(root, "noop", NOOP, base)
            processes.append(noop)
            sleepy, sleepy_port = agent(root, "sleepy", SLEEPY, base)
            processes.append(sleepy)
            registry = root / "registry.json"
            registry.write_text(json.dumps({"functions": [
                {"name": name, "handler": "app.handler", "timeoutSeconds": 3,
                 "endpoints": [{"pod": f"{name}-0", "address": f"127.0.0.1:{port}", "slots": 1}]}
                for name, port in (("noop", noop_port), ("sleepy", sleepy_port))
            ]}))  # fmt: skip
            gateway, gateway_port = start(
                [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)],
                {**base, "KAPPA_GATEWAY_HOST": "127.0.0.1", "KAPPA_GATEWAY_PORT": "0",
                 "KAPPA_LOG_LEVEL": "INFO", "KAPPA_GATEWAY_AUTH": "none"},
                root,
                root / "gateway.log",
            )  # fmt: skip
            processes.append(gateway)
            floor, floor_port = start(
                [sys.executable, __file__, "--serve", "0"], base, root, root / "floor.log"
            )
            processes.append(floor)
            for port in (noop_port, sleepy_port, gateway_port):
                wait_ready(port)
            targets = {
                "(a) gateway -> agent": f"http://127.0.0.1:{gateway_port}/2015-03-31/functions/noop/invocations",
                "(b) agent /invoke": f"http://127.0.0.1:{noop_port}/invoke",
                "(c) bare asyncio server": f"http://127.0.0.1:{floor_port}/",
            }
            if WATCHDOG.exists():
                watchdog, port = start_watchdog(root, base)
                processes.append(watchdog)
                targets["(d) of-watchdog -> server"] = f"http://127.0.0.1:{port}/"
            else:
                print(f"(d) skipped: no of-watchdog at {WATCHDOG}")
            rows = []
            for label, url in targets.items():
                fixed = [asyncio.run(open_loop(url, rate, args.seconds)) for rate in rates]
                rps, errors = wrk(url, args.connections, args.seconds, script)
                rows.append((label, fixed, rps, errors))
            over = overload(
                f"http://127.0.0.1:{gateway_port}/2015-03-31/functions/sleepy/invocations",
                gateway.pid,
                args.overload_seconds,
            )
        finally:
            stop_all(processes)
    report(args, rates, rows, over)
    return 0


if __name__ == "__main__":
    sys.exit(main())
