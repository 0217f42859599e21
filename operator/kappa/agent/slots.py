"""Runtime slots: one runtime process per slot, and the hand-off of invocations to it.

A slot is one Lambda execution environment: one runtime process at a time
(``generation`` counts them), taking ``capacity`` invocations at once: 1 (Lambda's
one at a time), or ``AWS_LAMBDA_MAX_CONCURRENCY`` (``perRuntime``: Lambda Managed
Instances' multi-concurrency, where the runtime makes that many ``/next`` calls at
once and answers each by its request id). Each slot has its own Runtime API
listener, so the agent knows which process a request comes from without
guessing. How a slot reacts:

=====================  ===============================  ===================================
event                  condition                        effect
=====================  ===============================  ===================================
process started                                         init timer runs
``/next``              first of this process            initialised; Init Duration noted;
                                                        the pool may become ready
``/next``              capacity 1, holding a delivered  that one finished: Runtime.InvalidResponse
                       invocation
``/next``              ``capacity`` /next already wait  refused: 403 (the process asks for more
                                                        than it may take)
``/next``              an invocation waits for it       delivered at once (oldest first)
``/next``              otherwise                        waits for ``assign``
``assign``             a ``/next`` waits                delivered at once
``/response``          id of a delivered invocation     finished: success
``/error``             id of a delivered invocation     finished: function error
``/response``/``/error`` any other id                   400 (202 for one that timed out)
deadline               invocation still unanswered      finished: timeout; the process is
                                                        killed (a fresh one starts), and so
                                                        every call it held ends (next row)
process exits          invocations were delivered       each finished: Runtime.ExitError; restart
process exits          before its first ``/next``       init error: the slot fails the pool
process exits          otherwise                        a fresh process starts
init timer fires       no ``/next`` yet                 init error (Sandbox.Timedout)
=====================  ===============================  ===================================

An external runtime (``runtime: image``) has no process here: the slot waits
for it to call ``/next`` and, after a timeout, for it to come back.

With a zygote (:mod:`kappa.agent.zygote`, python runtimes) a slot's process is
forked from it rather than exec'd: same pid-as-process-group, same output pipe,
its exit status from the zygote. Nothing above changes; a zygote that is not
there means the process is exec'd as without one. Likewise a slot's first process may be
one a warm pool started ahead (:mod:`kappa.agent.prestart`, node runtimes), handed the
environment an exec'd one would start with; one that cannot be handed over is replaced
by an exec'd one.
"""

import asyncio
import contextlib
import json
import os
import signal
from collections import deque
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol

from kappa.agent.credentials import PodCredentials
from kappa.agent.errors import (
    LambdaError,
    init_error_from_post,
    response_too_large_error,
    runtime_error_body,
    runtime_exit_error,
)
from kappa.agent.logsink import LogSink
from kappa.agent.metrics import AgentMetrics, Outcome
from kappa.agent.prestart import Prestarted
from kappa.agent.report import LogTail, max_memory_used_mb, timeout_message
from kappa.agent.settings import AgentSettings
from kappa.agent.zygote import Zygote, ZygoteGoneError
from kappa.base.clock import Clock

_READ_BYTES: Final = 64 * 1024
_STOP_GRACE_SECONDS: Final = 2.0
# A runtime that keeps dying right after its first /next is restarted no faster than this.
_RESTART_BACKOFF_SECONDS: Final = 0.1
_JSON: Final = "application/json"


@dataclass(frozen=True, slots=True)
class Result:
    """How an invocation ended, with what its REPORT line needs."""

    outcome: Outcome
    body: bytes
    content_type: str
    finished: float  # monotonic seconds
    init_duration_ms: float | None
    max_memory_mb: int
    error_type: str | None = None


@dataclass(slots=True, eq=False)
class Invocation:
    """One event on its way through a slot; ``done`` resolves with its Result."""

    request_id: str
    event: bytes
    deadline_ms: int
    client_context: str | None
    cognito_identity: str | None
    trace_id: str | None
    started: float  # monotonic seconds
    done: "asyncio.Future[Result]"
    tail: LogTail
    delivered_to: int = 0  # generation of the process that got it; 0 = not yet delivered


