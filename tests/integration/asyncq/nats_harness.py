"""A real nats-server (Debian's) with JetStream on a free loopback port, and helpers to read it."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class NatsServer:
    """nats-server with JetStream in ``directory``; ``restart`` keeps its store and port."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.directory / "nats.conf"
        # 8 MB messages: a 1 MB event with its headers, and records of 6 MB responses.
        config.write_text(
            f"listen: 127.0.0.1:{self.port}\nmax_payload: 8MB\n"
            f'jetstream {{ store_dir: "{self.directory / "store"}" }}\n'
        )
        with (self.directory / "nats.log").open("ab") as log:
            self.process = subprocess.Popen(
                [NATS_SERVER, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError(f"nats-server did not start: {self.log()}") from None
                time.sleep(0.05)
            else:
                return

    def stop(self) -> None:
        """SIGTERM (JetStream flushes its store), SIGKILL only if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.directory / "nats.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def run(self, coroutine: Callable[[Any], Any]) -> Any:
        """Run ``coroutine(js)`` with a fresh connection; its result."""

        async def main() -> Any:
            nc = await nats.connect(self.url)
            try:
                return await coroutine(nc)
            finally:
                await nc.close()

        return asyncio.run(main())


class Subscriber:
    """Plain NATS messages on a subject, collected in a background thread's loop."""

    def __init__(self, server: NatsServer, subject: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(server, subject),))
        self._thread.daemon = True
        self._thread.start()
        assert self._ready.wait(10), "subscriber did not start"

    async def _main(self, server: NatsServer, subject: str) -> None:
        nc = await nats.connect(server.url)
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
