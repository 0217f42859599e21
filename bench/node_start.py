"""A Node.js runtime's start, exec to its first ``/next``: the entry of the image vs before.

For nodejs20 and nodejs22, the runtime as the images build it (tests/integration/nodejs's
build, runtime-images/nodejs-ric) is started against a tiny Runtime API on loopback that
notes the first ``GET /next`` and never answers it; the figures are the wall time from
exec to that request and the CPU time node used by then (user + system: less moved than
the wall time by a busy machine). Modes, alternating within each run:

- ``before``: the entry before V8's flags were set back while the client loads
  (``index.mjs``: ``await run(...)``), with the bootstrap's flags;
- ``image``: the image's bootstrap and entry (``index.cjs``, README.md, "Start");
- ``before + compile cache`` (Node 22): ``before`` with ``NODE_COMPILE_CACHE`` on a
  directory filled by a first start, so the client's bundle comes from node's disk cache;
- ``no V8 flags``: ``before`` without ``--expose-gc`` and the heap sizes (a floor, not
  Lambda's behaviour).

Then the parts of the start, each a node that exits (exec to exit): node alone, node
loading the client's native addon, node importing the client (no V8 flags), and the
agent's own figure (``ready: 1 slot(s) in X ms``, bench/zygote.py) for ``before`` and
``image``. Medians and minimums of ``--runs``; the load average is printed.

    .venv/bin/python bench/node_start.py --runs 15
"""

import argparse
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.zygote import READY, agent_env, running_agent  # noqa: E402
from tests.integration.nodejs.harness import RUNTIMES, build_node_runtime  # noqa: E402

# The entry before this change, for the comparison.
ENTRY_BEFORE = """import { run } from "./ric/dist/index.mjs";

await run(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || "");
"""
HANDLER = "exports.handler = async (event) => event;\n"
MEMORY_MB = "128"  # a Function's default memory size
Sample = tuple[float, float]  # (wall ms, CPU ms)


