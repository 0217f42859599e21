"""Keeping the streams, consumer and bucket in place while the gateway runs (shell).

A nats-server that restarts on an empty store (its pod rescheduled without its
volume, a store wiped by hand) comes back without what ``jetstream.ensure``
created at first connect: every enqueue would fail and every fetch time out.
``Upkeep`` sets everything up again:

- after every reconnect (the server may be another, or have lost its store);
- at once when an operation fails with an error that means something is gone
  (``health.setup_gone``), reported by the publisher and the workers;
- when a probe, every ``CHECK_SECONDS``, finds a stream or the bucket missing.

The namespaces' event streams this process made are made again with the rest
(an enqueue makes any other on its first event). The namespaces' consumers are
the workers' to keep: a fetch from a consumer
that is gone only times out, so a namespace's loop sets its consumer up again
after every empty fetch (``worker``).

It keeps ``Health``: the gateway's /readyz answers 503 with its cause while the
queue is unusable, ``kappa_async_queue_usable`` is 0, and each change is logged
once (WARNING with the cause, INFO when usable again).
"""

import asyncio
import logging
from typing import Final

import nats

from kappa.asyncq.envelope import Names
from kappa.asyncq.health import Health, describe, setup_gone
from kappa.asyncq.jetstream import Queue, ensure, ensure_stream
from kappa.asyncq.metrics import AsyncMetrics
from kappa.asyncq.settings import AsyncSettings

log = logging.getLogger("kappa.gateway.asyncq")

CHECK_SECONDS: Final = 2.0
_RETRY_SECONDS: Final = 0.5


class Upkeep:
    """The queue's health and the task that repairs its setup."""

    def __init__(self, settings: AsyncSettings, names: Names, metrics: AsyncMetrics) -> None:
        self.health = Health()
        self._settings = settings
        self._names = names
        self._metrics = metrics
        self._wanted = asyncio.Event()
        self._usable = asyncio.Event()
        metrics.queue_usable.set(0)

    # ------------------------------------------------------ reports (any task)

    def disconnected(self) -> None:
        """The connection to NATS is lost (the client reconnects by itself)."""
        self._down("NATS connection lost")

    def reconnected(self) -> None:
        """The connection is back: set up again, the server may have lost its store."""
        self._wanted.set()

    def failed(self, error: BaseException) -> None:
        """An operation failed with ``error``: set up again if it means something is gone."""
        if setup_gone(error):
            self._down(f"JetStream setup missing ({describe(error)})")
            self._wanted.set()

    async def usable(self, timeout: float | None = None) -> bool:
        """Wait until the queue is usable (at most ``timeout`` seconds); whether it is."""
        if self.health.usable:
            return True
        try:
            await asyncio.wait_for(self._usable.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # ---------------------------------------------------------------- the task

    async def run(self, queue: Queue) -> None:
        """Keep ``queue``'s setup in place until cancelled (``queue`` was set up already)."""
        self._up(queue)
        while True:
            try:
                await asyncio.wait_for(self._wanted.wait(), CHECK_SECONDS)
            except TimeoutError:
                await self._probe(queue)
            if self._wanted.is_set():
                self._wanted.clear()
                await self._repair(queue)

    async def _probe(self, queue: Queue) -> None:
        """Check that the dead-letter stream and the bucket are there."""
        if not queue.nc.is_connected:
            self._down("NATS connection lost")
            return
        names = queue.names
        try:
            await queue.js.stream_info(names.dlq_stream)
            await queue.js.stream_info(f"KV_{names.progress_bucket}")
        except (TimeoutError, nats.errors.Error) as error:
            if setup_gone(error):
                self.failed(error)
            else:
                self._down(f"NATS does not answer ({describe(error)})")
            return
        self._up(queue)

    async def _repair(self, queue: Queue) -> None:
        """Run ``ensure`` until it succeeds (or a newer report asks for it again)."""
        while True:
            try:
                queue.progress = await ensure(queue.js, self._settings, self._names)
                made, queue.streams = set(queue.streams), set()
                for namespace in sorted(made):
                    await ensure_stream(queue.js, self._settings, self._names, namespace)
                    queue.streams.add(namespace)
            except (TimeoutError, nats.errors.Error) as error:
                self._down(f"cannot set up JetStream ({describe(error)})")
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            self._metrics.setups.inc()
            self._up(queue)
            return

    def _down(self, cause: str) -> None:
        if self.health.cause != cause:
            log.warning("event queue unusable: %s; Event invocations fail until it is back", cause)
        self.health.down(cause)
        self._usable.clear()
        self._metrics.queue_usable.set(0)

    def _up(self, queue: Queue) -> None:
        if self.health.up():
            url = queue.nc.connected_url
            log.info("event queue usable (NATS at %s)", url.netloc if url else "?")
        self._usable.set()
        self._metrics.queue_usable.set(1)
