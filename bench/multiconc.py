"""Many requests per environment: 50 calls at once into one pod, perRuntime 50 against 1.

Everything real, on 127.0.0.1, no cluster: the gateway (`kappa gateway --registry`), one
agent (perPod 1) running the python runtime's bootstrap with this checkout's concurrent
runtime, and an `async def` handler that awaits `asyncio.sleep(0.1)`. Per configuration
(perRuntime 50: AWS_LAMBDA_MAX_CONCURRENCY=50; perRuntime 1: Lambda's one call per
environment, the other 49 wait in the gateway's queue for the slot), one warm-up burst,
then `--rounds` bursts of `--calls` Invoke API calls sent together
(tests/integration/agent/burst.py: every connection open before the first request).

Prints per call p50/p99/max (client side, from the request written to the answer read)
and each burst's total time (first request to last answer), side by side; perRuntime 50
also straight to the agent's /invoke, to tell the gateway's share. Asserts nothing.

    .venv/bin/python bench/multiconc.py [--calls 50] [--rounds 5] [--sleep 0.1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.eventsources import _process  # noqa: E402
from tests.integration.agent.agent_harness import (  # noqa: E402
    LISTENING,
    pod_environment,
    python_bootstrap,
)
from tests.integration.agent.burst import Answer, burst  # noqa: E402
from tests.integration.gateway.gateway_harness import arn, function_entry  # noqa: E402

HANDLER = """
import asyncio


async def nap(event, context):
    await asyncio.sleep(event["seconds"])
    return {"ok": True}


def nap_sync(event, context):
    # The same coroutine where a runtime takes one call at a time: awslambdaric (Lambda's
    # Python) would return an async def handler's coroutine unawaited.
    return asyncio.run(nap(event, context))
"""
INVOKE = "/2015-03-31/functions/fn/invocations"


@contextlib.contextmanager
def stack(work: Path, per_runtime: int) -> Iterator[tuple[int, int]]:
    """An agent (perPod 1, `per_runtime` calls per runtime) behind a gateway: their ports."""
    task = work / "task"
    task.mkdir(exist_ok=True)
    (task / "bench_fns.py").write_text(HANDLER)
    handler = "bench_fns.nap" if per_runtime > 1 else "bench_fns.nap_sync"
    env = pod_environment(
        path=os.environ.get("PATH", "/usr/bin:/bin"), home=work, runtime="python3.11",
        handler=handler, task_root=task, bootstrap=python_bootstrap(work),
        settings={"timeout_seconds": 30},
    )  # fmt: skip
    env["KAPPA_FUNCTION_ARN"] = arn("fn")
    env["KAPPA_TERMINATION_LOG"] = str(work / "termination-log")
    if per_runtime > 1:
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(per_runtime)
    agent = _process([sys.executable, "-m", "kappa", "agent"], env, work)
    agent.port = int(agent.wait_for(LISTENING.pattern, 60).group(1))
    agent.wait_for("kappa-agent: ready", 60)
    entry = function_entry("fn", [agent], handler=handler, timeout=30)
    entry["concurrency"]["perRuntime"] = per_runtime
    entry["endpoints"][0]["slots"] = per_runtime
    registry = work / "registry.json"
    registry.write_text(json.dumps({"functions": [entry]}))
    gateway_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LANG": "C.UTF-8",
        "KAPPA_GATEWAY_HOST": "127.0.0.1", "KAPPA_GATEWAY_PORT": "0", "KAPPA_LOG_LEVEL": "INFO",
        "KAPPA_GATEWAY_AUTH": "none",  # no cluster to check callers against
        "KAPPA_GATEWAY_QUEUE_MAX_WAIT_SECONDS": "60",  # perRuntime 1: 49 calls queue
    }  # fmt: skip
    gateway = _process(
        [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)], gateway_env, work
    )
    try:
        yield int(gateway.wait_for(LISTENING.pattern, 60).group(1)), agent.port
    finally:
        gateway.stop()
        agent.stop()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(
    per_runtime: int, calls: int, rounds: int, seconds: float, *, direct: bool = False
) -> dict[str, float]:
    """Figures of `rounds` bursts; `direct`: to the agent's /invoke, not through the gateway."""
    with tempfile.TemporaryDirectory() as tmp, stack(Path(tmp), per_runtime) as ports:
        port, path = (ports[1], "/invoke") if direct else (ports[0], INVOKE)
        events: list[object] = [{"seconds": seconds}] * calls
        burst(port, events, path)  # warm-up: the runtime's first call, connections
        latencies: list[float] = []
        totals: list[float] = []
        for _ in range(rounds):
            started = time.perf_counter()
            answers: list[Answer] = burst(port, events, path)
            totals.append(time.perf_counter() - started)
            bad = [
                a.status for a in answers if a.status != 200 or "x-amz-function-error" in a.headers
            ]
            if bad:
                raise SystemExit(f"perRuntime {per_runtime}: failed calls {bad[:5]}")
            latencies += [a.seconds for a in answers]
    return {
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "max": max(latencies) * 1000,
        "total": statistics.median(totals) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sleep", type=float, default=0.1, help="the handler's asyncio.sleep")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"{args.calls} calls at once into one pod (perPod 1), async handler awaiting "
        f"{args.sleep * 1000:.0f} ms, through the gateway; {args.rounds} bursts after a "
        f"warm-up; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    header = f"{'perRuntime':>10} | {'path':<13} | {'p50 ms':>8} | {'p99 ms':>8} | {'max ms':>8}"
    print(f"{header} | {'burst total ms':>14}")
    for per_runtime, direct in ((args.calls, False), (args.calls, True), (1, False)):
        figures = run(per_runtime, args.calls, args.rounds, args.sleep, direct=direct)
        path = "agent /invoke" if direct else "gateway"
        print(
            f"{per_runtime:>10} | {path:<13} | {figures['p50']:>8.1f} | {figures['p99']:>8.1f} | "
            f"{figures['max']:>8.1f} | {figures['total']:>14.1f}"
        )


if __name__ == "__main__":
    main()
