"""Spans posted to an OTLP/HTTP collector in the background, in bounded batches.

    add(span) ─► queue (at most ``max_queued``; beyond: dropped, counted)
                   │ every ``interval`` seconds, or at once when a batch is full
                   ▼
                 POST <endpoint>/v1/traces  (JSON, one batch, ``timeout`` seconds)
                   2xx: exported · anything else, a refused connection, a timeout: dropped

A call never waits for the collector: ``add`` only appends. A collector that is slow or
down costs each process at most ``max_queued`` spans of memory and one batch in
flight; its spans are dropped and counted (``dropped``), never retried, so a long
outage does not grow into a burst when it ends. The HTTP/1.1 client is the standard
library's asyncio streams (the agent imports no HTTP client): one connection per batch.
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from typing import Final

from kappa.tracing.endpoint import Endpoint
from kappa.tracing.otlp import encode
from kappa.tracing.span import AttributeValue, Span

DEFAULT_MAX_QUEUED: Final = 2048
DEFAULT_BATCH: Final = 256
DEFAULT_INTERVAL_SECONDS: Final = 1.0
DEFAULT_TIMEOUT_SECONDS: Final = 5.0
_MAX_STATUS_LINE: Final = 1024


class CollectorError(Exception):
    """The collector answered something other than 2xx."""


class Exporter:
    """One process's span exporter; ``start`` it on the event loop, ``close`` it at the end."""

    def __init__(  # noqa: PLR0913 - bounds, each with a default
        self,
        endpoint: Endpoint,
        resource: Mapping[str, AttributeValue],
        *,
        max_queued: int = DEFAULT_MAX_QUEUED,
        batch: int = DEFAULT_BATCH,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._endpoint = endpoint
        self._resource = dict(resource)
        self._max_queued = max_queued
        self._batch = batch
        self._interval = interval
        self._timeout = timeout
        self._queue: deque[Span] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.exported = 0  # spans the collector took
        self.dropped = 0  # spans lost: the queue was full, or the collector failed

    @property
    def queued(self) -> int:
        """Spans waiting for the next batch."""
        return len(self._queue)

    def add(self, span: Span) -> None:
        """Queue a finished span; drop it (counted) when the queue is full."""
        if len(self._queue) >= self._max_queued:
            self.dropped += 1
            return
        self._queue.append(span)
        if len(self._queue) >= self._batch and self._wake is not None:
            self._wake.set()

    def start(self) -> None:
        """Begin flushing in the background (on the running loop)."""
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="kappa-span-exporter")

    async def close(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        """Stop the background flush and post what is queued, for up to ``timeout`` seconds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), timeout)
        self.dropped += len(self._queue)
        self._queue.clear()

    async def flush(self) -> None:
        """Post every queued span, a batch at a time."""
        while self._queue:
            spans = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
            sent = False
            try:
                await asyncio.wait_for(self._post(encode(self._resource, spans)), self._timeout)
                sent = True
            except (OSError, TimeoutError, CollectorError, ValueError):
                pass
            finally:  # counted however it ends, a cancellation (close) included
                if sent:
                    self.exported += len(spans)
                else:
                    self.dropped += len(spans)

    async def _run(self) -> None:
        assert self._wake is not None  # noqa: S101 - set by start()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            await self.flush()

    async def _post(self, body: bytes) -> None:
        endpoint = self._endpoint
        ssl = None
        if endpoint.tls:
            import ssl as ssl_module  # noqa: PLC0415 - only an https collector pays for it

            ssl = ssl_module.create_default_context()
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port, ssl=ssl)
        try:
            host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
            head = (
                f"POST {endpoint.path} HTTP/1.1\r\nHost: {host}:{endpoint.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + body)
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line[:_MAX_STATUS_LINE].split(b" ", 2)
            if len(parts) < 2 or not parts[1].isdigit() or not 200 <= int(parts[1]) < 300:  # noqa: PLR2004
                raise CollectorError(status_line[:200].decode("latin-1").strip())
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
