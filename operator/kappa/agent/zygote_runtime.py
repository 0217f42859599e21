"""The runtime side of a zygote: ``python3 zygote_runtime.py PRELOAD MODULE ARGS...``.

MODULE may also be the path of a script (``….py``: Kappa's concurrent runtime),
run as ``python3 PATH ARGS`` would run it.

Runs under the *runtime's* interpreter (the python image's ``/usr/bin/python3``,
started by its bootstrap with ``--zygote``), not the agent's, so it imports the
standard library only, never ``kappa``. It does what ``python3 -m MODULE ARGS``
would do up to the point where the module starts: ``sys.path`` as ``-m`` makes
it (the working directory, the task root, first) and the modules of PRELOAD (a
comma-separated list: for ``awslambdaric`` its dependencies, simplejson,
decimal, logging..., most of its import time) imported. It imports neither the
module itself (awslambdaric's C runtime client takes its address from the
environment once, when imported) nor the handler's module.

Then it serves the agent on the inherited socket named by ``_KAPPA_ZYGOTE_FD``
(``AF_UNIX``, ``SOCK_SEQPACKET``, one JSON object per packet):

- it sends ``{"event": "ready", "modules": [...]}`` once imported (the top-level names of
  the modules it holds);
- each packet from the agent, ``{"slot": N, "env": {...}}`` with one file
  descriptor (the slot's output pipe), forks a child: a new session, that fd
  as its stdout and stderr, ``env`` added to the environment
  (``AWS_LAMBDA_RUNTIME_API``); the child runs the module as ``-m`` would, so
  it imports the handler's module itself (Lambda's init, once per execution
  environment); the zygote answers ``{"event": "started", "slot": N, "pid": P}``.
  A warm pool's zygote is started before any Function is known: its packets also
  carry ``"environ"`` (the Function's whole environment, which replaces the
  zygote's in the child) and ``"args"`` (the module's arguments, the handler);
- a child that ends is ``{"event": "exited", "pid": P, "code": C}`` (C as
  ``asyncio``'s ``returncode``: negative for a signal);
- end of file (the agent closed its end or ended) kills every child's process
  group and ends the zygote.

AWS's own runtime client forks in the same place in its multi-concurrency mode
(``awslambdaric.lambda_multi_concurrent_utils``: import, fork, then each worker
loads the handler).
"""

import contextlib
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Final

FD_VARIABLE: Final = "_KAPPA_ZYGOTE_FD"
_MAX_PACKET: Final = 64 * 1024


def preload(modules: str) -> None:
    """Import each module of the comma-separated list (what the runtime will import)."""
    for name in filter(None, (part.strip() for part in modules.split(","))):
        importlib.import_module(name)


def forget_package(module: str) -> None:
    """Drop the module's own package from the import cache; its dependencies stay.

    The package is imported again in the child, with the child's environment: a
    runtime client reads its address when imported (awslambdaric's
    ``runtime_client.initialize_client`` takes ``AWS_LAMBDA_RUNTIME_API`` then),
    and module-level reads of the environment see the slot's. The dependencies
    (for awslambdaric: simplejson, logging, re, decimal...) are most of the cost.
    """
    top = module.partition(".")[0]
    for name in [name for name in sys.modules if name == top or name.startswith(f"{top}.")]:
        del sys.modules[name]


def _send(control: socket.socket, message: dict[str, object]) -> None:
    control.send(json.dumps(message).encode())


def _reap(control: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        _send(control, {"event": "exited", "pid": pid, "code": os.waitstatus_to_exitcode(status)})


def _kill_all(children: set[int]) -> None:
    for pid in children:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


def serve(control: socket.socket) -> tuple[dict[str, str], list[str] | None] | None:
    """The zygote's loop: in a forked child, its environment and arguments; None at the end.

    The arguments are None unless the agent gave them (a warm pool's zygote).
    """
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    signal.set_wakeup_fd(wake_write)
    children: set[int] = set()
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    modules = sorted({name.partition(".")[0] for name in sys.modules})
    _send(control, {"event": "ready", "modules": modules})
    while True:
        for key, _ in selector.select():
            if key.fileobj is not control:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 4096)
                _reap(control, children)
                continue
            data, fds, _flags, _address = socket.recv_fds(control, _MAX_PACKET, 1)
            if not data:
                _kill_all(children)
                return None
            request = json.loads(data)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                # The child: its own session (so a timeout kills all it starts), the slot's
                # output, none of the zygote's descriptors or signal handling.
                os.setsid()
                for fd in fds:
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    os.close(fd)
                selector.close()
                control.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.close(wake_read)
                os.close(wake_write)
                environ = request.get("environ")
                if isinstance(environ, dict):
                    os.environ.clear()
                    os.environ.update(environ)
                    time.tzset()  # TZ as the Function's, not the pool's
                env: dict[str, str] = request.get("env", {})
                args = request.get("args")
                return env, [str(arg) for arg in args] if isinstance(args, list) else None
            for fd in fds:
                os.close(fd)
            children.add(pid)
            _send(control, {"event": "started", "slot": request.get("slot"), "pid": pid})


def main(argv: list[str]) -> int:
    """Import, serve, and in each forked child run the module as ``python3 -m`` would."""
    modules, module, args = argv[1], argv[2], tuple(argv[3:])
    control = socket.socket(fileno=int(os.environ.pop(FD_VARIABLE)))
    sys.path[0] = str(Path.cwd())  # as -m: the working directory (the task root), not this file's
    preload(modules)
    child = serve(control)
    if child is None:
        return 0
    env, given = child
    if given is not None:
        args = tuple(given)
    os.environ.update(env)
    sys.argv = [module, *args]
    if module.endswith(".py"):  # a script (the concurrent runtime), as `python3 PATH` runs it
        runpy.run_path(module, run_name="__main__")
        return 0
    forget_package(module)
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
