"""The agent's side of a zygote: one pre-imported runtime process that forks a runtime per slot.

The protocol and the runtime side are in :mod:`kappa.agent.zygote_runtime`. The
agent starts the zygote command (the python image's ``bootstrap --zygote``) in
the task root with the runtimes' environment and one end of a socket pair, waits
for ``ready``, then asks for one child per slot start (the first, and every
restart after a crash or a timeout). A child is a slot's runtime process as an
exec'd one is: the slot knows its pid (its process group), reads its output
from its own pipe, and learns its exit status, here from the zygote.

A zygote that does not come up (a bootstrap without ``--zygote``, an import that
fails) or that ends later is not an error: its children are killed and slots
start their runtimes from scratch, as without a zygote.

A warm pool's pod starts its zygote before any Function claims it
(:mod:`kappa.agent.pool_mode`), with the pool's environment. Once a Function
claims the pod, ``for_function`` gives the zygote the Function's environment and
handler, which each child takes in place of the zygote's, so a cold call through a
pool pays for a fork, not for an interpreter and its imports. Only where that is
the same as starting afresh (:func:`kappa.agent.start_env.inherit_problem`): variables
that the interpreter or the dynamic loader read once, at start, must be the pool's.
"""

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from kappa.agent.zygote_runtime import FD_VARIABLE

_MAX_PACKET: Final = 64 * 1024
_STOP_GRACE_SECONDS: Final = 2.0
_MAX_TOP_LEVEL: Final = 100_000  # entries of a task root looked at (a package's bound)
_MODULE_SUFFIXES: Final = frozenset({"py", "pyc", "so", "pyd"})


def top_level_modules(directory: Path) -> frozenset[str]:
    """The names ``import`` finds at the top of ``directory``: packages and modules."""
    names: set[str] = set()
    try:
        with os.scandir(directory) as entries:
            for entry in itertools.islice(entries, _MAX_TOP_LEVEL):
                stem, dot, suffix = entry.name.partition(".")
                package = entry.is_dir() and not dot
                if package or (dot and suffix.rpartition(".")[2] in _MODULE_SUFFIXES):
                    names.add(stem)
    except OSError:
        return frozenset()
    return frozenset(names)


class ZygoteGoneError(Exception):
    """The zygote is not (or no longer) there: start the runtime from scratch."""


class ForkedProcess:
    """A runtime forked by the zygote: what a slot needs of ``asyncio.subprocess.Process``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._exited = asyncio.Event()

    def exited(self, code: int) -> None:
        """The zygote reaped it (or is gone and it was killed)."""
        if self.returncode is None:
            self.returncode = code
            self._exited.set()

    async def wait(self) -> int:
        """Its exit status: as asyncio's, negative for a signal."""
        await self._exited.wait()
        return self.returncode if self.returncode is not None else -signal.SIGKILL


