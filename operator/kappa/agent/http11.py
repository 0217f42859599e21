"""A small HTTP/1.1 server on asyncio streams, for the agent's listeners.

Why not aiohttp: importing ``aiohttp.web`` takes 200-350 ms on these machines,
more than the rest of the agent's start-up together, and every cold start would
pay it. The agent's clients are few and known (the gateway; runtime clients on
loopback: awslambdaric's libcurl, aws-lambda-go's net/http, http.client), so it
needs only: keep-alive, bodies with ``Content-Length`` or chunked, ``Expect:
100-continue`` (libcurl), and a body limit that still answers the client.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

MAX_HEAD_BYTES: Final = 64 * 1024
# A body over the listener's limit is read and dropped, up to this size, so
# the client gets to read the 413 instead of a reset connection.
DISCARD_LIMIT: Final = 64 * 1024 * 1024
_DRAIN_ABOVE: Final = 64 * 1024
_READ_CHUNK: Final = 256 * 1024

_REASONS: Final = {
    100: "Continue",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class BadRequestError(Exception):
    """The client sent something that is not HTTP/1.1 as this server speaks it."""


@dataclass(slots=True)
class Request:
    """One request. Header names are lower-case; ``oversize`` means the body was dropped."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""
    oversize: bool = False


@dataclass(slots=True)
class Response:
    """One response; ``Content-Length`` and ``Connection`` are added by the server."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response]]
ErrorReporter = Callable[[str], None]


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """Method, target, version and headers of a request head (without the blank line).

    Repeated headers are joined with ``, `` as RFC 9110 allows, except
    ``Content-Length``, whose repetition with different values is refused.
    """
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not parts[1]:  # noqa: PLR2004
        raise BadRequestError(f"bad request line {lines[0][:100]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequestError(f"bad header line {line[:100]!r}")
        key = name.lower()
        value = value.strip(" \t")
        if key not in headers:
            headers[key] = value
        elif key == "content-length":
            if headers[key] != value:
                raise BadRequestError("conflicting Content-Length headers")
        else:
            headers[key] = f"{headers[key]}, {value}"
    return method, target, version, headers


def render_head(status: int, headers: list[tuple[str, str]], length: int, *, close: bool) -> bytes:
    """The status line and headers of a response, blank line included."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Length: {length}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Server:
    """Serves one handler on one address; ``close`` ends every connection, long polls included."""

    def __init__(self, handler: Handler, *, max_body: int, on_error: ErrorReporter) -> None:
        self._handler = handler
        self._max_body = max_body
        self._on_error = on_error
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` and return the port (useful with port 0)."""
        self._server = await asyncio.start_server(
            self._connection, host, port, limit=MAX_HEAD_BYTES, reuse_address=True
        )
        port_bound: int = self._server.sockets[0].getsockname()[1]
        return port_bound

    async def close(self) -> None:
        """Stop listening, cancel the connections' handlers and wait for them."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            # Shutdown, or a long poll whose runtime died. Ending the task as
            # cancelled would make asyncio's streams (3.11) log a traceback.
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # closed between requests
            except asyncio.LimitOverrunError:
                writer.write(render_head(431, [], 0, close=True))
                return
            try:
                method, target, version, headers = parse_head(head[:-4])
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body, oversize, must_close = await self._read_body(reader, headers)
            except BadRequestError as exc:
                writer.write(render_head(400, [], 0, close=True))
                self._on_error(f"bad request: {exc}")
                return
            connection = headers.get("connection", "").lower()
            keep_alive = not must_close and (
                connection == "keep-alive" if version == "HTTP/1.0" else connection != "close"
            )
            path, _, query = target.partition("?")
            try:
                response = await self._handler(
                    Request(method, path, query, headers, body, oversize=oversize)
                )
            except Exception as exc:  # noqa: BLE001 - one bad request must not end the listener
                self._on_error(f"{method} {path} failed: {exc!r}")
                response = Response(500, b'{"errorType":"Kappa.AgentError"}')
                keep_alive = False
            writer.write(
                render_head(
                    response.status, response.headers, len(response.body), close=not keep_alive
                )
            )
            if response.body:
                writer.write(response.body)
            if len(response.body) > _DRAIN_ABOVE:
                await writer.drain()
            if not keep_alive:
                await writer.drain()
                return

    async def _read_body(
        self, reader: asyncio.StreamReader, headers: dict[str, str]
    ) -> tuple[bytes, bool, bool]:
        """(body, oversize, must_close) for the framing ``headers`` announce."""
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.lower() != "chunked":
                raise BadRequestError(f"unsupported Transfer-Encoding {coding!r}")
            return await self._read_chunked(reader)
        raw_length = headers.get("content-length")
        if raw_length is None:
            return b"", False, False
        if not (raw_length.isascii() and raw_length.isdigit()):
            raise BadRequestError(f"bad Content-Length {raw_length!r}")
        length = int(raw_length)
        if length <= self._max_body:
            return await reader.readexactly(length), False, False
        if length > DISCARD_LIMIT:
            return b"", True, True
        while length:
            chunk = await reader.read(min(length, _READ_CHUNK))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", length)
            length -= len(chunk)
        return b"", True, False

    async def _read_chunked(self, reader: asyncio.StreamReader) -> tuple[bytes, bool, bool]:
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequestError("bad chunk size") from None
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers: the agent has no use for them
                break
            total += size
            if total > DISCARD_LIMIT:
                raise BadRequestError("chunked body too large")
            data = await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise BadRequestError("chunk not followed by CRLF")
            if total <= self._max_body:
                parts.append(data)
        if total > self._max_body:
            return b"", True, False
        return b"".join(parts), False, False
