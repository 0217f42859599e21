"""The agent process: wiring of settings, listeners, slots and the pod's lifecycle.

Start-up order matters for cold starts and for the operator: the agent port
listens first (``/healthz`` and ``/status`` answer during init), then the code
is put in place, then every slot's runtime starts at once (or, on a plain pod,
the launcher started them before the agent's imports: :mod:`kappa.agent.launch`;
the agent serves the sockets it bound and adopts its processes). ``/readyz`` turns
200 when all have reached ``/next``. An init error is written to the
termination log and ends the process with status 1 (the pod ends ``Failed``;
the operator reads the message). SIGTERM stops taking invocations, lets those
in flight finish, then ends the runtimes.
"""

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Final

from kappa.agent import ready_push
from kappa.agent.credentials import PodCredentials, brings_own
from kappa.agent.errors import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, LambdaError
from kappa.agent.http11 import Request, Response
from kappa.agent.http_server import Limits, Server
from kappa.agent.invoke import InvokeHandler
from kappa.agent.launched import Launched
from kappa.agent.logsink import LogSink
from kappa.agent.metrics import AgentMetrics
from kappa.agent.prestart import Prestarted
from kappa.agent.response_stream import Streams, is_streaming
from kappa.agent.runtime_api import RuntimeApi
from kappa.agent.settings import AgentSettings, load, load_termination_log
from kappa.agent.slots import PoolState, SlotPool
from kappa.agent.zygote import Zygote
from kappa.base.clock import Clock, SystemClock
from kappa.base.env import SettingsError
from kappa.tracing.tracer import Tracer

_TEXT: Final = [("Content-Type", "text/plain; charset=utf-8")]
_JSON: Final = [("Content-Type", "application/json")]


