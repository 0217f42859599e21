"""A nodejs pool pod's claim with and without its runtime started ahead: the real agent and
the real node runtime (the image's index.cjs and bootstrap, aws-lambda-ric), no cluster.

A warm pool's pod (``KAPPA_POOL_TOKEN``, one slot, 128 MB) waits in the pool, with its
runtime started ahead (``KAPPA_PRESTART=on``: node with the client and ``http`` loaded,
waiting to be handed the Function) or without (``off``: the runtime starts at the
claim); then ``POST /specialise`` with the Function's variables and a zip, timed to its
answer (the runtime at its first ``/next``, what the operator's claim waits for) and on
to the first call's answer: claim → first answer, as the agent sees a cold call through a
pool. And the idle pool pod's PSS (agent, and the runtime started ahead). The two modes
alternate in each run, so a busy machine weighs on both alike.

    .venv/bin/python bench/node_pool.py --runs 15 --runtime nodejs22

The runtime is built (or taken from ``$KAPPA_CACHE/node``) as the integration tests build
it (tests/integration/nodejs/harness.py).
"""

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.zygote import pool_claim  # noqa: E402
from tests.integration.nodejs.harness import build_node_runtime  # noqa: E402

HANDLER = b"exports.handler = async (event) => event;\n"
ARN = "arn:aws:lambda:us-east-1:default:function:bench"
MODES = (("off", "runtime started at the claim"), ("on", "runtime started ahead"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pool_env(directory: Path, runtime: str, bootstrap: Path, prestart: str) -> dict[str, str]:
    """A node pool pod's variables (pool_pod's, as the harness lays the runtime out)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(ROOT / "operator"),
        "HOME": str(directory),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "KAPPA_RUNTIME": runtime,
        "KAPPA_AGENT_HOST": "127.0.0.1",
        "KAPPA_AGENT_PORT": str(free_port()),
        "KAPPA_RUNTIME_API_PORT": "0",
        "KAPPA_INIT_TIMEOUT_SECONDS": "60",
        "KAPPA_TERMINATION_LOG": str(directory / "termination-log"),
        "KAPPA_BOOTSTRAP": str(bootstrap),
        "KAPPA_PRESTART": prestart,
        "KAPPA_POOL_TOKEN": "t" * 64,
        "LAMBDA_TASK_ROOT": str(directory / "task"),
        "LAMBDA_RUNTIME_DIR": str(bootstrap.parent),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_REGION": "us-east-1",
    }


def claim_once(directory: Path, runtime: str, bootstrap: Path, prestart: str) -> tuple[float, ...]:
    """One pool pod claimed: (ms to /specialise's answer, ms on to the first call's, idle kB)."""
    env = pool_env(directory, runtime, bootstrap, prestart)
    waiting = "runtime started ahead is ready" if prestart == "on" else "no Function yet"
    function = {"KAPPA_FUNCTION_ARN": ARN, "_HANDLER": "index.handler",
                "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}  # fmt: skip
    return pool_claim(directory, env, waiting, function, {"index.js": HANDLER})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--runtime", default="nodejs22", choices=("nodejs20", "nodejs22"))
    args = parser.parse_args()
    cache = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa")) / "node"
    bootstrap = build_node_runtime(args.runtime, cache).bootstrap
    directory = Path(tempfile.mkdtemp(prefix="kappa-bench-node-pool-"))
    results: dict[str, list[tuple[float, ...]]] = {mode: [] for mode, _ in MODES}
    try:
        for _ in range(args.runs):
            for mode, _ in MODES:
                results[mode].append(claim_once(directory, args.runtime, bootstrap, mode))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"{args.runtime} pool pod, one slot: {args.runs} runs, {os.cpu_count()} CPUs, "
          f"load average {load:.2f}")  # fmt: skip
    print("| pool pod | /specialise → answered (median ms) | claim → first answer: median ms "
          "| min ms | max ms | idle pool pod PSS MB |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for mode, label in MODES:
        claim = [c for c, _, _ in results[mode]]
        total = [c + f for c, f, _ in results[mode]]
        idle = [m / 1024 for _, _, m in results[mode]]
        print(
            f"| {label} | {statistics.median(claim):.1f} | {statistics.median(total):.1f} "
            f"| {min(total):.1f} | {max(total):.1f} | {statistics.median(idle):.1f} |"
        )


if __name__ == "__main__":
    main()
