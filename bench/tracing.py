"""The gateway's latency with tracing off and on, side by side in one run.

Two real gateway + agent pairs on loopback (``python -m kappa gateway --registry FILE``,
``python -m kappa agent`` with awslambdaric and a no-op handler): one with tracing off
(no collector), one with ``KAPPA_TRACING_OTLP_ENDPOINT`` set, on the gateway and the agent,
to an OTLP/HTTP receiver in this process that takes and counts every span. Calls carry no
trace header (the gateway starts each trace; sample ratio 1: every call recorded). The two
are timed in alternating blocks of sequential warm invokes over one keep-alive connection
each, so that the machine's noise falls on both alike. Prints p50/p90/p99 and the
difference, and the spans the receiver took. Prints figures; asserts nothing.

    .venv/bin/python bench/tracing.py [-n 3000] [--block 250]
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from gateway_latency import quantile, start, wait_ready  # this folder's process harness

# The kappa of this checkout, whatever copy the venv has installed.
SOURCE = Path(__file__).resolve().parents[1] / "operator"
HANDLER = "def handler(event, context):\n    return event\n"
PATH = "/2015-03-31/functions/noop/invocations"


class Receiver(http.server.ThreadingHTTPServer):
    spans = 0
    lock = threading.Lock()


class Collect(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        count = sum(
            len(scope["spans"])
            for resource in body["resourceSpans"]
            for scope in resource["scopeSpans"]
        )
        with self.server.lock:
            self.server.spans += count
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


def pair(root: Path, name: str, collector: str | None) -> tuple[list[subprocess.Popen[bytes]], int]:
    """An agent and a gateway in front of it; the gateway's port."""
    folder = root / name
    task = folder / "task"
    task.mkdir(parents=True)
    (task / "app.py").write_text(HANDLER)
    bootstrap = folder / "bootstrap"
    bootstrap.write_text(f'#!/bin/sh\nexec {sys.executable} -m awslambdaric "$_HANDLER"\n')
    bootstrap.chmod(0o755)
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "TZ": "UTC",
        "PYTHONPATH": str(SOURCE),
    }
    if collector is not None:
        base["KAPPA_TRACING_OTLP_ENDPOINT"] = collector
    agent_env = {
        **base,
        "KAPPA_RUNTIME": "python3.11",
        "KAPPA_FUNCTION_ARN": "arn:aws:lambda:us-east-1:default:function:noop",
        "KAPPA_AGENT_HOST": "127.0.0.1",
        "KAPPA_AGENT_PORT": "0",
        "KAPPA_RUNTIME_API_PORT": "0",
        "KAPPA_BOOTSTRAP": str(bootstrap),
        "KAPPA_TERMINATION_LOG": str(folder / "termination-log"),
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "noop",
    }
    agent, agent_port = start(
        [sys.executable, "-m", "kappa", "agent"], agent_env, folder, folder / "agent.log"
    )
    registry = folder / "registry.json"
    registry.write_text(json.dumps({"functions": [{
        "name": "noop", "handler": "app.handler", "timeoutSeconds": 3,
        "endpoints": [{"pod": "noop-0", "address": f"127.0.0.1:{agent_port}", "slots": 1}],
    }]}))  # fmt: skip
    gateway_env = {
        **base,
        "KAPPA_GATEWAY_HOST": "127.0.0.1",
        "KAPPA_GATEWAY_PORT": "0",
        "KAPPA_LOG_LEVEL": "INFO",
        "KAPPA_GATEWAY_AUTH": "none",
    }
    gateway, gateway_port = start(
        [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)],
        gateway_env,
        folder,
        folder / "gateway.log",
    )
    wait_ready(agent_port)
    wait_ready(gateway_port)
    return [gateway, agent], gateway_port


def block(connection: http.client.HTTPConnection, n: int, samples: list[float]) -> None:
    for _ in range(n):
        started = time.perf_counter()
        connection.request("POST", PATH, body=b'{"k": "v"}')
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"{response.status}: {response.read()!r}")
        samples.append(elapsed * 1000)


def dropped(port: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("kappa_gateway_spans_dropped_total")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000, help="timed calls of each setting")
    parser.add_argument("--block", type=int, default=250, help="calls per alternating block")
    args = parser.parse_args()
    receiver = Receiver(("127.0.0.1", 0), Collect)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    collector = f"http://127.0.0.1:{receiver.server_address[1]}"
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        try:
            off_processes, off_port = pair(root, "off", None)
            processes += off_processes
            on_processes, on_port = pair(root, "on", collector)
            processes += on_processes
            samples: dict[str, list[float]] = {"off": [], "on": []}
            connections = {
                "off": http.client.HTTPConnection("127.0.0.1", off_port, timeout=30),
                "on": http.client.HTTPConnection("127.0.0.1", on_port, timeout=30),
            }
            for connection in connections.values():
                block(connection, 200, [])  # warm-up, not counted
            done = 0
            while done < args.n:
                size = min(args.block, args.n - done)
                for label in ("off", "on") if done // args.block % 2 == 0 else ("on", "off"):
                    block(connections[label], size, samples[label])
                done += size
            lost = dropped(on_port)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(20)
    receiver.shutdown()
    print(
        f"{args.n} sequential warm invokes per setting, alternating blocks of {args.block}, "
        "one keep-alive connection each, no-op python handler, no trace header"
    )
    print(f"{'tracing':<28}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for label, text in (("off", "off"), ("on", "on (gateway + agent spans)")):
        data = samples[label]
        print(
            f"{text:<28}{statistics.median(data):>10.3f}{quantile(data, 0.9):>10.3f}"
            f"{quantile(data, 0.99):>10.3f}{statistics.fmean(data):>10.3f}"
        )
    off, on = samples["off"], samples["on"]
    print(
        f"{'added by tracing':<28}{statistics.median(on) - statistics.median(off):>10.3f}"
        f"{quantile(on, 0.9) - quantile(off, 0.9):>10.3f}"
        f"{quantile(on, 0.99) - quantile(off, 0.99):>10.3f}"
        f"{statistics.fmean(on) - statistics.fmean(off):>10.3f}"
    )
    print(f"spans received: {receiver.spans} (2 per traced call, warm-up included); "
          f"dropped by the gateway: {lost:.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