class Agent:
    """One pod's agent; ``run`` returns the process's exit status."""

    def __init__(  # noqa: PLR0913 - collaborators are injected, by keyword
        self,
        settings: AgentSettings,
        *,
        clock: Clock,
        sink: LogSink,
        zygote: Zygote | None = None,
        prestarted: Prestarted | None = None,
        launched: Launched | None = None,
    ) -> None:
        """``zygote``, ``prestarted``: a warm pool's, started before its Function was known.

        ``launched``: the Runtime API sockets and runtimes the launcher started (:mod:`.launch`).
        """
        self._settings = settings
        self._clock = clock
        self._sink = sink
        self._metrics = AgentMetrics()
        # A durable Function's pod credential, served beside each slot's Runtime API.
        token_file = settings.pod_token_file
        self._credentials = (
            PodCredentials(token_file, clock)
            if token_file is not None and not brings_own(settings.runtime_env)
            else None
        )
        self._pool = SlotPool(
            settings,
            clock=clock,
            sink=sink,
            metrics=self._metrics,
            zygote=zygote,
            prestarted=prestarted,
            credentials=self._credentials,
            launched=launched,
        )
        self._launched = launched
        self._tracer = tracer(settings)
        self._metrics.spans = self._tracer.exporter
        # Streamed responses, from the slots' Runtime APIs to /invoke.
        self._streams = Streams()
        self._invoke = InvokeHandler(
            settings,
            self._pool,
            clock=clock,
            sink=sink,
            metrics=self._metrics,
            tracer=self._tracer,
            streams=self._streams,
        )
        self._stop = asyncio.Event()
        self._settled = asyncio.Event()  # start-up is over, however it went

    async def run(self) -> int:
        """Serve until SIGTERM (status 0) or an init error (status 1)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        started = self._clock.monotonic()
        settings = self._settings
        limits = Limits(
            header_timeout=settings.header_timeout_seconds,
            idle_timeout=settings.idle_timeout_seconds,
            max_connections=settings.max_connections,
        )
        servers = [
            Server(
                self._route, max_body=MAX_REQUEST_BYTES, on_error=self._server_error, limits=limits
            )
        ]
        exporter = self._tracer.exporter
        if exporter is not None:
            exporter.start()
        try:
            port = await servers[0].start(settings.agent_host, settings.agent_port)
            self._sink.log("INFO", f"listening on {settings.agent_host}:{port}")
            if await self._install_code():
                await self._start_runtime_apis(servers)
                await self._pool.start()
                await self._until_changed()
                self._settled.set()
                if self._pool.state is PoolState.READY:
                    elapsed_ms = (self._clock.monotonic() - started) * 1000
                    calls = f" x {settings.per_runtime} calls" if settings.per_runtime > 1 else ""
                    self._sink.log(
                        "INFO", f"ready: {settings.slots} slot(s){calls} in {elapsed_ms:.1f} ms"
                    )
                    told = self._tell_ready()
                    await self._until_changed()
                    if told is not None:
                        told.cancel()
            self._settled.set()
            return await self._shut_down()
        finally:
            await self._pool.stop()
            for server in servers:
                await server.close()
            if exporter is not None:
                await exporter.close(timeout=2.0)

    def _tell_ready(self) -> "asyncio.Task[dict[str, int]] | None":
        """Tell the gateways the operator named that this pod can take calls (in the background)."""
        target = self._settings.ready_push
        if target is None:
            return None
        return asyncio.ensure_future(ready_push.push(target.addresses, target.push, self._sink.log))

    @property
    def settled(self) -> bool:
        """Whether start-up is over, however it went."""
        return self._settled.is_set()

    async def handle(self, request: Request) -> Response:
        """Answer ``request`` as if it had come to this agent's listener."""
        return await self._route(request)

    async def started(self) -> PoolState:
        """Wait until the runtimes are READY (every slot reached ``/next``) or are not."""
        await self._settled.wait()
        return self._pool.state

    @property
    def error(self) -> LambdaError | None:
        """The init error, once ``started`` says INIT_ERROR."""
        return self._pool.error

    async def _start_runtime_apis(self, servers: list[Server]) -> None:
        """One Runtime API listener per slot: the port tells the agent which runtime is calling."""
        settings = self._settings
        launched = self._launched
        for slot, port in zip(self._pool.slots, settings.runtime_api_ports(), strict=True):
            # The launcher's socket, bound already: its runtime was given that port.
            listener = launched.slots[slot.index].listener if launched is not None else None
            server = Server(
                RuntimeApi(slot, settings.function_arn, self._streams, self._credentials),
                max_body=MAX_RESPONSE_BYTES,
                on_error=self._server_error,
                stream_if=is_streaming,
                # One trusted runtime on loopback, which keeps its connection
                # through an invocation of up to the timeout: no idle timeout, no cap.
                limits=Limits(header_timeout=settings.header_timeout_seconds),
            )
            servers.append(server)
            slot.port = await server.start("127.0.0.1", port, sock=listener)
            self._sink.log("INFO", f"slot {slot.index} Runtime API on 127.0.0.1:{slot.port}")

    async def _install_code(self) -> bool:
        settings = self._settings
        has_code = settings.code_url is not None and settings.code_sha256 is not None
        if not has_code and not settings.layers:
            return True
        # Imported here: zipfile and urllib are not needed by pods without a code URL.
        from kappa.agent import code_archive  # noqa: PLC0415

        try:
            if settings.layers:
                files = await asyncio.to_thread(
                    code_archive.install_layers, settings.layers, settings.opt_root
                )
                self._sink.log(
                    "INFO",
                    f"layers: {files} file(s) of {len(settings.layers)} into {settings.opt_root}",
                )
            if settings.code_url is not None and settings.code_sha256 is not None:
                files = await asyncio.to_thread(
                    code_archive.install,
                    settings.code_url,
                    settings.code_sha256,
                    settings.task_root,
                )
                self._sink.log("INFO", f"code: {files} file(s) unpacked into {settings.task_root}")
        except code_archive.CodeError as exc:
            self._pool.fail(exc.error)
            return False
        return True

    async def _until_changed(self) -> None:
        """Wait for the pool to change state or for a stop signal."""
        self._pool.changed.clear()
        if self._pool.state is PoolState.INIT_ERROR:
            return
        waits = [
            asyncio.ensure_future(self._pool.changed.wait()),
            asyncio.ensure_future(self._stop.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _shut_down(self) -> int:
        pool = self._pool
        status = 0
        if pool.state is PoolState.INIT_ERROR and pool.error is not None:
            self._write_termination_log(pool.error)
            status = 1
        else:
            pool.state = PoolState.STOPPING
            self._sink.log("INFO", "stopping: waiting for invocations in flight")
        # The gateway stops routing on the readiness change; what is in flight may finish.
        await pool.wait_idle(self._settings.timeout_seconds + 1)
        return status

    def _write_termination_log(self, error: LambdaError) -> None:
        write_termination_log(self._settings.termination_log, error, self._sink)

    def _server_error(self, message: str) -> None:
        self._sink.log("ERROR", message)

    async def _route(self, request: Request) -> Response:  # noqa: PLR0911 - a route table
        path = request.path
        if path == "/invoke":
            if request.method != "POST":
                return Response(405, b"", _TEXT)
            return await self._invoke(request)
        if path == "/readyz":
            ready = self._pool.state is PoolState.READY
            return Response(200 if ready else 503, self._pool.state.value.encode(), _TEXT)
        if path == "/healthz":
            return Response(200, b"ok", _TEXT)
        if path == "/status":
            return Response(200, self._status(), _JSON)
        if path == "/metrics":
            await asyncio.to_thread(self._metrics.prepare)
            body, content_type = self._metrics.render(
                slots=self._pool.capacity, busy=self._pool.busy
            )
            return Response(200, body, [("Content-Type", content_type)])
        return Response(404, b"not found", _TEXT)

    def _status(self) -> bytes:
        pool = self._pool
        error = None
        if pool.error is not None:
            error = {"errorType": pool.error.error_type, "errorMessage": pool.error.message}
        # "function": the gateway routes to a not-yet-Ready pod only when its agent names
        # the Function's ARN here (kappa.invocation.agent_readiness).
        return json.dumps(
            {
                "state": pool.state.value,
                "slots": pool.capacity,
                "busy": pool.busy,
                "error": error,
                "function": self._settings.function_arn,
            }
        ).encode()


def tracer(settings: AgentSettings) -> Tracer:
    """The agent's tracer: spans to the collector in its settings, if any (docs/tracing.md)."""
    exporter = None
    if settings.tracing_endpoint is not None:
        # Imported here: an agent with tracing off does not pay for the OTLP encoder.
        from kappa.tracing.exporter import Exporter  # noqa: PLC0415

        arn = settings.function_arn
        resource = {
            "service.name": "kappa-agent",
            "service.namespace": "kappa",
            "faas.name": settings.runtime_env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            "faas.version": settings.function_version,
            "cloud.resource_id": arn,
            "faas.instance": settings.runtime_env.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
        }
        exporter = Exporter(settings.tracing_endpoint, resource)
    return Tracer(exporter, ratio=settings.tracing_sample_ratio)


def write_termination_log(path: Path, error: LambdaError, sink: LogSink) -> None:
    """Leave the init error where the kubelet reads a container's termination message."""
    try:
        path.write_bytes(error.termination_message())
    except OSError as exc:
        sink.log("WARNING", f"cannot write the termination log {path}: {exc}")


def main() -> int:
    """Run the agent of this pod; return its exit status."""
    clock = SystemClock()
    sink = LogSink(sys.stdout.buffer, clock)
    try:
        settings = load()
    except SettingsError as exc:
        error = LambdaError("Kappa.InvalidSettings", str(exc))
        sink.log("ERROR", f"invalid settings: {exc}")
        write_termination_log(load_termination_log(), error, sink)
        return 1
    return asyncio.run(Agent(settings, clock=clock, sink=sink).run())


def run(settings: AgentSettings, launched: Launched) -> int:
    """Run the agent of this pod with the runtimes the launcher started; its exit status."""
    clock = SystemClock()
    sink = LogSink(sys.stdout.buffer, clock)
    return asyncio.run(Agent(settings, clock=clock, sink=sink, launched=launched).run())
