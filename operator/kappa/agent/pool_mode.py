"""A pool pod's agent: ready for any Function of its runtime, until one claims it.

It listens on the agent port with no Function: ``/healthz`` answers, ``/readyz`` is
200 (the pod is Ready: ready to be claimed; it is no Function's, so nothing routes
calls to it), ``/status`` says ``"state": "pool"`` and names no Function (so the
gateway's agent readiness never routes to it either). One ``POST /specialise``
(``kappa.agent.specialise``) gives it its Function: the agent puts the code in place,
stops listening, and starts as any other pod's agent on the same port, with the
Function's settings; the answer (200 with the init time, or 502 with Lambda's init
error) comes once every slot's runtime reached ``/next`` or failed. A pool pod is
specialised once: another ``/specialise`` meanwhile is 409, and afterwards the
Function's agent holds the port.

The operator claims a pool pod and makes it its Function's (labels, owner) in one patch
before it sends ``/specialise``, so the gateway may route a call to the pod first. Such
an ``/invoke`` is held (at most ``MAX_HELD_CALLS`` at once, for at most
``HOLD_SECONDS`` or ``KAPPA_POOL_HOLD_SECONDS``) until the pod's Function runs, then
served by the Function's agent as if it had come to it; a call still held when no
Function came is 503, one beyond the bound 503 at once. Once specialised, every request
on a connection the pool's listener accepted goes to the Function's agent too.

A python pool pod starts its zygote (:mod:`kappa.agent.zygote`) while it waits, so
that the claiming Function's runtimes are forked from an interpreter that imported
its runtime client already, instead of started from nothing: the start is paid
before the cold call, not during it. A Function for which that would not be the
same as a fresh start (``start_env.inherit_problem``) gets fresh runtimes, and the
zygote is stopped.

A node pool pod (V8 cannot fork) starts one runtime process ahead instead
(:mod:`kappa.agent.prestart`): node with aws-lambda-ric and ``http`` loaded, waiting to
be handed the Function's environment by its first slot. The same rules decide, with
node's list of what is read at start (``start_env.NODE_READ_AT_START``); a Function that
does not fit, or a process that cannot be handed over, gets a runtime started afresh,
and the agent's log says why.
"""

import asyncio
import contextlib
import json
import signal
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

# Imported by the pool pod as it starts, not at the claim: unpacking the Function's zip
# (urllib, http.client, zipfile) is on every claim's path, and costs 10-100 ms to import.
from kappa.agent import code_archive
from kappa.agent.app import Agent, write_termination_log
from kappa.agent.errors import LambdaError
from kappa.agent.http11 import Request, Response
from kappa.agent.http_server import Limits, Server
from kappa.agent.logsink import LogSink
from kappa.agent.prestart import Prestarted
from kappa.agent.settings import (
    FROM_POOL,
    ZYGOTE_FLAG,
    AgentSettings,
    ahead_runtime,
    ahead_zygote,
    termination_log_path,
)
from kappa.agent.slots import PoolState
from kappa.agent.specialise import (
    MAX_BODY_BYTES,
    Specialisation,
    SpecialiseError,
    authorised,
    pool_digest,
    specialisation,
)
from kappa.agent.start_env import NODE_READ_AT_START, inherit_problem
from kappa.agent.zygote import Zygote
from kappa.base.clock import Clock
from kappa.base.env import SettingsError

_ANSWER_GRACE_SECONDS: Final = 1.0
_ZYGOTE_START_SECONDS: Final = 30.0
MAX_HELD_CALLS: Final = 64
HOLD_SECONDS: Final = 15.0  # the gateway's wait for capacity is 10 s by default
_HOLD_VARIABLE: Final = "KAPPA_POOL_HOLD_SECONDS"
_TEXT: Final = [("Content-Type", "text/plain; charset=utf-8")]
_JSON: Final = [("Content-Type", "application/json")]
_POOL_STATUS: Final = json.dumps(
    {"state": "pool", "slots": 0, "busy": 0, "error": None, "function": None}
).encode()
# What a pool pod answers alike to everyone (the kubelet's probes, the gateway's readiness).
_POOL_ANSWERS: Final = {
    "/healthz": Response(200, b"ok", _TEXT),
    "/readyz": Response(200, b"pool", _TEXT),
    "/status": Response(200, _POOL_STATUS, _JSON),
}


