"""Added latency of the gateway in front of one agent: N sequential warm invokes.

Starts a real agent (`python -m kappa agent`, one slot, a no-op handler run by
awslambdaric) and a real gateway (`python -m kappa gateway --registry FILE`) on
loopback, then times N sequential invocations over one keep-alive connection
each: (b) straight to the agent's /invoke, (a) through the gateway's Invoke
API. Prints p50/p90/p99 and the difference. Prints figures; asserts nothing.

    .venv/bin/python bench/gateway_latency.py [-n 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LISTENING = re.compile(rb"listening on [\d.]+:(\d+)")
HANDLER = "def handler(event, context):\n    return event\n"


def start(
    argv: list[str], env: dict[str, str], cwd: Path, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """Start a process logging to ``log`` (a pipe nobody drains would stall it); its port."""
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if match := LISTENING.search(log.read_bytes()):
            return process, int(match.group(1))
        time.sleep(0.02)
    process.kill()
    process.wait()
    raise SystemExit(f"{argv} did not start:\n{log.read_text()}")


def wait_ready(port: int, path: str = "/readyz") -> None:
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
    raise SystemExit(f"port {port} never became ready")


def timed(port: int, path: str, n: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    body = b'{"k": "v"}'
    try:
        for index in range(n + 100):
            started = time.perf_counter()
            connection.request("POST", path, body=body)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise SystemExit(f"{path}: {response.status}")
            if index >= 100:  # warm-up
                samples.append(elapsed * 1000)
    finally:
        connection.close()
    return samples


def quantile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=1000)[round(q * 1000) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        task = root / "task"
        task.mkdir()
        (task / "app.py").write_text(HANDLER)
        bootstrap = root / "bootstrap"
        bootstrap.write_text(f'#!/bin/sh\nexec {sys.executable} -m awslambdaric "$_HANDLER"\n')
        bootstrap.chmod(0o755)
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "TZ": "UTC"}
        agent_env = {
            **base,
            "KAPPA_RUNTIME": "python3.11",
            "KAPPA_FUNCTION_ARN": "arn:aws:lambda:us-east-1:default:function:noop",
            "KAPPA_AGENT_HOST": "127.0.0.1",
            "KAPPA_AGENT_PORT": "0",
            "KAPPA_RUNTIME_API_PORT": "0",
            "KAPPA_BOOTSTRAP": str(bootstrap),
            "KAPPA_TERMINATION_LOG": str(root / "termination-log"),
            "LAMBDA_TASK_ROOT": str(task),
            "_HANDLER": "app.handler",
            "AWS_LAMBDA_FUNCTION_NAME": "noop",
        }
        agent, agent_port = start(
            [sys.executable, "-m", "kappa", "agent"], agent_env, root, root / "agent.log"
        )
        registry = root / "registry.json"
        registry.write_text(json.dumps({"functions": [{
            "name": "noop", "handler": "app.handler", "timeoutSeconds": 3,
            "endpoints": [{"pod": "noop-0", "address": f"127.0.0.1:{agent_port}", "slots": 1}],
        }]}))  # fmt: skip
        gateway_env = {
            **base,
            "KAPPA_GATEWAY_HOST": "127.0.0.1",
            "KAPPA_GATEWAY_PORT": "0",
            "KAPPA_LOG_LEVEL": "INFO",  # "listening on" is an INFO line; requests log at DEBUG
            "KAPPA_GATEWAY_AUTH": "none",  # no cluster to check callers against
        }
        gateway, gateway_port = start(
            [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)],
            gateway_env,
            root,
            root / "gateway.log",
        )
        try:
            wait_ready(agent_port)
            wait_ready(gateway_port)
            direct = timed(agent_port, "/invoke", args.n)
            through = timed(gateway_port, "/2015-03-31/functions/noop/invocations", args.n)
        finally:
            for process in (gateway, agent):
                process.send_signal(signal.SIGTERM)
                process.wait(20)
    print(f"{args.n} sequential warm invokes, one keep-alive connection, no-op python handler")
    print(f"{'path':<28}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for label, samples in (("agent directly", direct), ("gateway -> agent", through)):
        print(
            f"{label:<28}{statistics.median(samples):>10.3f}{quantile(samples, 0.9):>10.3f}"
            f"{quantile(samples, 0.99):>10.3f}{statistics.fmean(samples):>10.3f}"
        )
    print(
        f"{'added by the gateway':<28}"
        f"{statistics.median(through) - statistics.median(direct):>10.3f}"
        f"{quantile(through, 0.9) - quantile(direct, 0.9):>10.3f}"
        f"{quantile(through, 0.99) - quantile(direct, 0.99):>10.3f}"
        f"{statistics.fmean(through) - statistics.fmean(direct):>10.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
