"""The nats-server of integration tests: a fresh one per test, and helpers to read it.

The server is ``brokers.NatsServer`` (the one the broker tests share per
session too); ``nats_server`` is the fixture (import it into a conftest),
``running_nats`` the same for a fixture of another name. ``chart_authorization``
is the users block the chart gives its NATS, rendered by helm, so a test runs the
server with exactly the permissions an installation has; ``chart_nats_files`` all the
files of that configuration (the cluster block of a JetStream cluster among them).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from tests.integration.brokers import NatsServer, start_nats
from tests.integration.chart_render import rendered


def running_nats(directory: Path) -> Iterator[NatsServer]:
    """A nats-server storing in ``directory`` while the generator runs."""
    server = start_nats(directory)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of the test's own, with JetStream."""
    yield from running_nats(tmp_path / "nats")


def chart_nats_files(*settings: str) -> dict[str, str]:
    """The files of the ConfigMap the chart renders for its NATS (``helm --set`` each
    setting): nats.conf, authorization.conf and, with nats.replicas above 1, cluster.conf."""
    for document in rendered(*settings, show_only="templates/nats/nats.yaml"):
        if document["kind"] == "ConfigMap":
            return dict(document["data"])
    raise AssertionError("the chart rendered no NATS ConfigMap")


def chart_authorization(*settings: str) -> str:
    """The ``authorization.conf`` the chart renders for its NATS (``helm --set`` each setting)."""
    return chart_nats_files(*settings)["authorization.conf"]


def with_connection(server: NatsServer, coroutine: Callable[[Any], Any], **options: Any) -> Any:
    """Run ``coroutine(nc)`` with a fresh connection to ``server`` (``options``: credentials)."""

    async def main() -> Any:
        nc = await nats.connect(server.url, **options)
        try:
            return await coroutine(nc)
        finally:
            await nc.close()

    return asyncio.run(main())


class Subscriber:
    """Plain NATS messages on a subject, collected in a background thread's loop."""

    def __init__(self, server: NatsServer, subject: str, **options: Any) -> None:
        self.messages: list[dict[str, Any]] = []
        self._options = options
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(server, subject),))
        self._thread.daemon = True
        self._thread.start()
        assert self._ready.wait(10), "subscriber did not start"

    async def _main(self, server: NatsServer, subject: str) -> None:
        nc = await nats.connect(server.url, **self._options)
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        async def received(msg: Any) -> None:
            self.messages.append({"data": json.loads(msg.data), "headers": msg.headers or {}})

        await nc.subscribe(subject, cb=received)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.close()

    def wait(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} messages, not {count}"
            time.sleep(0.05)
        return self.messages

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
