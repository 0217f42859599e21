"""``python3 -m kappa.agent``: a plain pod's runtimes start before the agent's own imports.

The pod's entry. Today's order (``python3 -m kappa agent``) imports the agent (asyncio,
h11, its HTTP server, slots...: most of its start) and only then starts the runtimes,
whose own start (awslambdaric's import, the handler's) waits behind it. Here the
settings are read first (the agent needs them anyway), then, on a path where
everything a runtime needs is already in place, each slot's Runtime API socket is
bound and listening and each slot's runtime is started at once, and only then is the
agent imported, and handed the sockets and the processes. A runtime's first ``/next``
waits in its socket's listen backlog until the agent accepts it; what it writes waits
in its pipe. From then on it is the slot's first process as an exec'd one is (the
table of :mod:`kappa.agent.slots`): its exit before ``/next`` is an init error, its
Init Duration and the init timeout count from its start here.

Which pods qualify: a Function's plain pod whose runtime the agent execs
(not ``runtime: image``), without a zygote, without code or layers to fetch first,
without a pod credential (:mod:`kappa.agent.credentials`: the agent makes what its
runtimes are told), and not a warm pool's pod (:mod:`kappa.agent.pool_mode`: its
Function comes later, and it has its own flows). Any other pod, bad settings, and a
runtime that cannot be started here take today's order (the agent reports what it
must, as always).
"""

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Sequence

from kappa.agent.launched import Launched, LaunchedProcess, LaunchedSlot
from kappa.agent.settings import AgentSettings, load, process_env
from kappa.agent.specialise import pool_digest
from kappa.agent.start_env import runtime_api_env
from kappa.base.env import SettingsError

_BACKLOG = 64


def qualifies(settings: AgentSettings) -> bool:
    """Whether every runtime can start before the agent: all it needs is there already."""
    return (
        settings.bootstrap is not None
        and settings.zygote is None
        and settings.code_url is None
        and not settings.layers
        and not settings.from_pool
        # A durable Function's pod credential: its variables come from the agent.
        and settings.pod_token_file is None
    )


def launch(settings: AgentSettings) -> Launched | None:
    """Bind each slot's Runtime API and start its runtime; None when one cannot be started."""
    argv = settings.bootstrap
    assert argv is not None  # noqa: S101 - qualifies() said so
    launched = Launched(time.monotonic(), [])
    for port in settings.runtime_api_ports():
        try:
            launched.slots.append(_start_slot(argv, settings, port))
        except OSError:
            # Today's order then: the agent binds, execs, and reports the failure as ever.
            launched.close()
            return None
    return launched


def _start_slot(argv: Sequence[str], settings: AgentSettings, port: int) -> LaunchedSlot:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(_BACKLOG)
        bound = listener.getsockname()[1]
        read_fd, write_fd = os.pipe()
        try:
            popen = subprocess.Popen(  # noqa: S603 - the pod's own bootstrap
                argv,
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                cwd=settings.task_root,
                env=runtime_api_env(settings.runtime_env, bound),
                start_new_session=True,  # as a slot's runtime: a timeout kills its group
            )
        except OSError:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
    except OSError:
        listener.close()
        raise
    return LaunchedSlot(listener, LaunchedProcess(popen), read_fd)


def main() -> int:
    """Run this pod's agent, its runtimes started first where they can be; its exit status."""
    launched = None
    settings = None
    if pool_digest(process_env()) is None:
        with contextlib.suppress(SettingsError):  # the agent reports it, as today
            settings = load()
        if settings is not None and qualifies(settings):
            launched = launch(settings)
    if launched is None:
        from kappa.agent.process import main as agent_main  # noqa: PLC0415

        return agent_main()
    from kappa.agent import app  # noqa: PLC0415 - after the runtimes' start, on purpose

    assert settings is not None  # noqa: S101 - launched implies settings
    return app.run(settings, launched)


if __name__ == "__main__":
    raise SystemExit(main())
