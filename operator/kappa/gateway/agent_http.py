"""The gateway's HTTP/1.1 client for calls to agents: kept-alive connections, little per call.

aiohttp's client does much that a call to an agent never needs (cookies, redirects,
proxies, decompression, trace hooks, request and response objects of many fields):
under load it was a quarter of the gateway's CPU (BENCHMARKS.md, "The gateway's own
ceiling"). This client sends a request in one write on a connection kept per agent
address and reads the answer with a small parser: the status line, the headers, a body
framed by Content-Length, chunked, or the connection's end, held to the caller's limit.
Streamed answers (a response stream's relay) stay on aiohttp.

A connection goes back to its address's idle list once its answer was read whole and
neither side said ``Connection: close``; the most recently used is taken first. One
idle longer than ``keepalive_seconds`` is closed rather than used (agents close theirs
after a longer idle time, so a call never races an agent closing its end), and one the
agent closes leaves the list at once.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final, cast

from multidict import CIMultiDict, CIMultiDictProxy

# A head larger than this is no agent's: the connection is given up.
MAX_HEAD_BYTES: Final = 64 * 1024
_MAX_IDLE_PER_ADDRESS: Final = 256
# Above this a body is written after its head, not copied into one buffer with it.
_JOIN_BELOW: Final = 64 * 1024
_NO_BODY_STATUSES: Final = frozenset({204, 304})


class AgentHttpError(Exception):
    """A call to an agent failed below HTTP's answer."""


class ConnectFailedError(AgentHttpError):
    """No connection could be made: nothing was sent."""


class ConnectionLostError(AgentHttpError):
    """The connection ended, or the answer was no HTTP/1.1, after the request was sent."""


