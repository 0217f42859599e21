"""Asynchronous invocation as the gateway wires it in: enqueue, workers, stats, DLQ routes.

``start`` returns at once: the connection to NATS is made in the background
(retrying); ``Event`` invocations answer 500 ServiceException until it is up,
and ``problem`` says why (the gateway's /readyz answers 503 with it). Once up,
``upkeep.Upkeep`` keeps the streams, consumer and bucket in place.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import nats
from aiohttp import web
from nats.js.api import PubAck
from prometheus_client import CollectorRegistry

from kappa.asyncq import jetstream
from kappa.asyncq.bound import QueueBound, Queued, Verdict
from kappa.asyncq.chains import Chains, RefusedError
from kappa.asyncq.envelope import ENQUEUED_MS, Event, Names
from kappa.asyncq.health import setup_gone
from kappa.asyncq.http_api import DeadLetterApi
from kappa.asyncq.jetstream import Queue
from kappa.asyncq.metrics import DEPTH, DLQ_DEPTH, OLDEST_AGE, AsyncMetrics
from kappa.asyncq.publisher import EnqueueError, publish_event, queued_in, size_of
from kappa.asyncq.settings import AsyncSettings
from kappa.asyncq.upkeep import Upkeep
from kappa.asyncq.worker import Invoker, Worker
from kappa.base.clock import epoch_ms
from kappa.invocation.errors import (
    ThrottleReason,
    request_too_large,
    service_error,
    too_many_requests,
)
from kappa.invocation.function_labels import UNATTRIBUTED, FunctionLabels
from kappa.invocation.registry import FunctionSpec, Registry
from kappa.invocation.routing import FunctionKey

log = logging.getLogger("kappa.gateway.asyncq")

_Arg = TypeVar("_Arg")
_Result = TypeVar("_Result")

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
        self._chains = Chains(
            self._read, self._publish_after,
            functools.partial(size_of, self._names), self._bound,
        )  # fmt: skip

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
        try:
            if self._bound(spec.namespace).unbounded:
                ack = await self._publish(queue, event)
            else:
                ack = await self._publish_within(event)
        except EnqueueError as exc:
            self.metrics.enqueued.labels("failed").inc()
            log.warning("%s: enqueue failed: %s", request_id, exc)
            raise service_error(f"The event could not be queued: {exc}") from None
        self.metrics.enqueued.labels("duplicate" if ack.duplicate else "accepted").inc()

    async def _publish_within(self, event: Event) -> PubAck:
        """Publish ``event`` only if its namespace's stream stays within its bound (else 429/413).

        ``chains.Chains``: read the stream, decide, publish expecting the last sequence
        read, several of this process's events of the namespace in one round; JetStream
        refuses a publish if any replica stored an event in between: read again.
        """
        try:
            return await self._chains.enqueue(event)
        except RefusedError as exc:
            refusal = exc.refusal
        self.metrics.enqueued.labels(refusal.verdict.value).inc()
        log.info("%s: refused (%s): %s", event.request_id, refusal.field, refusal.message)
        if refusal.verdict is Verdict.TOO_LARGE:
            raise request_too_large(self._bound(event.namespace).bytes or 0, refusal.message)
        raise too_many_requests(
            ThrottleReason.CONCURRENT_INVOCATION_LIMIT_EXCEEDED, refusal.message
        )

    def _bound(self, namespace: str) -> QueueBound:
        """The namespace's ConcurrencyQuota bounds on what it keeps queued."""
        return QueueBound(
            events=self._registry.queued_event_limit(namespace),
            bytes=self._registry.queued_bytes_limit(namespace),
        )

    def _connected(self) -> Queue:
        if self._queue is None:
            raise EnqueueError("not connected to NATS yet")
        return self._queue

    async def _read(self, namespace: str) -> Queued:
        return await self._repairing(queued_in, self._connected(), namespace)

    async def _publish_after(self, event: Event, sequence: int, previous: Event | None) -> PubAck:
        return await self._repairing(
            lambda queue, event: publish_event(queue, event, after=sequence, previous=previous),
            self._connected(), event,
        )  # fmt: skip

    async def _publish(self, queue: Queue, event: Event) -> PubAck:
        """``publish_event``; once more after the setup is repaired, when it was found gone."""
        return await self._repairing(publish_event, queue, event)

    async def _repairing(
        self, operation: Callable[[Queue, _Arg], Awaitable[_Result]], queue: Queue, arg: _Arg
    ) -> _Result:
        """``operation(queue, arg)``; once more after the setup is repaired, if found gone."""
        try:
            return await operation(queue, arg)
        except EnqueueError as exc:
            if exc.error is None or not setup_gone(exc.error):
                raise
            self._upkeep.failed(exc.error)
            if not await self._upkeep.usable(self._settings.publish_timeout_seconds):
                raise
        return await operation(queue, arg)

    async def _stats(self, queue: Queue) -> None:
        """Depth and age of the queues, in all and per Function, for /metrics."""
        while True:
            try:
                depths, ages, total, oldest = await self._event_stats(queue)
                names = queue.names
                dlq = await queue.js.stream_info(names.dlq_stream, names.dlq_subjects)
            except (TimeoutError, ValueError, nats.errors.Error) as exc:
                log.debug("queue stats unavailable: %s", exc)
            else:
                self.metrics.queue_depth.set(total)
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

    async def _event_stats(
        self, queue: Queue
    ) -> tuple[dict[FunctionKey, int], dict[FunctionKey, float], int, float]:
        """Events per Function, the oldest's age of the deepest, events in all, the oldest's age.

        Over every namespace's stream and the shared one of earlier versions: one list,
        then a read of per-subject counts and of the oldest event of each stream holding any.
        """
        depths: dict[FunctionKey, int] = {}
        first: dict[FunctionKey, tuple[str, int]] = {}  # where a Function's oldest event is
        total, oldest = 0, 0.0
        for stream in await jetstream.event_streams(queue):
            name, state = stream.config.name or "", stream.state
            if not state.messages:
                continue
            subjects = (stream.config.subjects or [">"])[0]
            info = await queue.js.stream_info(name, subjects)
            total += state.messages
            oldest = max(oldest, await self._age(queue, name, state.first_seq, subjects))
            for key, count in queue.names.by_function(info.state.subjects).items():
                depths[key] = depths.get(key, 0) + count
                # The shared stream's events are older than any in a namespace's own.
                if key not in first or name == queue.names.legacy_stream:
                    first[key] = (name, state.first_seq)
        ages: dict[FunctionKey, float] = {}
        # The deepest queues' oldest events: one read each, so a bounded number.
        for key in sorted(depths, key=lambda key: -depths[key])[:_OLDEST_READS]:
            name, first_seq = first[key]
            subject = (queue.names.legacy_subject if name == queue.names.legacy_stream
                       else queue.names.event_subject)(*key)  # fmt: skip
            ages[key] = await self._age(queue, name, first_seq, subject)
        return depths, ages, total, oldest

    async def _age(self, queue: Queue, stream: str, first_seq: int, subject: str) -> float:
        """Seconds since the oldest queued event on ``subject`` was accepted."""
        first = await queue.js.get_msg(stream, seq=first_seq, subject=subject, next=True)
        enqueued_ms = int((first.headers or {}).get(ENQUEUED_MS, epoch_ms()))
        return max(epoch_ms() - enqueued_ms, 0) / 1000

    def _label(self, key: FunctionKey) -> tuple[str, str]:
        """A Function's labels; what is queued for one deleted since counts as nobody's."""
        return UNATTRIBUTED if self._registry.function(key) is None else self._labels(key)
