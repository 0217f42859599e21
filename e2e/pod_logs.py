"""What a Function's pods logged, remembered after the pods go.

A test that reads a Function's log once, at the end, can miss lines that were written:
the pod that ran an early call may have been scaled away since (an idle Function goes to
zero after a minute, and an async retry comes about a minute after the first attempt),
and `kubectl logs -l` prints nothing at all while one of the selected pods cannot be read
(one starting, or one whose container already stopped). `PodLogs` reads each pod on its
own and keeps the longest log each pod has shown, so a test that polls while the calls run
counts every line of every pod it saw, including pods that are gone when it asserts.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class PodLogs:
    """The logs of a namespace's Function pods, polled and remembered pod by pod."""

    def __init__(self, kubectl: Sequence[str]) -> None:
        """``kubectl``: the command and its arguments up to and including ``-n NAMESPACE``."""
        self._kubectl = list(kubectl)
        self._seen: dict[tuple[str, str], list[str]] = {}  # (function, pod) -> its lines
        self.errors: list[str] = []  # what kubectl said when a pod could not be read

    def lines(self, function: str) -> list[str]:
        """Every line the Function's pods logged that any poll so far has seen."""
        pods = subprocess.run(
            [*self._kubectl, "get", "pods", "-l", f"kappa.dev/function={function}",
             "-o", "name"],
            capture_output=True, text=True, check=False,
        ).stdout.split()  # fmt: skip
        for pod in pods:
            done = subprocess.run(
                [*self._kubectl, "logs", pod, "--tail=-1"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                self.errors = [*self.errors[-9:], f"{pod}: {done.stderr.strip()}"]
                continue
            lines = done.stdout.splitlines()
            if len(lines) >= len(self._seen.get((function, pod), [])):
                self._seen[(function, pod)] = lines
        return [
            line for (name, _), lines in sorted(self._seen.items()) if name == function
            for line in lines
        ]  # fmt: skip

    def after(self, function: str, prefix: str) -> list[str]:
        """What follows ``prefix`` on the lines of the Function's pods that start with it."""
        return [line[len(prefix) :] for line in self.lines(function) if line.startswith(prefix)]
