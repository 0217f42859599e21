"""A plain pod's cold start without a cluster: exec of the pod's command to its first answer.

Starts the agent and its runtime as a plain Function pod would (the pod's variables, one
slot, the runtime's bootstrap: this checkout's agent, real awslambdaric for python3.11
and, when node and aws-lambda-ric are built locally, real aws-lambda-ric for nodejs22),
in two orders that alternate within each run, so a busy machine weighs on both alike:

- ``agent first``: ``python -m kappa agent``: the agent's imports, then the runtime
  (the order before the launcher);
- ``launcher``: ``python -m kappa.agent.launch`` (the base image's entrypoint): the
  Runtime API bound and the runtime started before the agent's imports.

The figure is the wall time from exec to the first invoke answered on the agent port,
the way the gateway meets a new pod: ``GET /status`` every ``--poll-ms`` until it says
``ready`` (the gateway's readiness probe; connections refused meanwhile are retried at
the same pace), then one ``POST /invoke``. p50 and p99 of ``--runs`` per runtime and
order; the load average is printed.

    .venv/bin/python bench/agent_start.py --runs 30
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.agent.agent_harness import (  # noqa: E402
    AGENT_ENTRY,
    LAUNCHER_ENTRY,
    pod_environment,
    python_bootstrap,
)
from tests.integration.nodejs.harness import build_node_runtime  # noqa: E402

ORDERS = {"agent first": AGENT_ENTRY, "launcher": LAUNCHER_ENTRY}
PY_HANDLER = "def handler(event, context):\n    return event\n"
NODE_HANDLER = "exports.handler = async (event) => event;\n"
_OK = 200


@dataclass(frozen=True)
class Runtime:
    name: str
    bootstrap: Path
    handler: str
    task_root: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ask(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def first_answer(port: int, process: subprocess.Popen[bytes], poll: float) -> None:
    """Poll ``/status`` until ready (as the gateway's probe does), then invoke once."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the agent ended with status {process.returncode}")
        try:
            status, body = ask(port, "GET", "/status")
        except OSError:
            status, body = 0, b""
        if status == _OK and json.loads(body)["state"] == "ready":
            break
        time.sleep(poll)
    else:
        raise RuntimeError("the agent was not ready within 60 s")
    status, body = ask(port, "POST", "/invoke", b'{"n": 1}')
    if status != _OK or json.loads(body) != {"n": 1}:
        raise RuntimeError(f"unexpected answer {status}: {body[:200]!r}")


def one_start(runtime: Runtime, entry: Sequence[str], directory: Path, poll: float) -> float:
    """Seconds from exec to the first invoke's answer."""
    port = free_port()
    env = pod_environment(
        path=os.environ.get("PATH", "/usr/bin:/bin"),
        home=directory,
        runtime=runtime.name,
        handler=runtime.handler,
        task_root=runtime.task_root,
        bootstrap=runtime.bootstrap,
        settings={"agent_port": port, "runtime_api_port": 0, "zygote": "off"},
    )
    env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{runtime.name}"
    env["KAPPA_TERMINATION_LOG"] = str(directory / "termination-log")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", *entry],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=directory,
    )
    try:
        first_answer(port, process, poll)
        return time.monotonic() - started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def runtimes(directory: Path) -> list[Runtime]:
    python_root = directory / "task-python"
    python_root.mkdir()
    (python_root / "app.py").write_text(PY_HANDLER)
    found = [Runtime("python3.11", python_bootstrap(directory), "app.handler", python_root)]
    cache = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa")) / "node"
    try:
        node = build_node_runtime("nodejs22", cache)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"nodejs22 left out: no node runtime client here ({exc})")
        return found
    node_root = directory / "task-node"
    node_root.mkdir()
    (node_root / "index.js").write_text(NODE_HANDLER)
    found.append(Runtime("nodejs22", node.bootstrap, "index.handler", node_root))
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--poll-ms", type=float, default=5.0, help="the status poll's pace")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-agent-start-"))
    try:
        chosen = runtimes(directory)
        times: dict[tuple[str, str], list[float]] = {}
        for run in range(args.runs):
            for runtime in chosen:
                # Alternate which order goes first, too.
                orders = list(ORDERS.items())
                for order, entry in orders if run % 2 == 0 else orders[::-1]:
                    seconds = one_start(runtime, entry, directory, args.poll_ms / 1000)
                    times.setdefault((runtime.name, order), []).append(seconds)
        print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs; poll {args.poll_ms} ms")
        print(f"{'runtime':<12} {'order':<12} {'p50 ms':>8} {'p99 ms':>8} {'min ms':>8}")
        for (name, order), values in times.items():
            p50 = statistics.median(values) * 1000
            p99 = percentile(values, 0.99) * 1000
            print(f"{name:<12} {order:<12} {p50:8.1f} {p99:8.1f} {min(values) * 1000:8.1f}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
