"""A runtime process started ahead, waiting in a warm pool's pod to be handed its Function.

V8 cannot fork, so a node pool pod cannot have a zygote (:mod:`kappa.agent.zygote`).
Instead its agent starts one runtime process ahead (the image's bootstrap, node and
aws-lambda-ric's ``index.cjs``) with the pool's environment plus ``KAPPA_PRESTART_FD``:
one end of a socket pair. The runtime loads its client and ``http``, says
``{"event": "ready", "pid": P}`` (a line), and waits. Once a Function claims the pod, its
first slot is handed the process: one JSON object, ``{"env": {...}, "cwd": "..."}`` (the
whole environment a fresh runtime of that slot would start with, the Runtime API's
address in it, and its working directory), then end of file. The runtime replaces its
environment with ``env`` (node applies a new ``TZ`` when it is assigned), changes to
``cwd``, and runs the handler exactly as a fresh runtime does; end of file with nothing
before it (the agent stopped it in the pool) ends it.

Its output goes, from its start, to a pipe of its own: the agent logs what it writes
while it waits, and the slot that takes it reads the pipe from then on. A process that
ends while it waits is replaced (``MAX_STARTS`` in all, then runtimes start afresh). A
process is handed over once, to one Function: a slot's restarts start afresh.
"""

import asyncio
import json
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from kappa.agent.logsink import LogSink
from kappa.agent.zygote import end_group

# A KAPPA_ variable: a Function's own never reaches its runtimes (settings.runtime_env).
FD_VARIABLE: Final = "KAPPA_PRESTART_FD"
MAX_STARTS: Final = 3
_READ_BYTES: Final = 64 * 1024
_READY_LINE_BYTES: Final = 1024
_STOP_GRACE_SECONDS: Final = 2.0


class Prestarted:
    """One runtime process started ahead (and its replacements). See the module docstring."""

    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, *, sink: LogSink
    ) -> None:
        self._argv = tuple(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._sink = sink
        self._process: asyncio.subprocess.Process | None = None
        self._channel: socket.socket | None = None
        self._output_fd: int | None = None
        self._ready: asyncio.Future[str | None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._starts = 0
        self._closed = False
        self.problem: str | None = None  # why there is none, once there cannot be one

    @property
    def argv(self) -> tuple[str, ...]:
        """The command it was started with (the bootstrap's)."""
        return self._argv

    @property
    def env(self) -> Mapping[str, str]:
        """The environment it was started with, less its channel's variable."""
        return self._env

    @property
    def cwd(self) -> Path:
        """Its working directory (the task root)."""
        return self._cwd

    @property
    def pid(self) -> int | None:
        """The current process's pid, while there is one."""
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the process (again, after one ended); sets ``problem`` when it cannot."""
        if self._closed or self._starts >= MAX_STARTS:
            self.problem = self.problem or f"{MAX_STARTS} runtimes started ahead ended"
            return
        self._starts += 1
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        read_fd, write_fd = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                cwd=self._cwd,
                env={**self._env, FD_VARIABLE: str(theirs.fileno())},
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # as a slot's runtime: its pid is its process group
            )
        except OSError as exc:
            ours.close()
            os.close(read_fd)
            self.problem = f"{self._argv[0]}: {exc.strerror}"
            return
        finally:
            theirs.close()
            os.close(write_fd)
        loop = asyncio.get_running_loop()
        ours.setblocking(False)  # noqa: FBT003 - socket's own signature
        self._channel = ours
        self._output_fd = read_fd
        os.set_blocking(read_fd, False)
        loop.add_reader(read_fd, self._drain)
        self._ready = asyncio.ensure_future(self._read_ready(ours))
        self._watch = asyncio.ensure_future(self._watch_in_pool(self._process))

    async def _read_ready(self, channel: socket.socket) -> str | None:
        """None once the process says it is ready; else why it is not."""
        loop = asyncio.get_running_loop()
        line = b""
        while not line.endswith(b"\n") and len(line) < _READY_LINE_BYTES:
            try:
                data = await loop.sock_recv(channel, _READY_LINE_BYTES)
            except OSError as exc:
                return f"its channel broke ({exc.strerror})"
            if not data:
                return "it ended before it was ready"
            line += data
        try:
            said = json.loads(line)
        except ValueError:
            said = None
        if not isinstance(said, dict) or said.get("event") != "ready":
            return f"it said {line[:100]!r}, not ready"
        self._sink.log("INFO", f"the runtime started ahead is ready (pid {self.pid})")
        return None

    async def _watch_in_pool(self, process: asyncio.subprocess.Process) -> None:
        """A process that ends while it waits in the pool is replaced."""
        code = await process.wait()
        if self._closed or self._process is not process:
            return
        self._sink.log("WARN", f"the runtime started ahead ended (status {code}): replacing it")
        self._drain()
        self._release()
        await self.start()
        if self.problem is not None:
            self._sink.log("WARN", f"no runtime started ahead ({self.problem}): it starts afresh")

    def _drain(self) -> None:
        """Log what the process writes while it waits (nothing, normally)."""
        fd = self._output_fd
        while fd is not None:
            try:
                data = os.read(fd, _READ_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                asyncio.get_running_loop().remove_reader(fd)
                return
            self._sink.raw(data)

    async def hand_over(
        self, env: Mapping[str, str], cwd: Path, timeout: float
    ) -> tuple[asyncio.subprocess.Process, int] | str:
        """Give the process its Function: the process and its output's pipe, or why not.

        Waits at most ``timeout`` seconds for a process still loading. Once handed over
        (or not), this object holds nothing: a second call has nothing to give.
        """
        if self._closed:
            return self.problem or "it was handed over or stopped already"
        ready, process = self._ready, self._process
        channel, output_fd = self._channel, self._output_fd
        if ready is None or process is None or channel is None or output_fd is None:
            await self.stop()
            return self.problem or "none was started"
        try:
            problem = await asyncio.wait_for(asyncio.shield(ready), timeout)
        except TimeoutError:
            problem = f"not ready within {timeout:.2f} seconds"
        if problem is None and process.returncode is not None:
            problem = f"it ended (status {process.returncode})"
        if problem is None:
            message = json.dumps({"env": dict(env), "cwd": str(cwd)}).encode()
            try:
                await asyncio.get_running_loop().sock_sendall(channel, message)
                channel.shutdown(socket.SHUT_WR)
            except OSError as exc:
                problem = f"its channel broke ({exc.strerror})"
        if problem is not None:
            await self.stop(grace_seconds=0)  # of no use now: the slot starts a fresh one
            return problem
        self._closed = True
        if self._watch is not None:
            self._watch.cancel()  # the slot watches it from now on
        asyncio.get_running_loop().remove_reader(output_fd)
        self._output_fd = None  # the slot's from now on
        self._release()
        return process, output_fd

    def _release(self) -> None:
        """Drop the current process: its channel, and its output unless a slot took it."""
        self._watch = None
        if self._ready is not None:
            self._ready.cancel()
        self._ready = None
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()
        output_fd, self._output_fd = self._output_fd, None
        if output_fd is not None:
            asyncio.get_running_loop().remove_reader(output_fd)
            os.close(output_fd)
        self._process = None

    async def stop(self, grace_seconds: float = _STOP_GRACE_SECONDS) -> None:
        """End it (closing its channel ends a waiting runtime; SIGKILL if it lingers)."""
        self._closed = True
        process, watch = self._process, self._watch
        if watch is not None:
            watch.cancel()
        self._release()
        await end_group(process, grace_seconds)
