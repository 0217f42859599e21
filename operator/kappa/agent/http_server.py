"""The agent's HTTP/1.1 server on asyncio streams: the I/O around :mod:`kappa.agent.http11`.

Guards against clients that hold connections open (:class:`Limits`): a request
head must arrive within the header timeout, counted from the connection's
start or from the first byte of the head after a keep-alive pause; a kept-alive
connection without a request for the idle timeout is closed; connections over
the cap are closed as soon as they are accepted. A bad request is answered
(400, or 431 for a head too large) and its connection closed; others go on.
"""

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from kappa.agent.http11 import (
    BadRequestError,
    BodyStream,
    Request,
    Response,
    ServerConnection,
    Wait,
)

_DRAIN_ABOVE: Final = 64 * 1024
_READ_CHUNK: Final = 256 * 1024

Handler = Callable[[Request], Awaitable[Response]]
ErrorReporter = Callable[[str], None]
StreamIf = Callable[[dict[str, str]], bool]


class _SocketBody(BodyStream):
    """The body of a streamed request, read from the socket as the handler asks."""

    def __init__(
        self,
        connection: ServerConnection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._connection = connection
        self._reader = reader
        self._writer = writer
        self.trailers = {}
        self.ended = False

    async def read(self) -> bytes | None:
        while not self.ended:
            step = self._connection.next_body()
            if isinstance(step, bytes):
                if step:
                    return step
                continue
            if isinstance(step, dict):
                self.trailers = step
                self.ended = True
                break
            self._writer.write(self._connection.continue_bytes())
            data = await self._reader.read(_READ_CHUNK)
            if not data:
                raise ConnectionResetError("the client closed in the middle of a request")
            self._connection.receive(data)
        return None

    async def drain(self) -> None:
        """Read what the handler left of the body, so the connection can answer."""
        while await self.read() is not None:
            pass


@dataclass(frozen=True, slots=True)
class Limits:
    """A listener's timeouts (seconds) and connection cap; None means none."""

    header_timeout: float | None = None
    idle_timeout: float | None = None
    max_connections: int | None = None


class Server:
    """Serves one handler on one address; ``close`` ends every connection, long polls included."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_body: int,
        on_error: ErrorReporter,
        limits: Limits = Limits(),
        stream_if: StreamIf | None = None,
    ) -> None:
        """``stream_if(headers)``: give such requests to the handler with their body unread."""
        self._handler = handler
        self._stream_if = stream_if
        self._max_body = max_body
        self._on_error = on_error
        self._limits = limits
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._cap_reported = False

    async def start(self, host: str, port: int, *, sock: socket.socket | None = None) -> int:
        """Listen on ``host:port`` and return the port (useful with port 0).

        ``sock``: a socket bound and listening already (the launcher's), served instead.
        """
        if sock is not None:
            self._server = await asyncio.start_server(self._connection, sock=sock)
        else:
            self._server = await asyncio.start_server(
                self._connection, host, port, reuse_address=True
            )
        port_bound: int = self._server.sockets[0].getsockname()[1]
        return port_bound

    def stop_listening(self) -> None:
        """Stop accepting connections; those open go on (``close`` ends them)."""
        if self._server is not None:
            self._server.close()

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

    def _over_cap(self) -> bool:
        cap = self._limits.max_connections
        if cap is None or len(self._connections) < cap:
            self._cap_reported = False
            return False
        if not self._cap_reported:  # once per episode: a flood must not flood the log too
            self._cap_reported = True
            self._on_error(f"{cap} connections open: closing new ones")
        return True

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._over_cap():
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, TimeoutError):
            pass  # the client went away, or kept the connection without a request
        except asyncio.CancelledError:
            # Shutdown, or a long poll whose runtime died. Ending the task as
            # cancelled would make asyncio's streams (3.11) log a traceback.
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = ServerConnection(max_body=self._max_body, stream_if=self._stream_if)
        first = True
        while True:
            try:
                request = await self._read_request(connection, reader, writer, first=first)
            except BadRequestError as exc:
                writer.write(connection.error_bytes(exc.status))
                await writer.drain()
                self._on_error(f"bad request: {exc}")
                return
            if request is None:
                return  # closed between requests
            first = False
            keep_alive = True
            body = None
            if connection.streaming:
                body = request.stream = _SocketBody(connection, reader, writer)
            try:
                response = await self._handler(request)
                if body is not None:
                    await body.drain()
            except (ConnectionError, BadRequestError) as exc:
                self._on_error(f"{request.method} {request.path}: the body broke off: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - one bad request must not end the listener
                self._on_error(f"{request.method} {request.path} failed: {exc!r}")
                response = Response(500, b'{"errorType":"Kappa.AgentError"}')
                keep_alive = False
            if response.stream is not None:
                await _write_stream(connection, writer, response, close=not keep_alive)
            else:
                writer.writelines(connection.response_bytes(response, close=not keep_alive))
                if len(response.body) > _DRAIN_ABOVE:
                    await writer.drain()
            if not connection.next_cycle():
                await writer.drain()
                return

    async def _read_request(
        self,
        connection: ServerConnection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        first: bool,
    ) -> Request | None:
        """The next request, or None when the client closed between requests.

        Raises TimeoutError when the head is late or the connection idle too long.
        """
        loop = asyncio.get_running_loop()
        limits = self._limits
        head_deadline: float | None = None  # from the first read of a new connection's head,
        # or from the first byte of a head after a keep-alive pause
        while True:
            step = connection.next_request()
            if isinstance(step, Request):
                return step
            if step is Wait.CLOSED:
                return None
            if connection.in_head and connection.idle and not first:
                async with asyncio.timeout(limits.idle_timeout):
                    data = await reader.read(_READ_CHUNK)
            elif connection.in_head:
                if head_deadline is None and limits.header_timeout is not None:
                    head_deadline = loop.time() + limits.header_timeout
                async with asyncio.timeout_at(head_deadline):
                    data = await reader.read(_READ_CHUNK)
            else:
                writer.write(connection.continue_bytes())
                data = await reader.read(_READ_CHUNK)
            if not data and not connection.idle:
                raise ConnectionResetError("the client closed in the middle of a request")
            connection.receive(data)


async def _write_stream(
    connection: ServerConnection,
    writer: asyncio.StreamWriter,
    response: Response,
    *,
    close: bool,
) -> None:
    """Send a streamed response, each piece as its generator yields it.

    The generator is closed however it ends (a client gone mid-stream included), so
    that it can let go of what it holds.
    """
    stream = response.stream
    assert stream is not None  # noqa: S101 - the caller checked
    try:
        writer.write(connection.stream_head_bytes(response, close=close))
        async for piece in stream:
            writer.write(connection.stream_data_bytes(piece))
            await writer.drain()
        writer.write(connection.stream_end_bytes())
    finally:
        await stream.aclose()
