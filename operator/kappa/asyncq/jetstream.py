"""The NATS connection and the JetStream streams, consumer and bucket Kappa uses (shell).

``ensure`` creates (or brings up to date) what ``envelope.Names`` names, so any
gateway replica can start first; every replica applies the same configuration:

- an event stream per namespace (``ensure_stream``, made on the namespace's first
  publish by this process and again after every repair): work-queue retention (an
  event is gone once acked), file storage, a duplicate window in which a second
  publish of a request id is dropped, and no JetStream limits (JetStream's own
  ``max_bytes`` drops events it acknowledged: docs/internals/async.md, "Bounds on what
  a namespace queues"; the gateway bounds what a namespace queues itself, ``bound``);
- a durable pull consumer per namespace with events (``ensure_consumer``, made by
  the workers on first sight of the namespace; ``fairness`` says why), shared by
  every worker of every replica, explicit acks, unlimited deliveries (the event's
  age bounds them), ``ack_wait``; unused for an hour, NATS deletes it. The shared
  event stream of earlier versions is no longer made, only read while it exists
  (its namespaces' consumers are made likewise); its single consumer of still
  earlier versions (``workers``) is deleted: a work-queue stream takes no
  overlapping consumers;
- the dead-letter stream: limits retention, kept ``dlq_max_age``;
- the progress bucket: one key per request id, kept past any event's life.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from kappa.asyncq.envelope import Names
from kappa.asyncq.settings import AsyncSettings
from kappa.invocation import jetstream as shared

log = logging.getLogger("kappa.gateway.asyncq")

LEGACY_CONSUMER: Final = "workers"
DUPLICATE_WINDOW_SECONDS: Final = 120.0
# The longest an event may live: the longest maximumEventAgeSeconds (6 h), the longest
# retry delay, and the wait for a missing destination, with an hour to spare.
_MAX_EVENT_AGE: Final = 21600.0
_CONNECT_RETRY_SECONDS: Final = 1.0


@dataclass
class Queue:
    """A connected client with its streams, consumer and bucket in place."""

    nc: Client
    js: JetStreamContext
    progress: KeyValue
    names: Names
    settings: AsyncSettings
    # Namespaces whose event stream this process made since the last setup (``upkeep``).
    streams: set[str] = field(default_factory=set)
    # The makings of namespaces' streams under way (``publisher``): the first events of a
    # new namespace come together, and on a JetStream cluster each create is a proposal.
    making: dict[str, asyncio.Future[None]] = field(default_factory=dict)

    async def close(self) -> None:
        """Flush what is pending (acks) and close the connection.

        Not ``drain``: draining a pull subscription whose fetch was cancelled waits out
        its whole timeout, and events not acked come back to another worker anyway.
        """
        if not self.nc.is_closed:
            try:
                await self.nc.flush(timeout=2)
            finally:
                await self.nc.close()


async def connect(
    settings: AsyncSettings,
    names: Names,
    *,
    on_disconnect: Callable[[], None] = lambda: None,
    on_reconnect: Callable[[], None] = lambda: None,
) -> Queue:
    """Connect (retrying until it works) and ``ensure`` the streams; reconnects by itself after.

    ``on_disconnect`` and ``on_reconnect`` are told of each loss and return of the
    connection (``upkeep.Upkeep`` sets everything up again after a reconnect).
    """

    async def disconnected() -> None:
        log.warning("NATS connection lost; reconnecting")
        on_disconnect()

    async def reconnected() -> None:
        log.info("NATS connection back")
        on_reconnect()

    async def error(exc: Exception) -> None:
        log.warning("NATS: %s", exc)

    while True:
        try:
            nc = await nats.connect(
                servers=settings.servers,
                name="kappa-gateway",
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                error_cb=error,
                **settings.credentials,
            )
            break
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            log.warning("cannot reach NATS at %s (%s); trying again", settings.nats_url, exc)
            await asyncio.sleep(_CONNECT_RETRY_SECONDS)
    js = nc.jetstream(timeout=settings.publish_timeout_seconds)
    while True:
        try:
            progress = await ensure(js, settings, names)
            break
        except (TimeoutError, nats.errors.Error) as exc:
            log.warning("cannot set up JetStream (%s); trying again", exc)
            await asyncio.sleep(_CONNECT_RETRY_SECONDS)
    log.info("connected to NATS at %s; JetStream streams ready", nc.connected_url)
    return Queue(nc, js, progress, names, settings)


async def ensure(js: JetStreamContext, settings: AsyncSettings, names: Names) -> KeyValue:
    """Create or update the dead-letter stream and the bucket; return the bucket.

    The namespaces' event streams are made by ``ensure_stream`` as events come.
    """
    replicas = settings.replicas
    await shared.ensure_stream(js, _stream_config(names.dlq_stream, names.dlq_subjects,
                                     settings.dlq_max_age_seconds, replicas=replicas))  # fmt: skip
    with contextlib.suppress(NotFoundError):  # the shared stream, or its consumer, is gone
        await js.delete_consumer(names.legacy_stream, LEGACY_CONSUMER)
    return await shared.ensure_bucket(
        js,
        names.progress_bucket,
        replicas,
        ttl=_longest(settings) + 2 * 3600,
        storage=api.StorageType.FILE,
        history=1,
    )


# Streams per STREAM.LIST answer (nats-server's JSApiListLimit).
_LIST_PAGE: Final = 256


async def event_streams(queue: Queue) -> list[api.StreamInfo]:
    """The event streams there are: every namespace's, and the shared one of earlier versions.

    One STREAM.LIST request per 256 streams of the server; each with its messages and bytes.
    """
    names = queue.names
    found: list[api.StreamInfo] = []
    offset = 0
    while True:
        page = await queue.js.streams_info(offset)
        found.extend(
            info
            for info in page
            if info.config.name == names.legacy_stream
            or names.namespace_of_stream(info.config.name or "") is not None
        )
        offset += len(page)
        if len(page) < _LIST_PAGE:
            return found


def _longest(settings: AsyncSettings) -> float:
    """The longest an event may live in the queue."""
    return _MAX_EVENT_AGE + max(settings.retry_delays) + settings.destination_wait_seconds


async def ensure_stream(
    js: JetStreamContext, settings: AsyncSettings, names: Names, namespace: str
) -> None:
    """Create (or bring up to date) ``namespace``'s event stream."""
    config = _stream_config(
        names.event_stream(namespace), names.event_subject(namespace, "*"),
        _longest(settings) + 3600, replicas=settings.replicas, work_queue=True,
    )  # fmt: skip
    await shared.ensure_stream(js, config)


async def ensure_consumer(
    js: JetStreamContext, settings: AsyncSettings, names: Names, namespace: str, stream: str
) -> str:
    """Create (or find) the consumer of ``namespace``'s events in ``stream``; its name.

    ``stream`` is the namespace's own, or the shared stream of earlier versions (its
    consumers keep the configuration those versions give them, so replicas of both
    share them during a rolling upgrade).
    """
    legacy = stream == names.legacy_stream
    subject = names.legacy_subject if legacy else names.event_subject
    name = names.consumer(namespace)
    config = shared.shared_consumer(
        name, subject(namespace, "*"), settings.ack_wait_seconds, settings.max_pending
    )
    await js.add_consumer(stream, config=config)
    return name


def _stream_config(
    name: str, subjects: str, max_age: float, *, replicas: int, work_queue: bool = False
) -> api.StreamConfig:
    return api.StreamConfig(
        name=name,
        subjects=[subjects],
        retention=api.RetentionPolicy.WORK_QUEUE if work_queue else api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=max_age,
        num_replicas=replicas,
    )
