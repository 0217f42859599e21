"""The pod sandbox process (runtime-images/pause/pause.c), compiled and run for real:
it stops cleanly on SIGTERM/SIGINT and, as PID 1 of a PID namespace as in a pod,
reaps the orphans that namespace leaves to it."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.integration.waiting import HANG_GUARD, wait_until

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
        # Asleep: its handlers are set and it waits for a signal, doing nothing.
        wait_until(lambda: state_of(process.pid) == "S", what="pause to wait for a signal")
        assert process.poll() is None
        process.send_signal(sig)
        assert process.wait(timeout=HANG_GUARD) == 0


def state_of(pid: int) -> str:
    """The one-letter state of a process (S: asleep, Z: a zombie)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


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
            wait_until(lambda: children_of(holder.pid), what="the namespace's init")
            pause_pid = children_of(holder.pid)[0][0]
            # A shell in the namespace starts a long sleep in the background and exits:
            # the sleep is orphaned to the namespace's init, which must reap it.
            subprocess.run(
                ["nsenter", "--target", str(pause_pid), "--pid", "--", "sh", "-c", "sleep 600 &"],
                check=True,
            )
            wait_until(lambda: children_of(pause_pid), what="the orphan to be adopted")
            [(orphan, state)] = children_of(pause_pid)
            assert state == "S"  # the orphan, adopted, asleep
            subprocess.run(["kill", "-TERM", str(orphan)], check=True)
            # Exited and reaped: no child left, not even a zombie (state Z) of it.
            wait_until(lambda: children_of(pause_pid) == [], what="the orphan to be reaped")
            # unshare forwards nothing: stop the namespace's init itself, which ends it.
            subprocess.run(["kill", "-TERM", str(pause_pid)], check=True)
            assert holder.wait(timeout=HANG_GUARD) == 0
        finally:
            holder.kill()  # --kill-child takes the namespace down with it
