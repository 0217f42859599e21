"""The durable runner: starts executions, fires their timers, invokes them when woken (a shell).

docs/internals/durable.md, "The durable timer" and "Invocations". One per gateway replica:

- **Actions.** Every committed transition's actions come here (``DurableService``'s
  ``on_actions``) and are done before the call that caused them is answered: an
  ``ArmTimer`` or a ``Wake`` is stored on the timer stream (a wake is a timer due now, or
  after a back-off); ``Ended`` is counted and wakes the callers waiting for that
  execution in this replica; ``Purge`` removes the execution (its retention is over).
- **Timers.** ``TimerWorkers`` hand each due message here: a timer goes to the decider
  (``DurableService.fire``: a stale one does nothing); a wake runs one invocation.
- **An invocation** claims the execution (``DurableService.invoke``, with the lease of
  the Function's timeout and 30 s: another invocation in flight within its lease keeps
  it, and the wake comes back when that lease ends), runs the event through the
  gateway's Dispatcher as an async event is run (admission, routing, cold starts), reads
  the handler's answer (``invocation_output``) and commits it
  (``DurableService.invocation_ended``): the decider then asks for the next wake, a
  back-off, or the end.
- **Starting** (the Invoke API): ``begin`` starts an execution of the Function's version;
  ``outcome`` waits for its end, woken by ``Ended`` in this replica and reading the
  summary every few seconds in case another replica ended it.
"""

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from kappa.api.names import unit_name
from kappa.base.clock import epoch_ms
from kappa.durable import decider, invocation_output
from kappa.durable.arns import parse_execution_arn
from kappa.durable.decider import Action, ArmTimer, Ended, FunctionError, Purge, Throttled, Wake
from kappa.durable.metrics import DurableMetrics
from kappa.durable.model import ErrorObject, ExecutionStatus
from kappa.durable.service import AlreadyStartedError, DurableService, ExecutionView
from kappa.durable.store import ExecutionKey, StoreUnavailable
from kappa.durable.timer_message import WAKE, TimerMessage
from kappa.durable.timers import TimerWorkers
from kappa.invocation.call import AgentReply, Call
from kappa.invocation.errors import Fault, GatewayError, invalid_parameter, service_error
from kappa.invocation.registry import FunctionSpec, Registry

log = logging.getLogger("kappa.gateway.durable")

LATEST: Final = "$LATEST"
_POLL_SECONDS: Final = 2.0
_ATTACH_POLL_SECONDS: Final = 0.5
_ARM_ATTEMPTS: Final = 3
_ARM_RETRY_SECONDS: Final = 0.5
_THROTTLES_KEPT: Final = 10_000
_UNARMED_KEPT: Final = 100_000
_REARM_SECONDS: Final = 1.0
ALREADY_STARTED: Final = "DurableExecutionAlreadyStartedException"


class Invoker(Protocol):
    """What runs an invocation: the gateway's Dispatcher."""

    async def invoke(self, spec: FunctionSpec, call: Call) -> AgentReply:
        """Run ``call`` on a slot of ``spec``; GatewayError for 429s and lost pods."""
        ...


def _key_of(arn_text: str) -> ExecutionKey:
    arn = parse_execution_arn(arn_text)
    return ExecutionKey(arn.namespace, arn.function, arn.name)


def already_started(name: str) -> GatewayError:
    """409 ``DurableExecutionAlreadyStartedException``: the name exists with another input."""
    return GatewayError(
        409,
        ALREADY_STARTED,
        {
            "Type": "User",
            "message": f"A durable execution named {name!r} exists with another input.",
        },
    )


def outcome_reply(view: ExecutionView) -> AgentReply:
    """A synchronous Invoke's answer for an ended execution, as Lambda renders a call's."""
    if view.status == ExecutionStatus.SUCCEEDED.value:
        body = (view.result if view.result is not None else "null").encode()
        return AgentReply(body, "application/json", None, None)
    error = view.error or {}
    wire = {
        "errorType": error.get("ErrorType") or f"Execution{view.status.title().replace('_', '')}",
        "errorMessage": error.get("ErrorMessage") or f"The durable execution ended {view.status}.",
    }
    return AgentReply(json.dumps(wire).encode(), "application/json", "Unhandled", None)