class FirstNext(http.server.BaseHTTPRequestHandler):
    """Notes the first request's time and holds it unanswered until released."""

    server: "RuntimeApi"

    def do_GET(self) -> None:
        self.server.first_at = time.monotonic()
        self.server.arrived.set()
        self.server.release.wait(30)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Quiet."""


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FirstNext)
        self.first_at = 0.0
        self.arrived = threading.Event()
        self.release = threading.Event()


def cpu_ms(process: subprocess.Popen[bytes]) -> float:
    """Wait for ``process`` and return the CPU time it used."""
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped here
    return (usage.ru_utime + usage.ru_stime) * 1000


def to_first_next(command: list[str], env: dict[str, str]) -> Sample:
    """Exec ``command`` as a runtime; (ms to its first /next, CPU ms by then)."""
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}"}
        began = time.monotonic()
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        arrived = api.arrived.wait(60)
        process.kill()
        cpu = cpu_ms(process)
        if not arrived:
            raise RuntimeError(f"{command}: no /next within 60 s")
        return (api.first_at - began) * 1000, cpu
    finally:
        api.release.set()
        api.shutdown()
        api.server_close()


def to_exit(command: list[str], env: dict[str, str]) -> Sample:
    """Exec ``command``; (ms to its exit, CPU ms)."""
    began = time.monotonic()
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    cpu = cpu_ms(process)
    return (time.monotonic() - began) * 1000, cpu


def agent_ready(directory: Path, bootstrap: Path, runtime: str) -> Sample:
    """The agent's own figure, agent start to the runtime's first /next (CPU not measured)."""
    env = agent_env(
        directory,
        KAPPA_RUNTIME=runtime,
        KAPPA_BOOTSTRAP=str(bootstrap),
        KAPPA_FUNCTION_ARN="arn:aws:lambda:us-east-1:default:function:bench",
        KAPPA_AGENT_PORT="0",
        KAPPA_SLOTS="1",
        _HANDLER="app.handler",
        AWS_LAMBDA_FUNCTION_NAME="bench",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=MEMORY_MB,
    )
    with running_agent(directory, env) as (process, output):
        for raw in output:
            if match := READY.search(raw.decode("utf-8", "replace")):
                return float(match.group(2)), float("nan")
        raise RuntimeError(f"agent ended before ready (status {process.wait()})")


def runtime_tree(directory: Path, runtime: str) -> Path:
    """A copy of the built runtime (node linked) with the entry before beside the image's.

    Returns the runtime directory: ``bootstrap`` (the image's), ``bootstrap-before``.
    """
    built = build_node_runtime(
        runtime, Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa")) / "node"
    )
    tree = directory / runtime
    (tree / "lang").mkdir(parents=True)
    (tree / "lang/bin").symlink_to(built.bootstrap.parent.parent / "lang/bin")
    runtime_dir = tree / "runtime"
    shutil.copytree(built.bootstrap.parent, runtime_dir)
    (runtime_dir / "index.mjs").write_text(ENTRY_BEFORE)
    bootstrap = (runtime_dir / "bootstrap").read_text()
    assert '"$runtime_dir/index.cjs"' in bootstrap, "the bootstrap no longer starts index.cjs"
    before = runtime_dir / "bootstrap-before"
    before.write_text(bootstrap.replace('"$runtime_dir/index.cjs"', '"$runtime_dir/index.mjs"'))
    before.chmod(0o755)
    return runtime_dir


def table(title: str, results: dict[str, list[Sample]], *, cpu: bool = True) -> None:
    print(f"\n{title}")
    print("| mode | median ms | min ms |" + (" CPU median ms | CPU min ms |" if cpu else ""))
    print("|---|---|---|" + ("---|---|" if cpu else ""))
    for mode, samples in results.items():
        wall = [w for w, _ in samples]
        row = f"| {mode} | {statistics.median(wall):.1f} | {min(wall):.1f} |"
        if cpu:
            used = [c for _, c in samples]
            row += f" {statistics.median(used):.1f} | {min(used):.1f} |"
        print(row)


def bench_runtime(directory: Path, runtime: str, runs: int) -> None:
    runtime_dir = runtime_tree(directory, runtime)
    node = str(runtime_dir.parent / "lang/bin/node")
    task = directory / "task"
    env = {
        "PATH": "/usr/bin:/bin",
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": MEMORY_MB,
    }
    before = ["sh", str(runtime_dir / "bootstrap-before")]
    starts: dict[str, Callable[[], Sample]] = {
        "before (index.mjs)": lambda: to_first_next(before, env),
        "image (index.cjs)": lambda: to_first_next(["sh", str(runtime_dir / "bootstrap")], env),
    }
    if runtime != "nodejs20":  # Node 20 has no compile cache
        cache = {**env, "NODE_COMPILE_CACHE": str(directory / f"compile-cache-{runtime}")}
        to_first_next(before, cache)  # fills it
        starts["before + compile cache"] = lambda: to_first_next(before, cache)
    plain = [node, "--max-http-header-size", "81920", str(runtime_dir / "index.mjs")]
    starts["no V8 flags (floor)"] = lambda: to_first_next(plain, env)
    ric = runtime_dir / "ric/dist"
    parts: dict[str, Callable[[], Sample]] = {
        "node -e 0": lambda: to_exit([node, "-e", "0"], env),
        "node, load the addon": lambda: to_exit(
            [node, "-e", f"require({str(ric / 'rapid-client.node')!r})"], env
        ),
        "node, import the client": lambda: to_exit(
            [node, "--input-type=module", "-e", f"await import({str(ric / 'index.mjs')!r})"], env
        ),
    }
    agent: dict[str, Callable[[], Sample]] = {
        "before (index.mjs)": lambda: agent_ready(
            directory, runtime_dir / "bootstrap-before", runtime
        ),
        "image (index.cjs)": lambda: agent_ready(directory, runtime_dir / "bootstrap", runtime),
    }
    groups = (starts, parts, agent)
    results: list[dict[str, list[Sample]]] = [{mode: [] for mode in group} for group in groups]
    for _ in range(runs):
        for group, found in zip(groups, results, strict=True):
            for mode, start in group.items():
                found[mode].append(start())
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\n### {runtime}: {runs} runs, {os.cpu_count()} CPUs, load average {' '.join(load)}")
    table("exec → first /next (bootstrap, memory 128 MB)", results[0])
    table("parts: exec → exit", results[1])
    table("the agent's ready figure (agent start → first /next)", results[2], cpu=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="kappa-bench-node-start-"))
    try:
        (directory / "task").mkdir()
        (directory / "task/app.js").write_text(HANDLER)
        for runtime in args.runtimes.split(","):
            if runtime not in RUNTIMES:
                parser.error(f"--runtimes: {runtime} is not one of {', '.join(RUNTIMES)}")
            bench_runtime(directory, runtime, args.runs)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
