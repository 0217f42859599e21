"""Many ``/invoke`` calls to one agent at the same moment: connections first, then every request.

A thread per call staggers them by the threads' start (tenths of a second on a busy
2-core machine); here every connection is open before the first request is written,
so the calls reach the agent within a millisecond or so. Used by the concurrent
runtime's tests and by ``bench/multiconc.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float  # from the request written to the answer read

    def json(self) -> object:
        return json.loads(self.body)


async def _one(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    path: str,
    body: bytes,
    go: asyncio.Event,
) -> Answer:
    reader, writer = connection
    await go.wait()
    started = time.perf_counter()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: kappa\r\nContent-Type: application/json\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    data = await reader.readexactly(int(headers.get("content-length", "0")))
    seconds = time.perf_counter() - started
    writer.close()
    return Answer(status, headers, data, seconds)


async def invoke_at_once(port: int, events: list[object], path: str = "/invoke") -> list[Answer]:
    """Each event in its own call to ``path``, all sent together; answers in the events' order.

    ``path``: the agent's ``/invoke``, or the gateway's Invoke API.
    """
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in events]
    go = asyncio.Event()
    calls = [
        asyncio.ensure_future(_one(connection, path, json.dumps(event).encode(), go))
        for connection, event in zip(connections, events, strict=True)
    ]
    await asyncio.sleep(0)
    go.set()
    return list(await asyncio.gather(*calls))


def burst(port: int, events: list[object], path: str = "/invoke") -> list[Answer]:
    """``invoke_at_once`` from synchronous code."""
    return asyncio.run(invoke_at_once(port, events, path))
