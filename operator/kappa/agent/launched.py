"""What the launcher (:mod:`kappa.agent.launch`) started before the agent, handed to its slots.

One slot's Runtime API socket, bound and listening, and its runtime's process and
output pipe; the agent serves the socket and its slot adopts the process as its first.
"""

import contextlib
import os
import signal
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess


class LaunchedProcess:
    """A runtime started by the launcher: what a slot needs of ``asyncio.subprocess.Process``."""

    def __init__(self, popen: "subprocess.Popen[bytes]") -> None:
        self._popen = popen

    @property
    def pid(self) -> int:
        """Its pid, which is also its process group (a session of its own)."""
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """Its exit status once it has ended: as asyncio's, negative for a signal."""
        return self._popen.poll()

    async def wait(self) -> int:
        """Its exit status, waited for off the event loop."""
        # Imported here: the launcher starts runtimes before asyncio's import (the agent's).
        import asyncio  # noqa: PLC0415

        return await asyncio.to_thread(self._popen.wait)


@dataclass
class LaunchedSlot:
    """One slot's Runtime API socket, bound and listening, and its runtime's process."""

    listener: socket.socket
    process: LaunchedProcess
    output_fd: int  # the read end of the runtime's stdout and stderr

    def discard(self) -> None:
        """Kill the process and close its pipe: no slot took them."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.close(self.output_fd)


@dataclass
class Launched:
    """What the launcher started, for the agent; ``started``: ``time.monotonic`` before it."""

    started: float
    slots: list[LaunchedSlot]

    def close(self) -> None:
        """End what no slot took (the agent did not get as far as its slots)."""
        for slot in self.slots:
            slot.discard()
            slot.listener.close()
        self.slots = []