class ReplyTooLargeError(AgentHttpError):
    """The answer's body is larger than the caller's limit."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An agent's answer, read whole."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class _State(Enum):
    SIZE = "size"  # a chunk's size line
    DATA = "data"  # ``_remaining`` bytes of a chunk's data
    DATA_END = "data-end"  # the CRLF after a chunk's data
    TRAILERS = "trailers"  # trailer lines, up to an empty one


class _Parser:
    """One HTTP/1.1 response, fed as it arrives; interim (1xx) answers are skipped."""

    __slots__ = ("_body", "_buffer", "_chunked", "_headers", "_limit", "_remaining", "_state",
                 "_status", "keep_alive", "until_close")  # fmt: skip

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buffer = b""
        self._status = 0
        self._headers: CIMultiDict[str] | None = None
        self._body: list[bytes] = []
        self._remaining = 0  # of the Content-Length body, or of the current chunk
        self._chunked = False
        self._state = _State.SIZE
        self.until_close = False  # the body ends with the connection
        self.keep_alive = True

    def feed(self, data: bytes) -> Answer | None:
        """The answer once ``data`` completes it; raises ConnectionLostError for no HTTP."""
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        if self._headers is None:
            buffer = self._head(buffer)
            if self._headers is None:
                self._buffer = buffer
                return None
        if self.until_close:
            self._take(buffer)
            return None
        if self._chunked:
            return self._chunks(buffer)
        if len(buffer) < self._remaining:
            self._take(buffer)
            self._remaining -= len(buffer)
            return None
        if len(buffer) > self._remaining:  # bytes nobody asked for: no reuse
            self.keep_alive = False
        self._take(buffer[: self._remaining])
        return self.answer()

    def answer(self) -> Answer:
        """The answer read so far (all of it: at the end of a body or the connection)."""
        assert self._headers is not None  # noqa: S101 - called after the head
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        return Answer(self._status, CIMultiDictProxy(self._headers), body)

    def _take(self, data: bytes) -> None:
        if not data:
            return
        self._limit -= len(data)
        if self._limit < 0:
            raise ReplyTooLargeError
        self._body.append(data)

    def _head(self, buffer: bytes) -> bytes:
        """Parse the head when it is all there; what follows it."""
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ConnectionLostError("the answer's head is too large")
                return buffer
            if end > MAX_HEAD_BYTES:
                raise ConnectionLostError("the answer's head is too large")
            lines = buffer[:end].split(b"\r\n")
            buffer = buffer[end + 4 :]
            version, _, rest = lines[0].partition(b" ")
            code = rest[:3]
            if version not in {b"HTTP/1.1", b"HTTP/1.0"} or len(code) != 3 or not code.isdigit():  # noqa: PLR2004
                raise ConnectionLostError(f"not an HTTP/1.1 answer: {lines[0][:80]!r}")
            status = int(code)
            if 100 <= status < 200:  # noqa: PLR2004 - interim: the real answer follows
                if status == 101:  # noqa: PLR2004
                    raise ConnectionLostError("the agent switched protocols")
                continue
            self._framing(status, version, _headers(lines))
            return buffer

    def _framing(self, status: int, version: bytes, headers: CIMultiDict[str]) -> None:
        self._status = status
        self._headers = headers
        connection = headers.get("Connection", "").lower()
        self.keep_alive = "close" not in connection and (
            version == b"HTTP/1.1" or "keep-alive" in connection
        )
        if status in _NO_BODY_STATUSES:
            self._remaining = 0
        elif "Transfer-Encoding" in headers:
            codings = headers.getall("Transfer-Encoding")
            if codings[-1].rsplit(",", 1)[-1].strip().lower() == "chunked":
                self._chunked = True
            else:
                self.until_close = True
                self.keep_alive = False
        elif "Content-Length" in headers:
            lengths = set(headers.getall("Content-Length"))
            length = lengths.pop()
            if lengths or not (length.isascii() and length.isdigit()):
                raise ConnectionLostError(f"a bad Content-Length: {length[:20]!r}")
            self._remaining = int(length)
            if self._remaining > self._limit:
                raise ReplyTooLargeError
        else:
            self.until_close = True
            self.keep_alive = False

    def _chunks(self, buffer: bytes) -> Answer | None:  # noqa: PLR0912 - one state machine
        """A chunked body's pieces, fed as they come; the answer after its last chunk."""
        at = 0
        while True:
            state = self._state
            if state is _State.DATA:
                piece = buffer[at : at + self._remaining]
                self._take(piece)
                at += len(piece)
                self._remaining -= len(piece)
                if self._remaining:
                    self._buffer = buffer[at:]
                    return None
                self._state = _State.DATA_END
            elif state is _State.DATA_END:
                if len(buffer) - at < 2:  # noqa: PLR2004
                    self._buffer = buffer[at:]
                    return None
                if buffer[at : at + 2] != b"\r\n":
                    raise ConnectionLostError("a chunk does not end with CRLF")
                at += 2
                self._state = _State.SIZE
            else:  # a chunk's size line, or a trailer line
                end = buffer.find(b"\r\n", at)
                if end < 0:
                    if len(buffer) - at > MAX_HEAD_BYTES:
                        raise ConnectionLostError("a chunk's size or trailer line is too long")
                    self._buffer = buffer[at:]
                    return None
                line = buffer[at:end]
                at = end + 2
                if state is _State.TRAILERS:
                    if line:
                        continue  # a trailer: agents send none that matter here
                    if at < len(buffer):  # bytes nobody asked for: no reuse
                        self.keep_alive = False
                    return self.answer()
                size_text = line.split(b";", 1)[0].strip()
                if not (size_text.isascii() and size_text.isalnum()):
                    raise ConnectionLostError(f"a bad chunk size: {size_text[:20]!r}")
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise ConnectionLostError(f"a bad chunk size: {size_text[:20]!r}") from None
                self._remaining = size
                self._state = _State.DATA if size else _State.TRAILERS


def _headers(lines: list[bytes]) -> CIMultiDict[str]:
    """The header fields of a head's ``lines`` (the status line first, skipped)."""
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in {b" ", b"\t"} or name[:1] in {b" ", b"\t"}:
            raise ConnectionLostError(f"a malformed header line: {line[:80]!r}")
        headers.add(
            name.decode("ascii", "surrogateescape"),
            value.strip(b" \t").decode("utf-8", "surrogateescape"),
        )
    return headers


