"""The pod sandbox process (runtime-images/pause/pause.c), compiled and run for real:
it stops cleanly on SIGTERM/SIGINT and, as PID 1 of a PID namespace as in a pod,
reaps the orphans that namespace leaves to it."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "runtime-images/pause/pause.c"


@pytest.fixture(scope="module")
def pause_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build runtime-images/pause/pause.c")
    binary = tmp_path_factory.mktemp("pause") / "pause"
    subprocess.run(
        ["gcc", "-Os", "-static", "-Wall", "-Werror", "-o", str(binary), str(SOURCE)], check=True
    )
    return binary


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_with_exit_0_on(pause_binary: Path, sig: signal.Signals) -> None:
    with subprocess.Popen([str(pause_binary)]) as process:
        time.sleep(0.2)
        assert process.poll() is None  # it waits for a signal, doing nothing
        process.send_signal(sig)
        assert process.wait(timeout=5) == 0


def children_of(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(stat.parent.name), fields[0]))
    return found


def test_as_pid_1_of_a_pid_namespace_reaps_orphans(pause_binary: Path) -> None:
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        pytest.fail("util-linux's unshare and nsenter are needed")
    with subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", str(pause_binary)]
    ) as holder:
        try:
            deadline = time.monotonic() + 5
            while not (inner := children_of(holder.pid)) and time.monotonic() < deadline:
                time.sleep(0.05)
            pause_pid = inner[0][0]
            # A shell in the namespace starts a short sleep in the background and exits:
            # the sleep is orphaned to the namespace's init, which must reap it.
            subprocess.run(
                ["nsenter", "--target", str(pause_pid), "--pid", "--", "sh", "-c", "sleep 0.3 &"],
                check=True,
            )
            time.sleep(0.1)
            assert [state for _, state in children_of(pause_pid)] == ["S"]  # the orphan, adopted
            deadline = time.monotonic() + 5
            while children_of(pause_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert children_of(pause_pid) == []  # exited and reaped: no zombie left
            # unshare forwards nothing: stop the namespace's init itself, which ends it.
            subprocess.run(["kill", "-TERM", str(pause_pid)], check=True)
            assert holder.wait(timeout=5) == 0
        finally:
            holder.kill()  # --kill-child takes the namespace down with it
