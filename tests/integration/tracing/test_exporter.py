"""The span exporter against real loopback collectors: one that takes spans, one that
fails, one that never answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from kappa.tracing.endpoint import parse_endpoint
from kappa.tracing.exporter import Exporter
from kappa.tracing.span import Span, SpanKind

TRACE = "5f3c2a1b0123456789abcdef01234567"
Reply = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter, list[dict[str, Any]]], Awaitable[None]
]


def span(n: int) -> Span:
    return Span(
        f"s{n}", TRACE, f"{n + 1:016x}", None, SpanKind.SERVER, n, sampled=True, end_ns=n + 1
    )


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    request_line = (await reader.readline()).decode()
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return request_line, headers, body


async def accept(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, got: list[dict[str, Any]]
) -> None:
    request_line, headers, body = await _read_request(reader)
    assert request_line.startswith("POST /base/v1/traces HTTP/1.1")
    assert headers["content-type"] == "application/json"
    got.append(json.loads(body))
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    await writer.drain()
    writer.close()


async def refuse(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, got: list[dict[str, Any]]
) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


async def hang(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, got: list[dict[str, Any]]
) -> None:
    await _read_request(reader)
    try:
        await asyncio.sleep(3600)
    finally:
        writer.close()


@asynccontextmanager
async def collector(reply: Reply) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []
    server = await asyncio.start_server(lambda r, w: reply(r, w, got), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/base", got
    finally:
        server.close()


def exporter(url: str, **bounds: Any) -> Exporter:
    return Exporter(parse_endpoint(url), {"service.name": "test"}, **bounds)


def names(got: list[dict[str, Any]]) -> list[str]:
    return [
        s["name"]
        for request in got
        for resource in request["resourceSpans"]
        for scope in resource["scopeSpans"]
        for s in scope["spans"]
    ]


def test_spans_are_posted_in_batches() -> None:
    async def scenario() -> None:
        async with collector(accept) as (url, got):
            sender = exporter(url, batch=2)
            for n in range(5):
                sender.add(span(n))
            await sender.flush()
            assert [len(names([request])) for request in got] == [2, 2, 1]
            assert names(got) == ["s0", "s1", "s2", "s3", "s4"]
            assert (sender.exported, sender.dropped, sender.queued) == (5, 0, 0)

    asyncio.run(scenario())


def test_a_full_batch_is_sent_in_the_background_without_waiting_for_the_interval() -> None:
    async def scenario() -> None:
        async with collector(accept) as (url, got):
            sender = exporter(url, batch=3, interval=3600)
            sender.start()
            for n in range(3):
                sender.add(span(n))
            async with asyncio.timeout(30):  # a deadline against a hang only
                while sender.exported < 3:
                    await asyncio.sleep(0.01)
            await sender.close()
            assert names(got) == ["s0", "s1", "s2"]

    asyncio.run(scenario())


def test_spans_beyond_the_queue_bound_are_dropped_and_counted() -> None:
    async def scenario() -> None:
        async with collector(accept) as (url, got):
            sender = exporter(url, max_queued=2)
            for n in range(3):
                sender.add(span(n))
            assert (sender.queued, sender.dropped) == (2, 1)
            await sender.close()
            assert names(got) == ["s0", "s1"]
            assert sender.exported == 2

    asyncio.run(scenario())


def test_a_failing_collector_costs_the_batch_and_is_not_retried() -> None:
    async def scenario() -> None:
        async with collector(refuse) as (url, _):
            sender = exporter(url)
            sender.add(span(0))
            sender.add(span(1))
            await sender.flush()
            assert (sender.exported, sender.dropped, sender.queued) == (0, 2, 0)

    asyncio.run(scenario())


def test_a_collector_that_never_answers_times_out() -> None:
    async def scenario() -> None:
        async with collector(hang) as (url, _):
            sender = exporter(url, timeout=0.2)
            sender.add(span(0))
            async with asyncio.timeout(30):
                await sender.flush()
            assert (sender.exported, sender.dropped) == (0, 1)

    asyncio.run(scenario())


def test_nobody_listening_drops_the_spans() -> None:
    async def scenario() -> None:
        async with collector(accept) as (url, _):
            pass  # closed: nothing listens on its port any more
        sender = exporter(url)
        sender.add(span(0))
        await sender.close(timeout=5)
        assert (sender.exported, sender.dropped) == (0, 1)

    asyncio.run(scenario())


def test_close_gives_up_on_what_it_cannot_send_in_time() -> None:
    async def scenario() -> None:
        async with collector(hang) as (url, _):
            sender = exporter(url, timeout=60, batch=1)
            sender.start()
            for n in range(3):
                sender.add(span(n))
            async with asyncio.timeout(30):
                await sender.close(timeout=0.2)
            assert sender.exported == 0
            assert sender.dropped + sender.queued == 3
            assert sender.queued == 0

    asyncio.run(scenario())