class RuntimeProcess(Protocol):
    """A runtime process as a slot sees it: exec'd (asyncio's) or forked by the zygote."""

    @property
    def pid(self) -> int:
        """Its pid, which is also its process group's (it leads a session of its own)."""
        ...

    @property
    def returncode(self) -> int | None:
        """Its exit status once it ended."""
        ...

    async def wait(self) -> int:
        """Wait for it to end; its exit status."""
        ...


class SlotEvents(Protocol):
    """What a slot tells its pool."""

    def slot_ready(self, slot: "Slot") -> None:
        """The slot's runtime reached ``/next`` for the first time."""
        ...

    def slot_failed(self, slot: "Slot", error: LambdaError) -> None:
        """The slot's runtime failed to initialise; the pod cannot serve."""
        ...


class Slot:
    """One runtime process and the invocation it holds. See the module docstring."""

    def __init__(  # noqa: PLR0913 - collaborators are injected, by keyword
        self,
        index: int,
        settings: AgentSettings,
        *,
        clock: Clock,
        sink: LogSink,
        metrics: AgentMetrics,
        events: SlotEvents,
        zygote: Zygote | None = None,
        prestarted: Prestarted | None = None,
    ) -> None:
        self.index = index
        self.port = 0
        self.generation = 0
        self.initialised = False
        self.capacity = settings.per_runtime
        # The invocations assigned and not finished, delivered or not, by request id.
        self.held: dict[str, Invocation] = {}
        self.failed: LambdaError | None = None
        self._settings = settings
        self._clock = clock
        self._sink = sink
        self._metrics = metrics
        self._events = events
        self._zygote = zygote
        self._prestarted = prestarted  # its first process, when a warm pool started one
        # The pod credential's variables go to this slot's runtimes (durable Functions).
        self.credentials: PodCredentials | None = None
        self._process: RuntimeProcess | None = None
        self._output_fd: int | None = None
        self._queue: deque[Invocation] = deque()  # assigned, not yet delivered
        self._waiters: deque[asyncio.Future[Invocation]] = deque()  # /next calls waiting
        self._partial_line = b""  # output not yet ended by a newline (capacity over 1)
        self._init_started = 0.0
        self._init_timer: asyncio.TimerHandle | None = None
        self._pending_init_ms: float | None = None
        self._posted_init_error: LambdaError | None = None
        self._awaiting_runtime = False
        self._abandoned: deque[str] = deque(maxlen=16)
        self._stopping = False
        self._max_memory_mb = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def free(self) -> bool:
        """Whether an invocation may be assigned (possibly waiting for a restarting runtime)."""
        return (
            len(self.held) < self.capacity
            and self.failed is None
            and not self._awaiting_runtime
            and not self._stopping
        )

    # ------------------------------------------------------------------ processes

    async def start(self, started: float | None = None) -> None:
        """Start the first runtime process (or, for an external runtime, wait for it).

        ``started``: when the pod's runtimes began to start (before a zygote), so that
        the first Init Duration and the init timeout count the zygote's start too.
        """
        await self._start_generation(started)

    async def _start_generation(self, started: float | None = None) -> None:
        self.generation += 1
        self.initialised = False
        self._posted_init_error = None
        now = self._clock.monotonic()
        self._init_started = now if started is None else started
        generation = self.generation
        loop = asyncio.get_running_loop()
        self._init_timer = loop.call_later(
            self._settings.init_timeout_seconds - (now - self._init_started),
            self._init_timed_out,
            generation,
        )
        argv = self._settings.bootstrap
        if argv is None:
            return  # external runtime: it calls /next when it is ready
        api = runtime_api_env({}, self.port)
        if self.credentials is not None:
            api.update(self.credentials.env(self.port))
        handed = await self._handed_over(api)
        if handed is not None:
            process, read_fd = handed
        else:
            read_fd, write_fd = os.pipe()
            try:
                process = await self._fork(api, write_fd) or await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=write_fd,
                    stderr=write_fd,
                    cwd=self._settings.task_root,
                    env={**self._settings.runtime_env, **api},
                    start_new_session=True,  # so a timeout can kill what the runtime started too
                )
            except OSError as exc:
                os.close(read_fd)
                self._fail(_entrypoint_error(argv[0], exc))
                return
            finally:
                os.close(write_fd)
        self._metrics.runtime_starts += 1
        self._process = process
        self._output_fd = read_fd
        os.set_blocking(read_fd, False)
        loop.add_reader(read_fd, self._drain_output)
        self._spawn_task(self._watch(process, generation))

    async def _handed_over(self, api: Mapping[str, str]) -> tuple[RuntimeProcess, int] | None:
        """The runtime started ahead (a warm pool's), given this slot's Function; else None.

        Only the first process of the slot: it is handed the environment an exec'd one
        would start with. A restart starts afresh.
        """
        prestarted, self._prestarted = self._prestarted, None
        if prestarted is None:
            return None
        # A process still loading is waited for, but for half the init time left at most:
        # one that hangs leaves the other half to a fresh runtime.
        left = self._settings.init_timeout_seconds - (self._clock.monotonic() - self._init_started)
        env = {**self._settings.runtime_env, **api}
        handed = await prestarted.hand_over(env, self._settings.task_root, max(left / 2, 0.0))
        if isinstance(handed, str):
            self._sink.log(
                "INFO", f"slot {self.index}: a runtime starts afresh, not the one started ahead: "
                f"{handed}",
            )  # fmt: skip
            return None
        self._sink.log(
            "INFO", f"slot {self.index}: the runtime started ahead runs the Function "
            f"(pid {handed[0].pid})",
        )  # fmt: skip
        return handed

    async def _fork(self, env: Mapping[str, str], output_fd: int) -> RuntimeProcess | None:
        """A child of the zygote, if there is one that can fork; else None (exec instead)."""
        zygote = self._zygote
        if zygote is None or not zygote.alive:
            return None
        try:
            return await zygote.spawn(self.index, env, output_fd)
        except ZygoteGoneError:
            return None

    async def _watch(self, process: RuntimeProcess, generation: int) -> None:
        returncode = await process.wait()
        self._exited(generation, returncode)

    def _exited(self, generation: int, returncode: int) -> None:
        self._drain_output()
        self._close_output()
        self._process = None
        while self._waiters:
            self._waiters.popleft().cancel()  # their connections belonged to the dead process
        if self._stopping or self.failed is not None or generation != self.generation:
            return
        if not self.initialised:
            self._fail(self._posted_init_error or runtime_exit_error(None, returncode))
            return
        for invocation in list(self.held.values()):
            if invocation.delivered_to == generation:
                error = runtime_exit_error(invocation.request_id, returncode)
                self._sink.log("ERROR", error.message, invocation.request_id)
                self._finish(
                    invocation, Outcome.RUNTIME_EXIT, error.body(), error_type=error.error_type
                )
        self._spawn_task(self._restart())

    async def _restart(self) -> None:
        await asyncio.sleep(0 if self.held else _RESTART_BACKOFF_SECONDS)
        if not self._stopping and self.failed is None:
            await self._start_generation()

    def _init_timed_out(self, generation: int) -> None:
        if generation != self.generation or self.initialised or self._stopping:
            return
        seconds = self._settings.init_timeout_seconds
        self._kill()
        self._fail(
            LambdaError("Sandbox.Timedout", f"Runtime init timed out after {seconds:.2f} seconds")
        )

    def _fail(self, error: LambdaError) -> None:
        if self.failed is not None:
            return
        self.failed = error
        if self._init_timer is not None:
            self._init_timer.cancel()
        for invocation in list(self.held.values()):
            # Lambda returns an init error to the invocations that were waiting for the runtime.
            self._finish(invocation, Outcome.ERROR, error.body(), error_type=error.error_type)
        self._events.slot_failed(self, error)

    def _kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, sig)

    async def stop(self) -> None:
        """End the runtime process (SIGTERM, then SIGKILL after a grace period)."""
        self._stopping = True
        if self._init_timer is not None:
            self._init_timer.cancel()
        prestarted, self._prestarted = self._prestarted, None
        if prestarted is not None:
            await prestarted.stop()
        process = self._process
        if process is not None:
            self._kill(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), _STOP_GRACE_SECONDS)
            except TimeoutError:
                self._kill()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._drain_output()
        self._close_output()

    def _spawn_task(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -------------------------------------------------------------------- output

    def _drain_output(self) -> None:
        """Copy what the runtime wrote to the agent's stdout and the current invocation's tail.

        Runs when the pipe is readable and, synchronously, before an invocation
        is finished: a runtime writes its logs before it posts its answer, so
        they are in the pipe by then and belong to that invocation.
        """
        fd = self._output_fd
        while fd is not None:
            try:
                data = os.read(fd, _READ_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._close_output()
                return
            self._sink.raw(data)
            if self.capacity == 1:
                for invocation in self.held.values():
                    if invocation.delivered_to:
                        invocation.tail.append(data)
            else:
                self._attribute(data)

    def _attribute(self, data: bytes) -> None:
        """Give each delivered invocation's tail the output lines that name its request id.

        Several invocations share one process's output, so a line is an invocation's only
        when it says so: the runtimes' log lines carry the request id (awslambdaric's
        logging, Node's console, the concurrent runtime's records); a bare print does not.
        """
        lines = (self._partial_line + data).split(b"\n")
        self._partial_line = lines.pop()[-_READ_BYTES:]
        delivered = [i for i in self.held.values() if i.delivered_to]
        for line in lines:
            for invocation in delivered:
                if invocation.request_id.encode() in line:
                    invocation.tail.append(line + b"\n")

    def _close_output(self) -> None:
        fd, self._output_fd = self._output_fd, None
        if fd is not None:
            asyncio.get_running_loop().remove_reader(fd)
            os.close(fd)

    def _memory_mb(self) -> int:
        process = self._process
        if process is not None:
            try:
                status = Path(f"/proc/{process.pid}/status").read_text()
            except OSError:
                status = ""
            used = max_memory_used_mb(status)
            if used is not None:
                self._max_memory_mb = max(self._max_memory_mb, used)
        return self._max_memory_mb

    # ---------------------------------------------------------------- invocations

    def assign(self, invocation: Invocation) -> None:
        """Give the slot an invocation; the caller checked ``free``."""
        self.held[invocation.request_id] = invocation
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                invocation.delivered_to = self.generation
                waiter.set_result(invocation)
                return
        self._queue.append(invocation)

    def time_out(self, invocation: Invocation) -> None:
        """The invocation's deadline passed: end it as Lambda does and replace the runtime.

        Killing the process ends every other call it was running too (Runtime.ExitError):
        the agent cannot stop one call inside a process, and a process whose call runs
        past its deadline cannot be trusted with the capacity it holds.
        """
        if self.held.get(invocation.request_id) is not invocation:
            return
        elapsed = self._clock.monotonic() - invocation.started
        message = timeout_message(self._clock.wall_ms(), invocation.request_id, elapsed)
        delivered = invocation.delivered_to == self.generation
        self._abandoned.append(invocation.request_id)
        self._finish(
            invocation,
            Outcome.TIMEOUT,
            LambdaError("Sandbox.Timedout", message).body(),
            error_type="Sandbox.Timedout",
        )
        if not delivered:
            return  # the runtime was still starting; it gets the next invocation
        if self._settings.bootstrap is None:
            self._awaiting_runtime = True  # cannot kill it: wait for its next /next
        else:
            self._kill()  # _exited starts a fresh process

    def _finish(
        self,
        invocation: Invocation,
        outcome: Outcome,
        body: bytes,
        *,
        content_type: str = _JSON,
        error_type: str | None = None,
    ) -> None:
        self._drain_output()
        init_ms = None
        if invocation.delivered_to == self.generation:
            init_ms, self._pending_init_ms = self._pending_init_ms, None
        if self.held.get(invocation.request_id) is invocation:
            del self.held[invocation.request_id]
            if not invocation.delivered_to:
                self._queue.remove(invocation)
        if not invocation.done.done():
            invocation.done.set_result(
                Result(
                    outcome=outcome,
                    body=body,
                    content_type=content_type,
                    finished=self._clock.monotonic(),
                    init_duration_ms=init_ms,
                    max_memory_mb=self._memory_mb(),
                    error_type=error_type,
                )
            )

    # ---------------------------------------------------------------- Runtime API

    async def next_invocation(self) -> Invocation | None:
        """``GET /next``: the next invocation for this slot's runtime, however long it takes.

        None: refused, the process already has ``capacity`` calls to ``/next`` waiting.
        """
        if not self.initialised:
            self._initialised()
        self._awaiting_runtime = False
        if self.capacity == 1:
            for invocation in [i for i in self.held.values() if i.delivered_to]:
                # The runtime asks for more without answering what it holds.
                error = LambdaError(
                    "Runtime.InvalidResponse",
                    f"RequestId: {invocation.request_id} Error: the runtime asked for the next "
                    "invocation without answering this one",
                )
                self._finish(invocation, Outcome.ERROR, error.body(), error_type=error.error_type)
        if self._queue:
            invocation = self._queue.popleft()
            invocation.delivered_to = self.generation
            return invocation
        if len(self._waiters) >= self.capacity:
            return None
        waiter: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _initialised(self) -> None:
        self.initialised = True
        if self._init_timer is not None:
            self._init_timer.cancel()
        init_ms = (self._clock.monotonic() - self._init_started) * 1000
        self._pending_init_ms = init_ms
        self._metrics.init_duration.observe(init_ms / 1000)
        self._events.slot_ready(self)

    def _delivered(self, request_id: str) -> Invocation | None:
        invocation = self.held.get(request_id)
        return invocation if invocation is not None and invocation.delivered_to else None

    def respond(self, request_id: str, body: bytes, content_type: str | None) -> int:
        """``POST /response``: the function's result. Returns the HTTP status for the runtime."""
        invocation = self._delivered(request_id)
        if invocation is None:
            return 202 if request_id in self._abandoned else 400
        self._finish(invocation, Outcome.SUCCESS, body, content_type=content_type or _JSON)
        return 202

    def respond_too_large(self, request_id: str) -> int:
        """``POST /response`` with a body over Lambda's limit: the caller gets Lambda's error."""
        invocation = self._delivered(request_id)
        if invocation is not None:
            error = response_too_large_error()
            self._sink.log("ERROR", error.message, request_id)
            self._finish(invocation, Outcome.TOO_LARGE, error.body(), error_type=error.error_type)
        return 413

    def report_error(self, request_id: str, body: bytes, header_type: str | None) -> int:
        """``POST /error``: the function failed; its error JSON goes back to the caller."""
        invocation = self._delivered(request_id)
        if invocation is None:
            return 202 if request_id in self._abandoned else 400
        error_body = runtime_error_body(body, header_type)
        self._finish(
            invocation, Outcome.ERROR, error_body, error_type=_error_type(error_body, header_type)
        )
        return 202

    def report_init_error(self, body: bytes, header_type: str | None) -> int:
        """``POST /init/error``: kept for when the runtime exits, which it does next."""
        if self.initialised:
            return 403
        self._posted_init_error = init_error_from_post(body, header_type)
        return 202


def _error_type(body: bytes, header_type: str | None) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return header_type
    if isinstance(parsed, dict) and isinstance(parsed.get("errorType"), str):
        return str(parsed["errorType"])
    return header_type


def _entrypoint_error(command: str, exc: OSError) -> LambdaError:
    """Lambda's error for a bootstrap that cannot be started."""
    if isinstance(exc, FileNotFoundError):
        return LambdaError(
            "Runtime.InvalidEntrypoint", f"Couldn't find valid bootstrap(s): [{command}]"
        )
    return LambdaError("Runtime.InvalidEntrypoint", f"fork/exec {command}: {exc.strerror}")


class PoolState(StrEnum):
    """The agent's state, as ``/status`` shows it."""

    INITIALIZING = "initializing"
    READY = "ready"
    INIT_ERROR = "init_error"
    STOPPING = "stopping"


class SlotPool:
    """The slots of one pod: readiness once all have initialised, failure once one cannot."""

    def __init__(  # noqa: PLR0913 - collaborators are injected, by keyword
        self,
        settings: AgentSettings,
        *,
        clock: Clock,
        sink: LogSink,
        metrics: AgentMetrics,
        zygote: Zygote | None = None,
        prestarted: Prestarted | None = None,
        credentials: PodCredentials | None = None,
    ) -> None:
        """``zygote``: one started already (a warm pool's), else the settings' if they name one.

        ``prestarted``: a runtime a warm pool started ahead, the first slot's first process.
        ``credentials``: the pod credential its runtimes are told of (durable Functions).
        """
        self.state = PoolState.INITIALIZING
        self.error: LambdaError | None = None
        self.changed = asyncio.Event()
        self._sink = sink
        self._clock = clock
        self._settings = settings
        self.zygote = zygote
        if zygote is None and settings.zygote is not None:
            self.zygote = Zygote(settings.zygote, settings.runtime_env, settings.task_root)
        self.slots = [
            Slot(
                index,
                settings,
                clock=clock,
                sink=sink,
                metrics=metrics,
                events=self,
                zygote=self.zygote,
                prestarted=prestarted if index == 0 else None,
            )
            for index in range(settings.slots)
        ]
        for slot in self.slots:
            slot.credentials = credentials

    @property
    def capacity(self) -> int:
        """Invocations the pod takes at once: its slots times each one's capacity."""
        return sum(slot.capacity for slot in self.slots)

    @property
    def busy(self) -> int:
        """Invocations held by the slots."""
        return sum(len(slot.held) for slot in self.slots)

    def acquire(self) -> Slot | None:
        """The least busy slot free for an invocation, or None when every slot is full."""
        free = [slot for slot in self.slots if slot.free]
        return min(free, key=lambda slot: len(slot.held)) if free else None

    async def start(self) -> None:
        """Start every slot's runtime at once (forked from the zygote, when there is one)."""
        started = self._clock.monotonic()
        zygote = self.zygote
        if zygote is not None and zygote.alive and (shadowed := zygote.shadowed()):
            self._sink.log(
                "INFO",
                "runtimes start from scratch, not from the pool's zygote: the Function's "
                f"code has its own {', '.join(shadowed[:3])}",
            )
            await zygote.stop()
        elif zygote is not None:
            problem = await zygote.start(self._settings.init_timeout_seconds)
            if problem is None:
                elapsed_ms = (self._clock.monotonic() - started) * 1000
                self._sink.log("INFO", f"zygote ready in {elapsed_ms:.1f} ms (pid {zygote.pid})")
            else:
                self._sink.log(
                    "WARN", f"no zygote ({problem}): every slot starts its runtime from scratch"
                )
        await asyncio.gather(*(slot.start(started) for slot in self.slots))

    def slot_ready(self, slot: Slot) -> None:  # noqa: ARG002 - part of SlotEvents
        """Ready once every slot has initialised once."""
        if self.state is PoolState.INITIALIZING and all(s.initialised for s in self.slots):
            self.state = PoolState.READY
            self.changed.set()

    def slot_failed(self, slot: Slot, error: LambdaError) -> None:
        """One slot's init error fails the pod (Lambda: the environment is not usable)."""
        self._sink.log("ERROR", f"slot {slot.index}: {error.error_type}: {error.message}")
        self.fail(error)

    def fail(self, error: LambdaError) -> None:
        """The pod cannot serve: ``/readyz`` fails and the agent ends with ``error``."""
        if self.state in (PoolState.INITIALIZING, PoolState.READY):
            self.state = PoolState.INIT_ERROR
            self.error = error
            self.changed.set()

    async def wait_idle(self, limit_seconds: float) -> None:
        """Wait until no invocation is in flight, at most ``limit_seconds``."""
        end = self._clock.monotonic() + limit_seconds
        while self.busy and self._clock.monotonic() < end:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """End every runtime, then the zygote."""
        await asyncio.gather(*(slot.stop() for slot in self.slots))
        if self.zygote is not None:
            await self.zygote.stop()


def runtime_api_env(env: Mapping[str, str], port: int) -> dict[str, str]:
    """A runtime's environment with the address of its slot's Runtime API."""
    result = dict(env)
    result["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{port}"
    return result