class PoolAgent:
    """The agent of a pool pod; ``run`` returns the process's exit status."""

    def __init__(self, env: Mapping[str, str], *, clock: Clock, sink: LogSink) -> None:
        digest = pool_digest(env)
        if digest is None:
            msg = "not a pool pod (no KAPPA_POOL_TOKEN_SHA256 of 64 hex digits)"
            raise ValueError(msg)
        self._env = dict(env)
        self._digest = digest
        self._clock = clock
        self._sink = sink
        self._server = Server(
            self._route, max_body=MAX_BODY_BYTES, on_error=self._error, limits=Limits()
        )
        self._agent_task: asyncio.Task[int] | None = None
        self._agent: Agent | None = None
        self._held = 0
        self._hold_seconds = _seconds(env.get(_HOLD_VARIABLE), HOLD_SECONDS)
        self._claimed = False
        self._stop = asyncio.Event()
        self._agent_started = asyncio.Event()
        self._status = 0
        self._zygote: Zygote | None = None
        self._zygote_started: asyncio.Task[str | None] | None = None
        self._prestarted: Prestarted | None = None
        self._prestarting: asyncio.Task[None] | None = None

    async def run(self) -> int:
        """Wait for a Function, then run as its agent until SIGTERM."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        host = self._env.get("KAPPA_AGENT_HOST") or "0.0.0.0"  # noqa: S104 - the operator reaches the pod on its IP
        port = _port(self._env.get("KAPPA_AGENT_PORT"))
        try:
            bound = await self._server.start(host, port)
            self._sink.log("INFO", f"listening on {host}:{bound} (a pool pod: no Function yet)")
            self._start_zygote()
            stop = asyncio.ensure_future(self._stop.wait())
            agent = asyncio.ensure_future(self._agent_started.wait())
            await asyncio.wait([stop, agent], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            agent.cancel()
            if self._agent_task is None:
                await self._drop_ahead()
                return self._status  # stopped in the pool (0), or its code failed (1)
            return await self._agent_task
        finally:
            await self._server.close()

    def _start_zygote(self) -> None:
        """Start the pool's zygote (python) or runtime ahead (node) in the background."""
        plan = ahead_zygote(self._env, agent_bin_dir=_agent_bin_dir())
        if plan is None:
            ahead = ahead_runtime(self._env, agent_bin_dir=_agent_bin_dir())
            if ahead is not None:
                command, env, task_root = ahead
                self._prestarted = Prestarted(command, env, task_root, sink=self._sink)
                self._prestarting = asyncio.ensure_future(self._prestart(self._prestarted))
            return
        command, env, task_root = plan
        zygote = Zygote(command, env, task_root)
        self._zygote = zygote
        self._zygote_started = asyncio.ensure_future(self._started(zygote))

    async def _started(self, zygote: Zygote) -> str | None:
        started = self._clock.monotonic()
        problem = await zygote.start(_ZYGOTE_START_SECONDS)
        if problem is None:
            elapsed_ms = (self._clock.monotonic() - started) * 1000
            self._sink.log("INFO", f"pool zygote ready in {elapsed_ms:.1f} ms (pid {zygote.pid})")
        else:
            self._sink.log("WARN", f"no pool zygote ({problem}): runtimes will start from scratch")
        return problem

    async def _prestart(self, prestarted: Prestarted) -> None:
        await prestarted.start()
        if prestarted.problem is None:
            self._sink.log("INFO", f"pool runtime started ahead (pid {prestarted.pid})")
        else:
            self._sink.log(
                "WARN", f"no runtime started ahead ({prestarted.problem}): it will start afresh"
            )

    async def _function_prestarted(
        self, settings: AgentSettings, wanted: Specialisation
    ) -> Prestarted | None:
        """The runtime the pool started ahead, if the Function's first slot may take it."""
        prestarted, starting = self._prestarted, self._prestarting
        self._prestarted = self._prestarting = None
        if prestarted is None or starting is None:
            return None
        await starting
        problem = prestarted.problem or _prestart_unfit(prestarted, settings, wanted)
        if problem is not None:
            self._sink.log(
                "INFO", f"runtimes start afresh, not the one the pool started ahead: {problem}"
            )
            await prestarted.stop()
            return None
        return prestarted

    async def _function_zygote(
        self, settings: AgentSettings, wanted: Specialisation
    ) -> Zygote | None:
        """The pool's zygote, given the Function's environment, if it may fork its runtimes."""
        zygote, starting = self._zygote, self._zygote_started
        if zygote is None or starting is None:
            return None
        problem = await starting
        if problem is None:
            problem = _zygote_unfit(zygote, settings, wanted)
        if problem is not None:
            self._sink.log(
                "INFO", f"runtimes start from scratch, not from the pool's zygote: {problem}"
            )
            await self._drop_zygote()
            return None
        handler = settings.runtime_env.get("_HANDLER", "")
        zygote.for_function(settings.runtime_env, [handler])  # the bootstrap's "$_HANDLER"
        self._sink.log("INFO", f"runtimes fork from the pool's zygote (pid {zygote.pid})")
        return zygote

    async def _drop_ahead(self) -> None:
        """Stop what the pool started ahead: its zygote or its runtime started ahead."""
        prestarted, prestarting = self._prestarted, self._prestarting
        self._prestarted = self._prestarting = None
        if prestarting is not None:
            prestarting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prestarting
        if prestarted is not None:
            await prestarted.stop()
        await self._drop_zygote()

    async def _drop_zygote(self) -> None:
        zygote, starting = self._zygote, self._zygote_started
        self._zygote = self._zygote_started = None
        if starting is not None:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        if zygote is not None:
            await zygote.stop()

    def _error(self, message: str) -> None:
        self._sink.log("ERROR", message)

    async def _route(self, request: Request) -> Response:
        agent = self._agent
        if agent is not None and agent.settled:
            return await agent.handle(request)  # a connection accepted before the hand-over
        if request.path == "/invoke":
            return await self._held_call(request)
        if request.path == "/specialise":
            if request.method != "POST":
                return Response(405, b"", _TEXT)
            return await self._specialise(request)
        return _POOL_ANSWERS.get(request.path) or Response(404, b"not found", _TEXT)

    async def _held_call(self, request: Request) -> Response:
        """A call that came before its Function: served once the Function runs, or 503."""
        if request.method != "POST":
            return Response(405, b"", _TEXT)
        if self._held >= MAX_HELD_CALLS:
            return _refused(503, "this pool pod has no Function yet, and holds enough calls")
        self._held += 1
        try:
            started = asyncio.ensure_future(self._agent_started.wait())
            try:
                await asyncio.wait_for(started, self._hold_seconds)
            except TimeoutError:
                return _refused(503, "this pool pod has no Function yet")
            agent = self._agent
            if agent is None:
                return _refused(503, "this pool pod has no Function")
            await agent.started()
            return await agent.handle(request)
        finally:
            self._held -= 1

    def _checked(self, request: Request) -> tuple[Specialisation, AgentSettings] | Response:
        """The request's Function, or the refusal to answer (nothing claimed yet)."""
        if not authorised(request.headers.get("authorization"), self._digest):
            return _refused(401, "the pool pod's token is required (Authorization: Bearer)")
        if self._claimed:
            return _refused(409, "this pool pod is specialised already")
        if request.oversize:
            return _refused(400, f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            wanted = specialisation(self._env, request.body)
            env = {**wanted.env, FROM_POOL: "true"}
            settings = AgentSettings.from_env(env, agent_bin_dir=_agent_bin_dir())
        except SpecialiseError as exc:
            return _refused(exc.status, str(exc))
        except SettingsError as exc:
            return _refused(400, f"the Function's settings: {exc}")
        return wanted, settings

    async def _specialise(self, request: Request) -> Response:
        checked = self._checked(request)
        if isinstance(checked, Response):
            return checked
        wanted, settings = checked
        self._claimed = True
        started = self._clock.monotonic()
        failed = await self._put_code(wanted, settings)
        if failed is not None:
            await self._drop_ahead()
            write_termination_log(settings.termination_log, failed, self._sink)
            self._status = 1
            # The pod ends (Failed, with the init error) once this answer is on its way.
            asyncio.get_running_loop().call_later(_ANSWER_GRACE_SECONDS, self._stop.set)
            return _init_error(failed)
        zygote = await self._function_zygote(settings, wanted)
        prestarted = await self._function_prestarted(settings, wanted)
        self._server.stop_listening()  # the Function's agent takes the port
        agent = Agent(
            settings, clock=self._clock, sink=self._sink, zygote=zygote, prestarted=prestarted
        )
        self._agent = agent
        self._agent_task = asyncio.ensure_future(agent.run())
        self._agent_started.set()
        ready = asyncio.ensure_future(agent.started())
        await asyncio.wait([ready, self._agent_task], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            return _init_error(LambdaError("Kappa.AgentFailed", "the agent ended before init"))
        if ready.result() is not PoolState.READY:
            return _init_error(agent.error or LambdaError("Runtime.Unknown", "init failed"))
        elapsed_ms = (self._clock.monotonic() - started) * 1000
        self._sink.log("INFO", f"specialised as {settings.function_arn} in {elapsed_ms:.1f} ms")
        body = {"state": "ready", "function": settings.function_arn, "initMs": elapsed_ms}
        return Response(200, json.dumps(body).encode(), _JSON)

    async def _put_code(
        self, wanted: Specialisation, settings: AgentSettings
    ) -> LambdaError | None:
        """Unpack the request's zip into the task root (a code URL is the agent's to fetch)."""
        if wanted.zip is None:
            return None

        def unpack(zipped: bytes) -> int:
            with tempfile.NamedTemporaryFile(suffix=".zip") as archive:
                archive.write(zipped)
                archive.flush()
                return code_archive.unpack(Path(archive.name), settings.task_root)

        try:
            files = await asyncio.to_thread(unpack, wanted.zip)
        except code_archive.CodeError as exc:
            return exc.error
        self._sink.log("INFO", f"code: {files} file(s) unpacked into {settings.task_root}")
        return None


def _zygote_unfit(zygote: Zygote, settings: AgentSettings, wanted: Specialisation) -> str | None:
    """Why the Function's runtimes should not be forked from the pool's zygote; None if not."""
    if wanted.env.get("KAPPA_ZYGOTE") == "off":
        return "the Function turns the zygote off"
    if settings.bootstrap is None or (*settings.bootstrap, ZYGOTE_FLAG) != zygote.argv:
        return "the Function's runtime starts with another command"
    if settings.task_root != zygote.cwd:
        return "the Function's task root is another directory"
    return inherit_problem(zygote.env, settings.runtime_env)


def _prestart_unfit(
    prestarted: Prestarted, settings: AgentSettings, wanted: Specialisation
) -> str | None:
    """Why the Function's first runtime should not be the one started ahead; None if not."""
    if wanted.env.get("KAPPA_PRESTART") == "off":
        return "the Function turns it off (KAPPA_PRESTART=off)"
    if settings.bootstrap != prestarted.argv:
        return "the Function's runtime starts with another command"
    if settings.task_root != prestarted.cwd:
        return "the Function's task root is another directory"
    return inherit_problem(prestarted.env, settings.runtime_env, NODE_READ_AT_START)


def _seconds(raw: str | None, default: float) -> float:
    with contextlib.suppress(TypeError, ValueError):
        seconds = float(raw or default)
        if 0 < seconds <= HOLD_SECONDS * 4:
            return seconds
    return default


def _port(raw: str | None) -> int:
    with contextlib.suppress(TypeError, ValueError):
        port = int(raw or "8080")
        if 0 <= port <= 65535:  # noqa: PLR2004 - the highest port
            return port
    return 8080


def _agent_bin_dir() -> str | None:
    in_venv = sys.prefix != sys.base_prefix
    return str(Path(sys.prefix) / "bin") if in_venv else None


def _refused(status: int, message: str) -> Response:
    return Response(status, json.dumps({"message": message}).encode(), _JSON)


def _init_error(error: LambdaError) -> Response:
    body = {"errorType": error.error_type, "errorMessage": error.message}
    return Response(502, json.dumps(body).encode(), _JSON)


async def run_pool(env: Mapping[str, str], *, clock: Clock, sink: LogSink) -> int:
    """Run a pool pod's agent (``env`` has ``KAPPA_POOL_TOKEN_SHA256``)."""
    try:
        return await PoolAgent(env, clock=clock, sink=sink).run()
    except ValueError as exc:
        error = LambdaError("Kappa.InvalidSettings", str(exc))
        write_termination_log(termination_log_path(env), error, sink)
        return 1
