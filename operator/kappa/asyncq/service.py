"""Asynchronous invocation as the gateway wires it in: enqueue, workers, stats, DLQ routes.

``start`` returns at once: the connection to NATS is made in the background
(retrying); ``Event`` invocations answer 500 ServiceException until it is up,
and ``problem`` says why (the gateway's /readyz answers 503 with it). Once up,
``upkeep.Upkeep`` keeps the streams, consumer and bucket in place.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import nats
from aiohttp import web
from nats.js.api import PubAck
from prometheus_client import CollectorRegistry

from kappa.asyncq import jetstream
from kappa.asyncq.envelope import ENQUEUED_MS, Event, Names
from kappa.asyncq.health import setup_gone
from kappa.asyncq.http_api import DeadLetterApi
from kappa.asyncq.jetstream import Queue
from kappa.asyncq.metrics import DEPTH, DLQ_DEPTH, OLDEST_AGE, AsyncMetrics
from kappa.asyncq.publisher import EnqueueError, publish_event, queued_events
from kappa.asyncq.settings import AsyncSettings
from kappa.asyncq.upkeep import Upkeep
from kappa.asyncq.worker import Invoker, Worker
from kappa.base.clock import epoch_ms
from kappa.invocation.errors import ThrottleReason, service_error, too_many_requests
from kappa.invocation.function_labels import UNATTRIBUTED, FunctionLabels
from kappa.invocation.registry import FunctionSpec, Registry
from kappa.invocation.routing import FunctionKey

log = logging.getLogger("kappa.gateway.asyncq")

_STATS_SECONDS: Final = 5.0
# Functions whose oldest event's age is read per look at the queue (the deepest first).
_OLDEST_READS: Final = 100


class AsyncService:
    """One gateway's asynchronous invocation."""

    def __init__(  # noqa: PLR0913 - the gateway's collaborators, injected
        self,
        settings: AsyncSettings,
        registry: Registry,
        metrics_registry: CollectorRegistry,
        labels: FunctionLabels,
        *,
        region: str,
        ready: Callable[[], bool],
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._region = region
        self._ready = ready
        self._names = Names(settings.prefix)
        self._labels = labels
        self.metrics = AsyncMetrics(metrics_registry, self._label)
        self._upkeep = Upkeep(settings, self._names, self.metrics)
        self._queue: Queue | None = None
        self._worker: Worker | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._api = DeadLetterApi(lambda: self._queue, registry)

    def add_routes(self, app: web.Application) -> None:
        """The dead-letter queue endpoint."""
        self._api.add_routes(app)

    def start(self, invoker: Invoker) -> None:
        """Connect in the background, then run the workers and the stats loop."""
        self._tasks.append(asyncio.ensure_future(self._run(invoker)))

    async def _run(self, invoker: Invoker) -> None:
        upkeep = self._upkeep
        self._queue = await jetstream.connect(
            self._settings, self._names,
            on_disconnect=upkeep.disconnected, on_reconnect=upkeep.reconnected,
        )  # fmt: skip
        self._tasks.append(asyncio.ensure_future(upkeep.run(self._queue)))
        self._tasks.append(asyncio.ensure_future(self._stats(self._queue)))
        if self._settings.workers > 0:
            self._worker = Worker(
                self._queue, self._registry, invoker, self._settings, self.metrics,
                upkeep=upkeep, region=self._region, ready=self._ready,
            )  # fmt: skip
            await self._worker.run()

    async def stop(self, timeout: float) -> None:
        """Stop the workers (events in hand finish, up to ``timeout``), close the connection."""
        if self._worker is not None:
            await self._worker.stop(timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._queue is not None:
            # NATS may be gone already (restarting, or its node drained): the process still
            # stops cleanly, and what was not acked comes back to another worker.
            with contextlib.suppress(TimeoutError, nats.errors.Error, OSError):
                await self._queue.close()

    def problem(self) -> str | None:
        """Why Event invocations cannot be queued now; None when they can."""
        return self._upkeep.health.cause

    async def enqueue(
        self, spec: FunctionSpec, payload: bytes, request_id: str, trace_id: str | None
    ) -> None:
        """Store the event durably; raise GatewayError (500) when JetStream did not confirm it."""
        queue = self._queue
        if queue is None:
            self.metrics.enqueued.labels("failed").inc()
            raise service_error("The gateway is not connected to its event queue (NATS) yet.")
        event = Event(
            namespace=spec.namespace,
            name=spec.key[1],  # a published version's is its own: hello.2
            request_id=request_id,
            payload=payload,
            enqueued_ms=epoch_ms(),
            max_event_age_seconds=spec.async_config.maximum_event_age_seconds,
            trace_id=trace_id,
        )
        await self._within_namespace_bound(queue, spec.namespace, request_id)
        try:
            ack = await self._publish(queue, event)
        except EnqueueError as exc:
            self.metrics.enqueued.labels("failed").inc()
            log.warning("%s: enqueue failed: %s", request_id, exc)
            raise service_error(f"The event could not be queued: {exc}") from None
        self.metrics.enqueued.labels("duplicate" if ack.duplicate else "accepted").inc()

    async def _within_namespace_bound(self, queue: Queue, namespace: str, request_id: str) -> None:
        """Raise 429 when ``namespace`` holds its ConcurrencyQuota's maxQueuedEvents already.

        The count is JetStream's (every replica's events, one request); only namespaces
        with a bound pay for it.
        """
        limit = self._registry.queued_event_limit(namespace)
        if limit is None:
            return
        try:
            queued = await queued_events(queue, namespace)
        except EnqueueError as exc:
            self.metrics.enqueued.labels("failed").inc()
            raise service_error(f"The event could not be queued: {exc}") from None
        if queued >= limit:
            self.metrics.enqueued.labels("throttled").inc()
            log.info("%s: %s holds %d queued events (maxQueuedEvents %d)",
                     request_id, namespace, queued, limit)  # fmt: skip
            raise too_many_requests(
                ThrottleReason.CONCURRENT_INVOCATION_LIMIT_EXCEEDED,
                f"Namespace {namespace} has {queued} asynchronous invocations queued, its "
                f"ConcurrencyQuota's maxQueuedEvents ({limit}): try again later.",
            )

    async def _publish(self, queue: Queue, event: Event) -> PubAck:
        """``publish_event``; once more after the setup is repaired, when it was found gone."""
        try:
            return await publish_event(queue, event)
        except EnqueueError as exc:
            if exc.error is None or not setup_gone(exc.error):
                raise
            self._upkeep.failed(exc.error)
            if not await self._upkeep.usable(self._settings.publish_timeout_seconds):
                raise
        return await publish_event(queue, event)

    async def _stats(self, queue: Queue) -> None:
        """Depth and age of the queues, in all and per Function, for /metrics."""
        names = queue.names
        while True:
            try:
                info = await queue.js.stream_info(names.invoke_stream, names.invoke_subjects)
                dlq = await queue.js.stream_info(names.dlq_stream, names.dlq_subjects)
                depths = names.by_function(info.state.subjects)
                ages: dict[FunctionKey, float] = {}
                # The deepest queues' oldest events: one read each, so a bounded number.
                deepest = sorted(depths, key=lambda key: -depths[key])[:_OLDEST_READS]
                for key in deepest:
                    ages[key] = await self._age(
                        queue, info.state.first_seq, names.invoke_subject(*key)
                    )
                oldest = 0.0
                if info.state.messages:
                    oldest = await self._age(queue, info.state.first_seq, names.invoke_subjects)
            except (TimeoutError, ValueError, nats.errors.Error) as exc:
                log.debug("queue stats unavailable: %s", exc)
            else:
                self.metrics.queue_depth.set(info.state.messages)
                self.metrics.dlq_depth.set(dlq.state.messages)
                self.metrics.oldest_age.set(oldest)
                self.metrics.set_queues(
                    {
                        DEPTH: {key: float(count) for key, count in depths.items()},
                        DLQ_DEPTH: {
                            key: float(count)
                            for key, count in names.by_function(dlq.state.subjects).items()
                        },
                        OLDEST_AGE: ages,
                    }
                )
            await asyncio.sleep(_STATS_SECONDS)

    async def _age(self, queue: Queue, first_seq: int, subject: str) -> float:
        """Seconds since the oldest queued event on ``subject`` was accepted."""
        first = await queue.js.get_msg(
            queue.names.invoke_stream, seq=first_seq, subject=subject, next=True
        )
        enqueued_ms = int((first.headers or {}).get(ENQUEUED_MS, epoch_ms()))
        return max(epoch_ms() - enqueued_ms, 0) / 1000

    def _label(self, key: FunctionKey) -> tuple[str, str]:
        """A Function's labels; what is queued for one deleted since counts as nobody's."""
        return UNATTRIBUTED if self._registry.function(key) is None else self._labels(key)
