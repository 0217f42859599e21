"""Slots ready with and without the zygote: the real agent and real awslambdaric, no cluster.

For perPod 1, 4 and 8, starts the agent (``python -m kappa agent`` of this checkout)
with the python runtime's bootstrap, runtimes exec'd one per slot (``KAPPA_ZYGOTE=off``)
or forked from a zygote (``on``), and reads the agent's own figure, ``ready: N slot(s)
in X ms`` (agent start → every slot's runtime at its first ``/next``), and the memory of
the runtime side once ready: the PSS (shared pages split between their users) of every
process under the agent. The two modes
alternate within each run, so a busy machine weighs on both alike. Medians of ``--runs``.

    .venv/bin/python bench/zygote.py --runs 9
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.agent.agent_harness import python_bootstrap  # noqa: E402

READY = re.compile(r"ready: (\d+) slot\(s\) in ([\d.]+) ms")
HANDLER = "def handler(event, context):\n    return event\n"


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (from /proc: each one's parent)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        children = parents.get(stack.pop(), [])
        found += children
        stack += children
    return found


def pss_kb(pids: list[int]) -> int:
    """The processes' proportional set size, summed (shared pages counted once overall)."""
    total = 0
    for pid in pids:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        match = re.search(r"^Pss:\s+(\d+)", rollup, re.MULTILINE)
        total += int(match.group(1)) if match else 0
    return total


def start_once(directory: Path, slots: int, zygote: str) -> tuple[float, float, int]:
    """One agent start: (the agent's ready figure in ms, wall ms to that line, runtime PSS kB)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "operator"),
        "HOME": str(directory),
        "LANG": "C.UTF-8",
        "KAPPA_RUNTIME": "python3.11",
        "KAPPA_FUNCTION_ARN": "arn:aws:lambda:us-east-1:default:function:bench",
        "KAPPA_AGENT_HOST": "127.0.0.1",
        "KAPPA_AGENT_PORT": "0",
        "KAPPA_RUNTIME_API_PORT": "0",
        "KAPPA_INIT_TIMEOUT_SECONDS": "60",
        "KAPPA_TERMINATION_LOG": str(directory / "termination-log"),
        "KAPPA_BOOTSTRAP": str(directory / "bootstrap-python"),
        "KAPPA_SLOTS": str(slots),
        "KAPPA_ZYGOTE": zygote,
        "LAMBDA_TASK_ROOT": str(directory / "task"),
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "kappa", "agent"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=directory,
    )
    assert process.stdout is not None
    try:
        for raw in process.stdout:
            match = READY.search(raw.decode("utf-8", "replace"))
            if match:
                wall = (time.monotonic() - began) * 1000
                return float(match.group(2)), wall, pss_kb(descendants(process.pid))
        raise RuntimeError(f"agent ended before ready (status {process.wait()})")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        process.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--slots", default="1,4,8")
    args = parser.parse_args()
    slot_counts = [int(part) for part in args.slots.split(",")]
    directory = Path(tempfile.mkdtemp(prefix="kappa-bench-zygote-"))
    try:
        (directory / "task").mkdir()
        (directory / "task" / "app.py").write_text(HANDLER)
        python_bootstrap(directory)
        results: dict[tuple[int, str], list[tuple[float, float, int]]] = {}
        for _ in range(args.runs):
            for slots in slot_counts:
                for zygote in ("off", "on"):
                    results.setdefault((slots, zygote), []).append(
                        start_once(directory, slots, zygote)
                    )
        load = os.getloadavg()[0]
        print(f"{args.runs} runs, {os.cpu_count()} CPUs, load average {load:.2f}")
        print(
            "| slots | runtimes | ready, agent's figure (median ms) | min ms "
            "| wall to ready ms | runtimes' PSS MB |"
        )
        print("|---|---|---|---|---|---|")
        for slots in slot_counts:
            for zygote, label in (("off", "exec'd, one per slot"), ("on", "forked from a zygote")):
                ready = [r for r, _, _ in results[(slots, zygote)]]
                wall = [w for _, w, _ in results[(slots, zygote)]]
                pss = [m / 1024 for _, _, m in results[(slots, zygote)]]
                print(
                    f"| {slots} | {label} | {statistics.median(ready):.1f} | {min(ready):.1f} "
                    f"| {statistics.median(wall):.1f} | {statistics.median(pss):.1f} |"
                )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