class DurableRunner:
    """One replica's timers and invocations of durable executions."""

    def __init__(
        self,
        service: DurableService,
        registry: Registry,
        metrics: DurableMetrics,
        *,
        clock: Callable[[], int] = epoch_ms,
    ) -> None:
        self._service = service
        self._registry = registry
        self._metrics = metrics
        self._clock = clock
        self._invoker: Invoker | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ended: dict[str, asyncio.Event] = {}  # execution token -> set when it ends here
        self._throttles: dict[str, int] = {}  # execution token -> throttled invocations in a row
        self._unarmed: deque[tuple[TimerMessage, str]] = deque()  # NATS refused them
        self._rearming: asyncio.Task[None] | None = None
        service.act_with(self.act)

    # The gateway's side.

    def start(self, invoker: Invoker) -> None:
        """Run the timer workers, invoking through ``invoker``, until :meth:`stop`."""
        self._invoker = invoker
        self._task = asyncio.create_task(self._run())

    async def stop(self, timeout: float) -> None:
        """Stop fetching; let the invocations in hand end, up to ``timeout``."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                queue = self._service.timers
            except StoreUnavailable:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), _ATTACH_POLL_SECONDS)
                continue
            log.info("durable timers: workers started (%d at once)", queue.settings.workers)
            await TimerWorkers(queue, self._handle, self._clock).run(self._stopping)
            return

    async def begin(self, spec: FunctionSpec, payload: bytes, name: str | None) -> str:
        """Start an execution of ``spec``: its ARN (same name and input again: the existing one)."""
        durable = spec.durable
        if durable is None:
            raise invalid_parameter(f"{spec.name} is not a durable Function.")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid_parameter("A durable execution's input must be UTF-8 JSON.") from None
        try:
            started = await self._service.start(
                namespace=spec.namespace,
                function=spec.name,
                version=spec.version or LATEST,
                name=name,
                payload=text,
                timeout_seconds=durable.execution_timeout_seconds,
                retention_days=durable.retention_period_in_days,
            )
        except AlreadyStartedError as exc:
            raise already_started(exc.name) from None
        if not started.existed:
            self._metrics.started.inc()
            log.info("durable execution %s started", started.arn)
        return started.arn

    async def outcome(self, arn: str, timeout_seconds: float) -> AgentReply:
        """Wait for ``arn`` to end (up to ``timeout_seconds``); its answer as a call's."""
        token = _key_of(arn).token
        ended = self._ended.setdefault(token, asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        try:
            while True:
                view, _ = await self._service.get(arn, {})
                if view.status != ExecutionStatus.RUNNING.value:
                    return outcome_reply(view)
                left = deadline - loop.time()
                if left <= 0:
                    raise service_error(
                        f"The durable execution {arn} did not end within {timeout_seconds:.0f} s.",
                        status=504,
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), min(_POLL_SECONDS, left))
        finally:
            self._ended.pop(token, None)

    # The actions of every committed transition.

    async def act(self, key: ExecutionKey, actions: Sequence[Action]) -> None:
        """Do ``actions`` of a transition of ``key`` just committed (store them; count them)."""
        now = self._clock()
        for action in actions:
            match action:
                case ArmTimer(timer):
                    message = TimerMessage(
                        key.namespace, key.function, key.name, timer.due_ms, timer=timer
                    )
                    await self._arm(message, timer.kind.value)
                case Wake(delay_ms):
                    nonce = uuid.uuid4().hex
                    message = TimerMessage(
                        key.namespace, key.function, key.name, now + delay_ms, nonce=nonce
                    )
                    await self._arm(message, WAKE)
                case Ended(status):
                    self._metrics.ended.labels(status.value).inc()
                    self._throttles.pop(key.token, None)
                    if (waiting := self._ended.get(key.token)) is not None:
                        waiting.set()
                    log.info("durable execution %s ended %s", key.token, status.value)
                case Purge():
                    await self._service.purge(key)
                    log.info("durable execution %s purged: its retention is over", key.token)

    async def _arm(self, message: TimerMessage, kind: str) -> None:
        """Store ``message``; NATS away past a few tries: kept and tried again every second.

        The transition that asked for it is committed already: failing the caller would
        not bring the timer back (a timer delivered again finds its transition applied),
        so this replica keeps it (bounded) until NATS takes it.
        """
        for _ in range(_ARM_ATTEMPTS):
            if await self._store_timer(message, kind):
                return
            await asyncio.sleep(_ARM_RETRY_SECONDS)
        if len(self._unarmed) >= _UNARMED_KEPT:
            log.error("durable timer %s lost: %d others wait for NATS", message.message_id,
                      len(self._unarmed))  # fmt: skip
            return
        log.warning("durable timer %s kept until NATS takes it", message.message_id)
        self._unarmed.append((message, kind))
        if self._rearming is None or self._rearming.done():
            self._rearming = asyncio.create_task(self._rearm())

    async def _store_timer(self, message: TimerMessage, kind: str) -> bool:
        try:
            await self._service.timers.arm(message)
        except Exception as exc:  # noqa: BLE001 - NATS away, in any of its ways: kept
            log.debug("arming %s: %r", message.message_id, exc)
            return False
        self._metrics.timers_armed.labels(kind).inc()
        return True

    async def _rearm(self) -> None:
        """Store the timers NATS refused, oldest first, once a second until none is left."""
        while self._unarmed:
            await asyncio.sleep(_REARM_SECONDS)
            while self._unarmed and await self._store_timer(*self._unarmed[0]):
                message, _ = self._unarmed.popleft()
                log.info("durable timer %s stored after all", message.message_id)

    # The due timers and wakes.

    async def _handle(self, message: TimerMessage) -> None:
        kind = WAKE if message.timer is None else message.timer.kind.value
        self._metrics.timers_fired.labels(kind).inc()
        self._metrics.lateness.observe(max(0, self._clock() - message.due_ms) / 1000)
        key = ExecutionKey(message.namespace, message.function, message.execution)
        try:
            if message.timer is not None:
                await self._service.fire(key, message.timer)
            else:
                await self._invocation(key)
        except GatewayError as error:
            if error.status >= 500:  # noqa: PLR2004 - NATS away: offered again later
                raise
            # The execution is gone or ended meanwhile: nothing to do.
            log.info("durable %s: %s %s", key.token, kind, error.message)

    def _spec(self, key: ExecutionKey, version: str) -> FunctionSpec | None:
        unit = unit_name(key.function, None if version == LATEST else version)
        return self._registry.function((key.namespace, unit))

    async def _invocation(self, key: ExecutionKey) -> None:
        """Run one invocation of ``key``'s execution, if no other holds it."""
        summary = await self._service.identity(key)
        if summary is None:
            return
        spec = self._spec(key, summary.version)
        lease = decider.invocation_lease_ms(spec.timeout_seconds if spec is not None else 0.0)
        claimed = await self._service.invoke(summary.arn, lease)
        if claimed is None:
            # Another invocation holds it (a replica in the middle of one, or one that died
            # with it): look again when its lease ends.
            nonce = uuid.uuid4().hex
            due = self._clock() + lease
            await self._arm(
                TimerMessage(key.namespace, key.function, key.name, due, nonce=nonce), WAKE
            )
            return
        request_id = claimed.invocation
        if spec is None:
            answer: decider.InvocationAnswer = FunctionError(
                ErrorObject(
                    message=f"The Function {key.namespace}/{key.function} "
                    f"(version {summary.version}) was not found.",
                    type="ResourceNotFoundException",
                )
            )
        else:
            answer = await self._call(spec, key, claimed.event, request_id)
        outcome = _outcome_label(answer)
        self._metrics.invocations.labels(outcome).inc()
        log.info("%s: durable invocation of %s: %s", request_id, key.token, outcome)
        await self._service.invocation_ended(summary.arn, claimed.invocation, answer, request_id)

    async def _call(
        self, spec: FunctionSpec, key: ExecutionKey, event: dict[str, object], request_id: str
    ) -> decider.InvocationAnswer:
        assert self._invoker is not None  # noqa: S101 - started before the workers run
        payload = json.dumps(event, separators=(",", ":")).encode()
        try:
            reply = await self._invoker.invoke(spec, Call(payload, request_id, {}))
        except GatewayError as error:
            if error.outcome is Fault.THROTTLED:
                attempt = self._throttles.get(key.token, 0)
                if len(self._throttles) < _THROTTLES_KEPT or key.token in self._throttles:
                    self._throttles[key.token] = attempt + 1
                return Throttled(attempt)
            return FunctionError(ErrorObject(message=error.message, type=error.error_type))
        self._throttles.pop(key.token, None)
        if reply.function_error:
            return invocation_output.function_error(reply.body)
        return invocation_output.read(reply.body)


def _outcome_label(answer: decider.InvocationAnswer) -> str:
    match answer:
        case decider.Succeeded():
            return "succeeded"
        case decider.Failed():
            return "failed"
        case decider.Pending():
            return "pending"
        case decider.Throttled():
            return "throttled"
    return "function_error"
