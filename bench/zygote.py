"""Slots ready with and without the zygote: the real agent and real awslambdaric, no cluster.

For perPod 1, 4 and 8, starts the agent (``python -m kappa agent`` of this checkout)
with the python runtime's bootstrap, runtimes exec'd one per slot (``KAPPA_ZYGOTE=off``)
or forked from a zygote (``on``), and reads the agent's own figure, ``ready: N slot(s)
in X ms`` (agent start → every slot's runtime at its first ``/next``), and the memory of
the runtime side once ready: the PSS (shared pages split between their users) of every
process under the agent. The two modes
alternate within each run, so a busy machine weighs on both alike. Medians of ``--runs``.

Then a warm pool's pod (``KAPPA_POOL_TOKEN``, one slot): the agent waits in the pool
(with its zygote started ahead, ``on``, or without, ``off``), and the time from
``POST /specialise`` (the Function's variables and a zip) to its answer (every runtime
at its first ``/next``) and on to the first call's answer, as the operator's claim and
the gateway's first call see them; and the idle pool pod's PSS, agent and zygote.

    .venv/bin/python bench/zygote.py --runs 9
"""

import argparse
import base64
import contextlib
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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


def agent_env(directory: Path, **extra: str) -> dict[str, str]:
    """The variables every agent of this benchmark starts with."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "operator"),
        "HOME": str(directory),
        "LANG": "C.UTF-8",
        "KAPPA_RUNTIME": "python3.11",
        "KAPPA_AGENT_HOST": "127.0.0.1",
        "KAPPA_RUNTIME_API_PORT": "0",
        "KAPPA_INIT_TIMEOUT_SECONDS": "60",
        "KAPPA_TERMINATION_LOG": str(directory / "termination-log"),
        "KAPPA_BOOTSTRAP": str(directory / "bootstrap-python"),
        "LAMBDA_TASK_ROOT": str(directory / "task"),
        **extra,
    }


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def start_once(directory: Path, slots: int, zygote: str) -> tuple[float, float, int]:
    """One agent start: (the agent's ready figure in ms, wall ms to that line, runtime PSS kB)."""
    env = agent_env(
        directory,
        KAPPA_FUNCTION_ARN="arn:aws:lambda:us-east-1:default:function:bench",
        KAPPA_AGENT_PORT="0",
        KAPPA_SLOTS=str(slots),
        KAPPA_ZYGOTE=zygote,
        _HANDLER="app.handler",
        AWS_LAMBDA_FUNCTION_NAME="bench",
    )
    began = time.monotonic()
    with running_agent(directory, env) as (process, output):
        for raw in output:
            match = READY.search(raw.decode("utf-8", "replace"))
            if match:
                wall = (time.monotonic() - began) * 1000
                return float(match.group(2)), wall, pss_kb(descendants(process.pid))
        raise RuntimeError(f"agent ended before ready (status {process.wait()})")


@contextlib.contextmanager
def running_agent(
    directory: Path, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes]]]:
    """``python -m kappa agent`` of this checkout with ``env``, its output; stopped after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kappa", "agent"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=directory,
    )
    assert process.stdout is not None
    try:
        yield process, process.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        process.stdout.close()


def specialise_once(directory: Path, zygote: str, port: int) -> tuple[float, float, int]:
    """One pool pod claimed: (ms to /specialise's answer, ms on to the first call's, idle PSS kB)."""
    env = agent_env(directory, KAPPA_POOL_TOKEN="t" * 64, KAPPA_ZYGOTE=zygote,
                    KAPPA_AGENT_PORT=str(port))  # fmt: skip
    waiting = "pool zygote ready" if zygote == "on" else "a pool pod: no Function yet"
    function = {"KAPPA_FUNCTION_ARN": "arn:aws:lambda:us-east-1:default:function:bench",
                "_HANDLER": "app.handler", "AWS_LAMBDA_FUNCTION_NAME": "bench"}  # fmt: skip
    return pool_claim(directory, env, waiting, function, {"app.py": HANDLER.encode()})


def pool_claim(
    directory: Path, env: dict[str, str], waiting: str, function: dict[str, str],
    files: dict[str, bytes],
) -> tuple[float, float, int]:  # fmt: skip
    """A pool agent (``env``) waits in the pool (until it prints ``waiting``), then is claimed
    for ``function`` with ``files`` as its code and called once: (ms to /specialise's
    answer, ms on to the first call's, PSS kB of the idle pool pod)."""
    task = directory / "task"
    shutil.rmtree(task, ignore_errors=True)
    task.mkdir()
    with running_agent(directory, env) as (process, output):
        for raw in output:
            if waiting in raw.decode("utf-8", "replace"):
                break
        else:
            raise RuntimeError(f"pool agent ended (status {process.wait()})")
        time.sleep(0.2)  # a pool pod waits in the pool before its claim
        idle_kb = pss_kb([process.pid, *descendants(process.pid)])
        port, token = int(env["KAPPA_AGENT_PORT"]), env["KAPPA_POOL_TOKEN"]
        return (*claim(port, token, function, files), idle_kb)


def claim(
    port: int, token: str, function: dict[str, str], files: dict[str, bytes]
) -> tuple[float, float]:
    """Specialise the pool agent on ``port`` and call it once: (ms to /specialise's answer,
    ms on to the first call's answer)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    code = buffer.getvalue()
    body = json.dumps({
        "env": function, "zip": base64.b64encode(code).decode(),
        "sha256": hashlib.sha256(code).hexdigest(),
    }).encode()  # fmt: skip
    began = time.monotonic()
    status, answer = post(port, "/specialise", body, {"Authorization": f"Bearer {token}"})
    specialised = time.monotonic()
    assert status == 200, answer
    status, answer = post(port, "/invoke", b"{}", {})
    assert status == 200, answer
    answered = time.monotonic()
    return (specialised - began) * 1000, (answered - specialised) * 1000


def pool_table(directory: Path, runs: int) -> None:
    """A pool pod's claim, with the zygote started ahead and without, alternating."""
    import socket  # noqa: PLC0415 - a free port for each pool pod

    results: dict[str, list[tuple[float, float, int]]] = {"off": [], "on": []}
    for _ in range(runs):
        for zygote in ("off", "on"):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            results[zygote].append(specialise_once(directory, zygote, port))
    load = os.getloadavg()[0]
    print(f"\nwarm pool pod, one slot: {runs} runs, load average {load:.2f}")
    print("| pool pod | /specialise → answered (median ms) | min ms "
          "| then first call (median ms) | idle pool pod PSS MB |")  # fmt: skip
    print("|---|---|---|---|---|")
    for zygote, label in (("off", "runtime exec'd at the claim"), ("on", "zygote started ahead")):
        claim = [c for c, _, _ in results[zygote]]
        first = [f for _, f, _ in results[zygote]]
        idle = [m / 1024 for _, _, m in results[zygote]]
        print(
            f"| {label} | {statistics.median(claim):.1f} | {min(claim):.1f} "
            f"| {statistics.median(first):.1f} | {statistics.median(idle):.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--slots", default="1,4,8")
    parser.add_argument("--no-pool", dest="pool", action="store_false", help="skip the pool pod")
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
        if args.pool:
            pool_table(directory, args.runs)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
