"""Response streaming: time to the first byte at the client after the handler's first write.

A real agent runs a real Node streaming handler (``awslambda.streamifyResponse``, the
nodejs22 runtime of tests/integration/nodejs: node and aws-lambda-ric as its image has
them, built once into the cache) that writes a chunk, sleeps 1 s, writes another and
ends. The first chunk carries the handler's clock at its write (``performance.timeOrigin
+ performance.now()``, ms since the epoch); the client notes its own clock when those
bytes arrive. One machine, one clock: the difference is the first write's way from the
handler to the client. Three ways, N sequential calls each (no cluster):

  (1) InvokeWithResponseStream through the gateway (the event stream boto3 reads)
  (2) the HTTP trigger of a ``RESPONSE_STREAM`` Function through the gateway
  (3) the agent's own ``/invoke`` asked for a stream (no gateway: its part of the figure)

    .venv/bin/python bench/streaming.py [-n 20]      # make bench-streaming

Prints p50/p99 (and max) per way, and how long the whole call took; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from gateway import stop_all  # noqa: E402
from gateway_latency import start, wait_ready  # noqa: E402
from tests.integration.agent.agent_harness import pod_environment  # noqa: E402
from tests.integration.gateway.gateway_harness import arn  # noqa: E402
from tests.integration.nodejs.harness import build_node_runtime  # noqa: E402

RUNTIME = "nodejs22"
HANDLER = """\
const { setTimeout: sleep } = require("node:timers/promises");

exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  responseStream.write(`first@${(performance.timeOrigin + performance.now()).toFixed(3)};`);
  await sleep(1000);
  responseStream.write("second;");
  responseStream.end();
});
"""
FIRST = re.compile(rb"first@([\d.]+);")


def first_byte(port: int, path: str, headers: dict[str, str]) -> tuple[float, float]:
    """One call: ms from the handler's first write to its bytes here; the call's seconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    began = time.monotonic()
    try:
        connection.request("POST", path, body=b"{}", headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status} {response.read()[:300]!r}")
        seen = b""
        while (match := FIRST.search(seen)) is None:
            piece = response.read1(65536)
            if not piece:
                raise SystemExit(f"{path}: the stream ended without its first chunk: {seen!r}")
            seen += piece
        arrived = time.time() * 1000
        while response.read1(65536):  # the rest, to the stream's end
            pass
    finally:
        connection.close()
    return arrived - float(match.group(1)), time.monotonic() - began


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def processes() -> Iterator[list]:
    started: list = []
    try:
        yield started
    finally:
        stop_all(started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="calls per way (each takes ~1 s)")
    args = parser.parse_args()
    cache = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa")) / "node"
    runtime = build_node_runtime(RUNTIME, cache)
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        root = Path(scratch)
        task = root / "task"
        task.mkdir()
        (task / "bench.js").write_text(HANDLER)
        running = stack.enter_context(processes())
        env = pod_environment(path="/usr/local/bin:/usr/bin:/bin", home=root, runtime=RUNTIME,
                              handler="bench.handler", task_root=task,
                              bootstrap=runtime.bootstrap, settings={"timeout_seconds": 10})  # fmt: skip
        env.update({"KAPPA_FUNCTION_ARN": arn("streamer"), "AWS_LAMBDA_FUNCTION_NAME": "streamer",
                    "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
                    "KAPPA_TERMINATION_LOG": str(root / "termination-log")})  # fmt: skip
        agent, agent_port = start([sys.executable, "-m", "kappa", "agent"], env, root,
                                  root / "agent.log")  # fmt: skip
        running.append(agent)
        wait_ready(agent_port)
        registry = root / "registry.json"
        registry.write_text(json.dumps({"functions": [{
            "name": "streamer", "runtime": RUNTIME, "handler": "bench.handler",
            "timeoutSeconds": 10, "urlInvokeMode": "RESPONSE_STREAM",
            "endpoints": [{"pod": "streamer-0", "address": f"127.0.0.1:{agent_port}", "slots": 1}],
        }]}))  # fmt: skip
        gateway, gateway_port = start(
            [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)],
            {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "TZ": "UTC",
             "PYTHONPATH": str(REPO / "operator"), "KAPPA_GATEWAY_HOST": "127.0.0.1",
             "KAPPA_GATEWAY_PORT": "0", "KAPPA_LOG_LEVEL": "INFO",
             "KAPPA_GATEWAY_AUTH": "none"},  # no cluster to check callers against
            root, root / "gateway.log",
        )  # fmt: skip
        running.append(gateway)
        wait_ready(gateway_port)
        ways: dict[str, Callable[[], tuple[float, float]]] = {
            "(1) InvokeWithResponseStream": lambda: first_byte(
                gateway_port, "/2021-11-15/functions/streamer/response-streaming-invocations", {}
            ),
            "(2) HTTP trigger, RESPONSE_STREAM": lambda: first_byte(
                gateway_port, "/fn/default/streamer", {}
            ),
            "(3) agent /invoke, streamed": lambda: first_byte(
                agent_port,
                "/invoke",
                {
                    "X-Kappa-Response-Stream": "1",
                    "X-Kappa-Request-Id": f"bench-{time.monotonic_ns()}",
                },
            ),
        }
        load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        first = ways["(1) InvokeWithResponseStream"]
        first()  # warm-up: the runtime initialised, connections open
        results = {label: [way() for _ in range(args.n)] for label, way in ways.items()}
        load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{stamp}; {RUNTIME} (node {runtime.version}) streaming handler: write, sleep 1 s, write;"
          f" {args.n} sequential calls per way")  # fmt: skip
    print(f"load average before {load_before}, after {load_after}")
    print(f"{'way':<36}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'call s p50':>12}")
    for label, samples in results.items():
        firsts = [sample[0] for sample in samples]
        calls = [sample[1] for sample in samples]
        print(f"{label:<36}{statistics.median(firsts):>9.2f}{quantile(firsts, 0.99):>9.2f}"
              f"{max(firsts):>9.2f}{statistics.median(calls):>12.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
