"""Workers: take events off the queue and run them through the gateway's dispatcher (shell).

They run inside every gateway replica (docs/internals/async.md says why), share
one durable pull consumer per namespace's stream (a fetch loop each, within the
namespace's share of the slots: ``fairness``), and invoke through the same ``Dispatcher`` as
synchronous calls, so reserved concurrency, the cluster limit and the wait
queues hold for events too. Each replica handles at most ``workers`` events
at once and fetches only as many as it has room for; which namespaces have
events it reads every 0.25 s from the list of event streams (one request), and,
while the shared stream of earlier versions holds events, from its per-subject
counts (a loop per namespace there too, within the same share).

While an event runs, the worker tells JetStream it is still at it (every third
of ``ack_wait``, one task for all the events in hand), so a long handler is not
handed to a second worker; a worker that dies stops doing so, and the event goes
to another after ``ack_wait``.

Round trips per event: a first delivery reads no progress (none can exist: only
a delivery's handling writes it), and a success with no destination writes none
(``Finish.to_save``); a plain event costs the fetch's share, the invocation and
the ack.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Final, Protocol

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, NotFoundError

from kappa.api.names import unit_parts
from kappa.asyncq import decider, destinations, fairness, progress
from kappa.asyncq.decider import Finish, Invoke, Offer, Policy, Requeue, Retry
from kappa.asyncq.envelope import Event, MalformedEventError, dead_letter_headers, event_from
from kappa.asyncq.health import describe
from kappa.asyncq.jetstream import Queue, ensure_consumer, event_streams
from kappa.asyncq.metrics import AsyncMetrics
from kappa.asyncq.publisher import EnqueueError
from kappa.asyncq.record import Response
from kappa.asyncq.schedule import Backoff
from kappa.asyncq.settings import AsyncSettings
from kappa.asyncq.upkeep import Upkeep
from kappa.base import logs
from kappa.base.arn import function_arn
from kappa.base.clock import epoch_ms
from kappa.invocation.call import AgentReply, Call
from kappa.invocation.errors import Fault, GatewayError
from kappa.invocation.registry import FunctionSpec, Registry
from kappa.tracing import context
from kappa.tracing.span import SpanKind
from kappa.tracing.tracer import Tracer
from kappa.tracing.tracer import headers as trace_headers

log = logging.getLogger("kappa.gateway.asyncq")

_FETCH_SECONDS: Final = 1.0
_LOOK_SECONDS: Final = 0.25
_NATS_TROUBLE_SECONDS: Final = 0.5
_READY_POLL_SECONDS: Final = 0.2
_HANDLING_FAILED_DELAY: Final = 1.0


Source = tuple[str, str]  # (stream, namespace): what one fetch loop reads


class Invoker(Protocol):
    """What runs an invocation (the gateway's Dispatcher), and the process's tracer."""

    tracer: Tracer

    async def invoke(self, spec: FunctionSpec, call: Call) -> AgentReply:
        """Run ``call`` on a slot of ``spec``; GatewayError for 429s and lost pods."""
        ...


class Worker:
    """The consumer loop of one replica and the handling of each event."""

    def __init__(  # noqa: PLR0913 - collaborators, injected
        self,
        queue: Queue,
        registry: Registry,
        invoker: Invoker,
        settings: AsyncSettings,
        metrics: AsyncMetrics,
        *,
        upkeep: Upkeep,
        region: str,
        ready: Callable[[], bool],
    ) -> None:
        self._queue = queue
        self._upkeep = upkeep
        self._registry = registry
        self._invoker = invoker
        self._settings = settings
        self._metrics = metrics
        self._region = region
        self._ready = ready
        self._backoff = Backoff(
            retry_delays=settings.retry_delays,
            requeue_first=settings.requeue_min_seconds,
            requeue_cap=settings.requeue_max_seconds,
            destination_wait=settings.destination_wait_seconds,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        # Events being handled, kept alive together (by id: a Msg is not hashable).
        self._in_hand: dict[int, Msg] = {}
        self._beat: asyncio.Task[None] | None = None
        self._free = settings.workers
        self._running: dict[str, int] = {}  # events in hand per namespace
        self._waiting: dict[str, int] = {}  # events queued per namespace (last look)
        self._sources: dict[Source, int] = {}  # events queued per (stream, namespace)
        self._changed = asyncio.Event()  # set (and replaced) when slots or namespaces change
        self._stopping = False
        self._trouble: str | None = None  # the last fetch failure logged, until one works

    async def run(self) -> None:
        """Look for namespaces with events; run a fetch loop per namespace, until ``stop``."""
        while not self._ready():
            await asyncio.sleep(_READY_POLL_SECONDS)
        log.info("async workers started (%d at once)", self._settings.workers)
        loops: dict[Source, asyncio.Task[None]] = {}
        self._beat = asyncio.ensure_future(self._keep_alive())
        try:
            while not self._stopping:
                sources = await self._look()
                if sources is not None:
                    self._sources = sources
                    self._waiting = fairness.per_namespace(sources)
                    for source in sources:
                        if source not in loops or loops[source].done():
                            loops[source] = asyncio.ensure_future(self._loop(*source))
                    self._change()
                await asyncio.sleep(_LOOK_SECONDS)
        finally:
            for loop in loops.values():
                loop.cancel()
            await asyncio.gather(*loops.values(), return_exceptions=True)
            if not self._stopping:  # cancelled without stop(): nothing is kept alive any more
                self._beat.cancel()

    async def _look(self) -> dict[Source, int] | None:
        """Events per (stream, namespace) with any; None when NATS fails.

        One list of the event streams; one more read while the shared stream of earlier
        versions holds events (its per-subject counts say whose).
        """
        if not await self._upkeep.usable(_FETCH_SECONDS):
            return None
        names = self._queue.names
        try:
            streams = await event_streams(self._queue)
            found: dict[Source, int] = {}
            for stream in streams:
                name = stream.config.name or ""
                namespace = names.namespace_of_stream(name)
                if namespace is not None and stream.state.messages:
                    found[(name, namespace)] = stream.state.messages
                elif name == names.legacy_stream and stream.state.messages:
                    found.update(await self._legacy_look())
        except (TimeoutError, nats.errors.Error) as exc:
            self._upkeep.failed(exc)
            self._trouble_seen(exc)
            return None
        return found

    async def _legacy_look(self) -> dict[Source, int]:
        """Events per namespace in the shared stream of earlier versions (none once it is gone)."""
        names = self._queue.names
        try:
            info = await self._queue.js.stream_info(
                names.legacy_stream, subjects_filter=names.legacy_subjects
            )
        except NotFoundError:  # removed since the list: nothing to read there
            return {}
        counts = fairness.namespaces_of(info.state.subjects or {}, names.prefix)
        return {(names.legacy_stream, namespace): count for namespace, count in counts.items()}

    async def _loop(self, stream: str, namespace: str) -> None:
        """Fetch ``namespace``'s events in ``stream``, within its share of the slots, while any."""
        subscription: JetStreamContext.PullSubscription | None = None
        try:
            while not self._stopping and (stream, namespace) in self._sources:
                if subscription is None:
                    subscription = await self._subscribe(stream, namespace)
                    continue
                room = await self._reserve(namespace)
                if room == 0:
                    continue
                messages = await self._fetch(subscription, room)
                for message in messages:
                    task = asyncio.ensure_future(self._handle(message))
                    self._tasks.add(task)
                    task.add_done_callback(functools.partial(self._done, namespace))
                self._release(namespace, room - len(messages))
                if not messages:
                    # An empty fetch is also what a consumer that is gone gives.
                    await subscription.unsubscribe()
                    subscription = None
        finally:
            if subscription is not None:
                with contextlib.suppress(nats.errors.Error):
                    await subscription.unsubscribe()

    async def _subscribe(
        self, stream: str, namespace: str
    ) -> JetStreamContext.PullSubscription | None:
        """Set up ``namespace``'s consumer of ``stream`` (again) and bind to it; None on failure."""
        if not await self._upkeep.usable(_FETCH_SECONDS):
            return None
        queue = self._queue
        try:
            consumer = await ensure_consumer(
                queue.js, self._settings, queue.names, namespace, stream
            )
            return await queue.js.pull_subscribe_bind(durable=consumer, stream=stream)
        except (TimeoutError, nats.errors.Error) as exc:
            self._upkeep.failed(exc)
            self._trouble_seen(exc)
            await asyncio.sleep(_NATS_TROUBLE_SECONDS)
            return None

    async def _reserve(self, namespace: str) -> int:
        """Wait for room for ``namespace`` (its share, free slots); take it and say how much."""
        while True:
            room = fairness.grant(
                namespace, free=self._free, running=self._running,
                namespaces=len(self._waiting), workers=self._settings.workers,
            )  # fmt: skip
            if room > 0 or self._stopping or namespace not in self._waiting:
                break
            await self._changed.wait()
        self._free -= room
        self._running[namespace] = self._running.get(namespace, 0) + room
        return room

    def _release(self, namespace: str, count: int) -> None:
        if count <= 0:
            return
        self._free += count
        self._running[namespace] -= count
        if self._running[namespace] == 0:
            del self._running[namespace]
        self._change()

    def _change(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _fetch(self, subscription: JetStreamContext.PullSubscription, room: int) -> list[Msg]:
        """Up to ``room`` events; none while the queue is unusable or NATS fails (logged)."""
        if not await self._upkeep.usable(_FETCH_SECONDS):
            return []
        try:
            messages = await subscription.fetch(room, timeout=_FETCH_SECONDS)
        except TimeoutError:
            return []
        except nats.errors.Error as exc:
            self._upkeep.failed(exc)
            self._trouble_seen(exc)
            await asyncio.sleep(_NATS_TROUBLE_SECONDS)
            return []
        if self._trouble is not None:
            log.info("async workers fetch events again")
            self._trouble = None
        return messages

    def _trouble_seen(self, exc: BaseException) -> None:
        """Log a failure to reach the queue at WARNING, once per cause."""
        cause = describe(exc)
        if cause != self._trouble:
            log.warning("async workers cannot fetch events (%s); trying again", cause)
            self._trouble = cause

    async def stop(self, timeout: float) -> None:
        """Stop fetching; let events in hand finish (up to ``timeout``), cancel the rest."""
        self._stopping = True
        self._change()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._beat is not None:  # events finishing meanwhile were kept alive
            self._beat.cancel()

    def _done(self, namespace: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._release(namespace, 1)

    # ------------------------------------------------------------ one event

    async def _handle(self, message: Msg) -> None:
        self._metrics.in_flight.inc()
        self._in_hand[id(message)] = message
        try:
            await self._process(message)
        except (TimeoutError, nats.errors.Error, EnqueueError) as exc:
            # NATS trouble mid-way: what was saved stays saved; the event comes back.
            self._upkeep.failed(exc.error if isinstance(exc, EnqueueError) and exc.error else exc)
            log.warning("event on %s: NATS failed us (%s); it will be offered again",
                        message.subject, exc)  # fmt: skip
            with contextlib.suppress(TimeoutError, nats.errors.Error):
                await message.nak(delay=_HANDLING_FAILED_DELAY)
        finally:
            del self._in_hand[id(message)]
            self._metrics.in_flight.dec()

    async def _keep_alive(self) -> None:
        """Every third of ``ack_wait``: each event in hand is still being worked on."""
        while True:
            await asyncio.sleep(self._settings.ack_wait_seconds / 3)
            for message in list(self._in_hand.values()):
                with contextlib.suppress(TimeoutError, nats.errors.Error):
                    await message.in_progress()

    async def _process(self, message: Msg) -> None:
        try:
            event = event_from(self._queue.names, message.subject, message.headers, message.data)
        except MalformedEventError as exc:
            log.warning("dropping a message Kappa did not queue: %s", exc)
            await message.term()
            return
        logs.serving_from_now(event.request_id)  # each message has a task of its own
        spec = self._registry.function(event.key)
        policy = _policy(spec)
        deliveries = message.metadata.num_delivered or 1
        # Only a delivery's handling writes progress: a first delivery has none to read.
        so_far = await self._progress(event) if deliveries > 1 else progress.Progress()
        offer = Offer(event, so_far, deliveries, epoch_ms())
        arn = function_arn(self._region, event.namespace, *unit_parts(event.name))
        decision = decider.before_invoke(offer, policy, self._backoff, arn=arn)
        if isinstance(decision, Invoke) and spec is not None and policy is not None:
            if deliveries == 1:
                self._metrics.start_latency.observe(offer.age_seconds)
            result = await self._invoke(spec, event)
            offer = Offer(event, offer.progress, deliveries, epoch_ms())
            after = decider.after_invoke(offer, policy, result, self._backoff)
            await self._apply(message, event, after)
        elif not isinstance(decision, Invoke):
            await self._apply(message, event, decision)

    async def _progress(self, event: Event) -> progress.Progress:
        try:
            entry = await self._queue.progress.get(event.dedupe_key)
        except KeyNotFoundError:
            return progress.Progress()
        return progress.decode(entry.value)

    async def _invoke(self, spec: FunctionSpec, event: Event) -> decider.Result:
        # A span in the trace the event carries (the gateway's invoke span is its parent);
        # the agent's span is this one's child. An event queued without one starts a trace.
        tracer = self._invoker.tracer
        span = tracer.start("process", SpanKind.CONSUMER, context.parse_xray(event.trace_id))
        span.set("faas.invocation_id", event.request_id)
        span.set("faas.trigger", "pubsub")
        span.set("faas.invoked_name", event.name)
        span.set("k8s.namespace.name", event.namespace)
        span.set("messaging.system", "nats")
        span.set("messaging.operation.type", "process")
        result: decider.Result | None = None
        try:
            result = await self._call(spec, event, trace_headers(span))
        finally:
            span.set("kappa.outcome", "failed" if result is None else type(result).__name__.lower())
            tracer.end(span)
        return result

    async def _call(
        self, spec: FunctionSpec, event: Event, headers: dict[str, str]
    ) -> decider.Result:
        try:
            reply = await self._invoker.invoke(spec, Call(event.payload, event.request_id, headers))
        except GatewayError as error:
            if error.outcome is Fault.THROTTLED:
                self._metrics.invocations.labels("throttled").inc()
                return decider.Throttled(error.message)
            if error.outcome is Fault.SYSTEM:
                self._metrics.invocations.labels("system_error").inc()
                return decider.SystemFailed(error.status, error.message)
            # The agent refused the event itself (too large for it…): trying again won't help.
            _, _, body = error.render()
            self._metrics.invocations.labels("function_error").inc()
            return decider.Answered(Response(body, "Unhandled", error.status))
        result = "function_error" if reply.function_error else "success"
        self._metrics.invocations.labels(result).inc()
        if reply.function_error:
            log.info("%s: function error in async event of %s/%s", event.request_id, *event.key)
        return decider.Answered(Response(reply.body, reply.function_error))

    async def _apply(self, message: Msg, event: Event, decision: Requeue | Retry | Finish) -> None:
        if isinstance(decision, Requeue):
            self._metrics.retries.labels(decision.cause.value).inc()
            log.debug("%s: requeued (%s) for %.2fs",
                      event.request_id, decision.cause, decision.delay)  # fmt: skip
            await message.nak(delay=decision.delay)
            return
        if isinstance(decision, Retry):
            await self._queue.progress.put(event.dedupe_key, progress.encode(decision.progress))
            self._metrics.retries.labels("function_error").inc()
            log.info("%s: retry %d in %.2fs", event.request_id,
                     decision.progress.invocations, decision.delay)  # fmt: skip
            await message.nak(delay=decision.delay)
            return
        await self._finish(message, event, decision)

    async def _finish(self, message: Msg, event: Event, finish: Finish) -> None:
        final, destination = finish.final, finish.destination
        if finish.saved:
            self._metrics.redelivered_final.inc()
        elif finish.to_save:
            await self._queue.progress.put(event.dedupe_key, progress.encode(finish.progress))
        delivery = await destinations.deliver(
            self._queue, self._registry,
            destination=destination, final=final, event=event, now_ms=epoch_ms(),
        )  # fmt: skip
        if destination is not None and delivery is destinations.Delivery.MISSING:
            if isinstance(finish.on_missing, Requeue):
                self._metrics.retries.labels(finish.on_missing.cause.value).inc()
                self._metrics.destinations.labels(destinations.kind(destination), "missing").inc()
                log.warning("%s: destination Function %s/%s does not exist; the event waits",
                            event.request_id, event.namespace, destination.function)  # fmt: skip
                await message.nak(delay=finish.on_missing.delay)
                return
            self._metrics.destinations.labels(destinations.kind(destination), "given_up").inc()
            log.error("%s: gave up waiting for destination Function %s/%s",
                      event.request_id, event.namespace, destination.function)  # fmt: skip
        elif destination is not None and delivery is destinations.Delivery.REFUSED:
            self._metrics.destinations.labels(destinations.kind(destination), "refused").inc()
            log.error("%s: destination subject %r of %s/%s is not its namespace's own; not sent",
                      event.request_id, destination.nats_subject, *event.key)  # fmt: skip
        elif destination is not None:
            self._metrics.destinations.labels(destinations.kind(destination), "delivered").inc()
        if final.dead_letter is not None:
            await self._queue.js.publish(
                self._queue.names.dlq_subject(event.namespace, event.name),
                event.payload,
                headers=dead_letter_headers(event, final.dead_letter),
                stream=self._queue.names.dlq_stream,
            )
            self._metrics.dead_lettered.labels(final.condition.value).inc()
            log.info("%s: dead-lettered (%s: %s)", event.request_id,
                     final.condition, final.dead_letter.error_message)  # fmt: skip
        self._metrics.finished.labels(final.condition.value).inc()
        await message.ack()


def _policy(spec: FunctionSpec | None) -> Policy | None:
    if spec is None:
        return None
    return Policy(arn=spec.arn, async_config=spec.async_config, reserved=spec.reserved)