class Zygote:
    """One zygote process and its children. See the module docstring."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self._argv = tuple(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._process: asyncio.subprocess.Process | None = None
        self._control: socket.socket | None = None
        self._ready: asyncio.Future[object] | None = None
        self._starting: deque[asyncio.Future[ForkedProcess]] = deque()
        self._children: dict[int, ForkedProcess] = {}
        # A warm pool's zygote, once a Function claimed the pod: what each child runs with.
        self._function: dict[str, object] = {}
        self._modules: frozenset[str] = frozenset()  # top-level names it imported

    @property
    def argv(self) -> tuple[str, ...]:
        """The command that starts it."""
        return self._argv

    @property
    def env(self) -> Mapping[str, str]:
        """The environment it was started with."""
        return self._env

    @property
    def cwd(self) -> Path:
        """Its working directory (the task root)."""
        return self._cwd

    def shadowed(self) -> list[str]:
        """Modules it holds of which the task root now has its own, sorted.

        A zygote started before the code was there (a warm pool's) imported the image's;
        a runtime started from scratch would import the task root's (it comes first on
        ``sys.path``, as in Lambda), so such a Function's runtimes must not be forked.
        """
        return sorted(top_level_modules(self._cwd) & self._modules)

    def for_function(self, environ: Mapping[str, str], args: Sequence[str]) -> None:
        """From now on, children run with ``environ`` (whole) and the module's ``args``."""
        self._function = {"environ": dict(environ), "args": list(args)}

    @property
    def alive(self) -> bool:
        """Whether it can fork children."""
        return self._control is not None and self._ready is not None and self._ready.done()

    @property
    def pid(self) -> int | None:
        """The zygote's own pid, while it runs."""
        return self._process.pid if self._process is not None else None

    async def start(self, timeout: float) -> str | None:
        """Start it and wait for ``ready``: None once it can fork, else why it cannot.

        A zygote that is ready already (a warm pool's) is not started again.
        """
        if self.alive:
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**self._env, FD_VARIABLE: str(theirs.fileno())}
        loop = asyncio.get_running_loop()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._argv,
                stdin=asyncio.subprocess.DEVNULL,
                cwd=self._cwd,
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            return f"{self._argv[0]}: {exc.strerror}"
        finally:
            theirs.close()
        ours.setblocking(False)  # noqa: FBT003 - socket's own signature
        self._control = ours
        self._ready = loop.create_future()
        loop.add_reader(ours.fileno(), self._readable)
        exited: asyncio.Future[object] = asyncio.ensure_future(self._process.wait())
        await asyncio.wait(
            {self._ready, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        exited.cancel()
        if self._ready.done() and not self._ready.cancelled():
            return None
        ended = self._ready.done() or self._process.returncode is not None
        await self.stop()
        if ended:
            return f"it ended (status {self._process.returncode}) before it was ready"
        return f"not ready within {timeout:.2f} seconds"

    async def spawn(self, slot: int, env: Mapping[str, str], output_fd: int) -> ForkedProcess:
        """Fork a child for ``slot`` with ``env`` added and ``output_fd`` as stdout and stderr."""
        control = self._control
        if control is None or not self.alive:
            raise ZygoteGoneError
        message = json.dumps({"slot": slot, "env": dict(env), **self._function}).encode()
        if len(message) > _MAX_PACKET:
            raise ZygoteGoneError  # an environment too large for one packet: exec instead
        try:
            socket.send_fds(control, [message], [output_fd])
        except OSError as exc:
            self._gone()
            raise ZygoteGoneError from exc
        started: asyncio.Future[ForkedProcess] = asyncio.get_running_loop().create_future()
        self._starting.append(started)
        return await started

    def _readable(self) -> None:
        control = self._control
        while control is not None:
            try:
                data = control.recv(_MAX_PACKET)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._gone()
                return
            self._message(json.loads(data))

    def _message(self, message: dict[str, object]) -> None:
        event = message.get("event")
        if event == "ready" and self._ready is not None and not self._ready.done():
            modules = message.get("modules")
            if isinstance(modules, list):
                self._modules = frozenset(str(name) for name in modules)
            self._ready.set_result(None)
        elif event == "started" and self._starting:
            pid = int(str(message["pid"]))
            process = ForkedProcess(pid)
            self._children[pid] = process
            started = self._starting.popleft()
            if not started.done():
                started.set_result(process)
        elif event == "exited":
            child = self._children.pop(int(str(message["pid"])), None)
            if child is not None:
                child.exited(int(str(message["code"])))

    def _gone(self) -> None:
        """The zygote ended or its socket broke: its children go too, slots start from scratch."""
        control, self._control = self._control, None
        if control is None:
            return
        asyncio.get_running_loop().remove_reader(control.fileno())
        control.close()
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        while self._starting:
            self._starting.popleft().set_exception(ZygoteGoneError())
        for pid, child in self._children.items():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            child.exited(-signal.SIGKILL)
        self._children.clear()

    async def stop(self) -> None:
        """End it (its children with it): close the socket, then SIGKILL if it lingers."""
        self._gone()
        await end_group(self._process, _STOP_GRACE_SECONDS)


async def end_group(process: asyncio.subprocess.Process | None, grace_seconds: float) -> None:
    """Wait for ``process`` (asked to end) to end; after ``grace_seconds``, kill its group."""
    if process is None or process.returncode is not None:
        return
    try:
        await asyncio.wait_for(process.wait(), grace_seconds)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