class _Connection(asyncio.Protocol):
    """One connection to an agent: at most one exchange at a time."""

    def __init__(self, client: "AgentClient", address: str) -> None:
        self._client = client
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser: _Parser | None = None
        self._waiter: asyncio.Future[Answer] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # TCP (uvloop's is no subclass)

    def exchange(self, data: bytes, body: bytes, limit: int) -> "asyncio.Future[Answer]":
        """Send a request (its head ``data``, then ``body``); the future of its answer."""
        assert self.transport is not None  # noqa: S101 - made before it is handed out
        self._parser = _Parser(limit)
        self._waiter = asyncio.get_running_loop().create_future()
        if len(body) < _JOIN_BELOW:
            self.transport.write(data + body)
        else:
            self.transport.write(data)
            self.transport.write(body)
        return self._waiter

    @property
    def reusable(self) -> bool:
        """Whether the last exchange left the connection fit for another."""
        return not self.closed and self._parser is None

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # nothing was asked: not a connection to trust further
            self.close()
            return
        try:
            answer = parser.feed(data)
        except AgentHttpError as exc:
            self._fail(exc)
            return
        if answer is not None:
            self._parser = None if parser.keep_alive else parser
            self._resolve(answer)

    def eof_received(self) -> bool:
        parser = self._parser
        if parser is not None and parser.until_close and self._waiter is not None:
            self._resolve(parser.answer())
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._client.forget(self)
        if self._waiter is not None:
            parser = self._parser
            if exc is None and parser is not None and parser.until_close:
                self._resolve(parser.answer())
            else:
                self._fail(ConnectionLostError(f"the agent closed the connection ({exc})"))

    def close(self) -> None:
        """Close the connection (an exchange in progress fails)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _resolve(self, answer: Answer) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _fail(self, exc: AgentHttpError) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()


class AgentClient:
    """POSTs to agents on kept-alive connections (one pool per agent address)."""

    def __init__(self, keepalive_seconds: float = 30.0) -> None:
        self._keepalive = keepalive_seconds
        self._idle: dict[str, list[_Connection]] = {}
        self.connections_made = 0  # how many connections were opened (the tests read it)

    async def post(  # noqa: PLR0913 - the parts of one request
        self,
        address: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float,
        limit: int,
    ) -> Answer:
        """POST ``body`` to ``http://{address}{path}``; the answer, its body at most ``limit``.

        Raises ConnectFailedError (nothing sent), ConnectionLostError, ReplyTooLargeError,
        and TimeoutError after ``timeout`` seconds (connecting included).
        """
        head = _request_head(address, path, len(body), headers)
        async with asyncio.timeout(timeout):
            connection = self._take(address) or await self._connect(address)
            try:
                answer = await connection.exchange(head, body, limit)
            except BaseException:
                connection.close()  # an exchange cut short leaves it in no known state
                raise
        self._give_back(connection)
        return answer

    def forget(self, connection: _Connection) -> None:
        """``connection`` closed: out of its idle list, if it is in one."""
        idle = self._idle.get(connection.address)
        if idle is not None and connection in idle:
            idle.remove(connection)
            if not idle:
                del self._idle[connection.address]

    def close(self) -> None:
        """Close every idle connection (calls in flight close theirs when they end)."""
        for idle in list(self._idle.values()):
            for connection in list(idle):
                connection.close()
        self._idle.clear()

    def _take(self, address: str) -> _Connection | None:
        idle = self._idle.get(address)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            if now - connection.idle_since > self._keepalive:
                connection.close()
                continue
            return connection
        return None

    async def _connect(self, address: str) -> _Connection:
        host, _, port = address.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                lambda: _Connection(self, address), host, int(port)
            )
        except (OSError, ValueError) as exc:
            raise ConnectFailedError(f"cannot connect to {address}: {exc}") from exc
        self.connections_made += 1
        return connection

    def _give_back(self, connection: _Connection) -> None:
        if not connection.reusable:
            connection.close()
            return
        idle = self._idle.setdefault(connection.address, [])
        now = asyncio.get_running_loop().time()
        # The oldest idle one (used only in bursts) goes once past the keep-alive time.
        if idle and now - idle[0].idle_since > self._keepalive:
            idle.pop(0).close()
        if len(idle) >= _MAX_IDLE_PER_ADDRESS:
            connection.close()
            return
        connection.idle_since = now
        idle.append(connection)


def _request_head(address: str, path: str, length: int, headers: Mapping[str, str]) -> bytes:
    """A POST's head; ValueError for a header that would split it (CR or LF in it)."""
    lines = [f"POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {length}\r\n"]
    for name, value in headers.items():
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    head = "".join(lines)
    if head.count("\n") != len(headers) + 4 or head.count("\r") != len(headers) + 4:
        raise ValueError("a header name or value holds CR or LF")
    return head.encode("utf-8")
