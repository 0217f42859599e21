"""HTTP/1.1 for the agent's listeners, sans-I/O: bytes in, requests out, responses to bytes.

The parsing is h11's (pure Python, no I/O, about 12 ms to import), wrapped to
the few things the agent's clients need: keep-alive, bodies with
``Content-Length`` or chunked, ``Expect: 100-continue`` (libcurl), and a body
limit that still answers the client. The asyncio side (reads, timeouts, the
connection cap) is :mod:`kappa.agent.http_server`.

Why not aiohttp: importing ``aiohttp.web`` takes 200-350 ms on these machines,
more than the rest of the agent's start-up together, and every cold start would
pay it. The agent's clients are few and known (the gateway; runtime clients on
loopback: awslambdaric's libcurl, aws-lambda-go's net/http, http.client).

Beyond h11's own checks, a request is refused (400, then the connection closes)
when it names both ``Transfer-Encoding`` and ``Content-Length`` (the two
framings could disagree: request smuggling) or an HTTP version other than 1.0
and 1.1.
"""

from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

import h11

MAX_HEAD_BYTES: Final = 64 * 1024
# A body over the listener's limit is read and dropped, up to this size, so
# the client gets to read the 413 instead of a reset connection.
DISCARD_LIMIT: Final = 64 * 1024 * 1024
_VERSIONS: Final = frozenset({b"1.0", b"1.1"})
_HEAD_TOO_LARGE: Final = 431

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
    """The client sent something that is not HTTP/1.1 as this server speaks it.

    ``status`` is the answer: 431 for a head over :data:`MAX_HEAD_BYTES`, else 400.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class BodyStream:
    """A request body read as it arrives (see ``ServerConnection(stream_if=...)``)."""

    trailers: dict[str, str]

    async def read(self) -> bytes | None:
        """The next piece of the body; None once it has ended (``trailers`` then set)."""
        raise NotImplementedError


@dataclass(slots=True)
class Request:
    """One request. Header names are lower-case; ``oversize`` means the body was dropped.

    ``trailers``: the chunked body's trailer fields (names lower-case). ``stream``: the
    body as it arrives, for a request the server streams (``body`` is then empty).
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""
    oversize: bool = False
    trailers: dict[str, str] = field(default_factory=dict)
    stream: BodyStream | None = None


@dataclass(slots=True)
class Response:
    """One response; ``Content-Length`` and ``Connection`` are added by the server.

    With ``stream``, the body is what it yields, sent as it comes (chunked); ``body``
    is then ignored.
    """

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: AsyncGenerator[bytes, None] | None = None


class Wait(Enum):
    """What :meth:`ServerConnection.next_request` needs before it has a request."""

    DATA = "data"  # more bytes from the client
    CLOSED = "closed"  # nothing: the client closed between requests


class ServerConnection:
    """The HTTP state of one client connection, server side.

    ``stream_if(headers)`` True: the request is given at its head, its body left to
    :meth:`next_body` (the Runtime API's streamed responses).
    """

    def __init__(
        self, *, max_body: int, stream_if: Callable[[dict[str, str]], bool] | None = None
    ) -> None:
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._max_body = max_body
        self._stream_if = stream_if
        self._request: Request | None = None
        self._parts: list[bytes] = []
        self._size = 0
        self._must_close = False
        self._trailers: dict[str, str] = {}
        # The current request's body is read with next_body (it was given at its head).
        self.streaming = False

    def receive(self, data: bytes) -> None:
        """Bytes read from the client; ``b""`` when it closed its side."""
        self._h11.receive_data(data)

    @property
    def in_head(self) -> bool:
        """True until the head of the next request is complete (the header timeout's span)."""
        return self._request is None

    @property
    def idle(self) -> bool:
        """True between requests, with no byte of the next one received yet."""
        return self._request is None and not self._h11.trailing_data[0]

    def continue_bytes(self) -> bytes:
        """``100 Continue`` when the client waits for it before sending its body, else ``b""``."""
        if not self._h11.client_is_waiting_for_100_continue:
            return b""
        return self._h11.send(
            h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
        )

    def next_request(self) -> Request | Wait:
        """The next complete request, or what is needed first.

        Raises :class:`BadRequestError`; the connection is then only good for
        :meth:`error_bytes`.
        """
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                status = _HEAD_TOO_LARGE if exc.error_status_hint == _HEAD_TOO_LARGE else 400
                raise BadRequestError(str(exc), status) from None
            if event is h11.NEED_DATA:
                return Wait.DATA
            if isinstance(event, h11.Request):
                if self._start(event):
                    return self._finish()
                request = self._request
                if self._stream_if is not None and request and self._stream_if(request.headers):
                    self.streaming = True
                    return request
            elif isinstance(event, h11.Data):
                self._add(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._trailers = _trailers(event.headers)
                return self._finish()
            else:  # ConnectionClosed, or PAUSED, which needs a response first
                return Wait.CLOSED

    def next_body(self) -> bytes | dict[str, str] | Wait:
        """For a streamed request: the next piece of its body, its trailers at the end.

        Raises :class:`BadRequestError` for bytes that are not HTTP, or a body that
        ends with the connection.
        """
        try:
            event = self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise BadRequestError(str(exc)) from None
        if event is h11.NEED_DATA:
            return Wait.DATA
        if isinstance(event, h11.Data):
            return bytes(event.data)
        if isinstance(event, h11.EndOfMessage):
            return _trailers(event.headers)
        raise BadRequestError("the body ended with the connection")

    def _start(self, event: h11.Request) -> bool:
        """Take a request's head; True when its body is not to be read at all."""
        if event.http_version not in _VERSIONS:
            raise BadRequestError(f"unsupported HTTP version {event.http_version!r}")
        headers: dict[str, str] = {}
        for raw_name, raw_value in event.headers:
            name = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            # Repeated headers are joined with ", " as RFC 9110 allows (h11 has
            # already refused conflicting Content-Length headers).
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if "transfer-encoding" in headers and "content-length" in headers:
            raise BadRequestError("both Transfer-Encoding and Content-Length")
        target = event.target.decode("latin-1")
        path, _, query = target.partition("?")
        self._request = Request(event.method.decode("latin-1"), path, query, headers)
        self._parts = []
        self._size = 0
        length = headers.get("content-length")
        if length is not None and int(length) > DISCARD_LIMIT:
            # Too large even to drop: answer at once and close, unread.
            self._size = int(length)
            self._must_close = True
            return True
        return False

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > DISCARD_LIMIT:
            raise BadRequestError("chunked body too large")
        if self._size <= self._max_body:
            self._parts.append(data)

    def _finish(self) -> Request:
        request = self._request
        assert request is not None  # noqa: S101 - set by the head, which comes first
        if self._size > self._max_body:
            request.oversize = True
        else:
            request.body = b"".join(self._parts)
        request.trailers, self._trailers = self._trailers, {}
        self._parts = []
        return request

    def response_bytes(self, response: Response, *, close: bool) -> list[bytes]:
        """The bytes of ``response`` to the current request; ``close`` ends the connection after.

        The body is passed through, not copied.
        """
        headers = [("Content-Length", str(len(response.body))), *response.headers]
        if close or self._must_close:
            headers.append(("Connection", "close"))
        reason = _REASONS.get(response.status, "Status").encode()
        out = [
            self._h11.send(
                h11.Response(status_code=response.status, headers=headers, reason=reason)
            )
        ]
        if response.body:
            out.extend(self._h11.send_with_data_passthrough(h11.Data(data=response.body)) or ())
        out.append(self._h11.send(h11.EndOfMessage()))
        return out

    def stream_head_bytes(self, response: Response, *, close: bool) -> bytes:
        """The head of a response whose body follows in pieces (chunked on HTTP/1.1)."""
        headers = list(response.headers)
        if close or self._must_close:
            headers.append(("Connection", "close"))
        reason = _REASONS.get(response.status, "Status").encode()
        return (
            self._h11.send(
                h11.Response(status_code=response.status, headers=headers, reason=reason)
            )
            or b""
        )

    def stream_data_bytes(self, data: bytes) -> bytes:
        """One piece of a streamed response's body."""
        return self._h11.send(h11.Data(data=data)) or b""

    def stream_end_bytes(self) -> bytes:
        """The end of a streamed response's body."""
        return self._h11.send(h11.EndOfMessage()) or b""

    def next_cycle(self) -> bool:
        """Make ready for the next request on this connection; False when it must close."""
        self._request = None
        self.streaming = False
        if self._h11.states != {h11.CLIENT: h11.DONE, h11.SERVER: h11.DONE}:
            return False
        self._h11.start_next_cycle()
        return True

    def error_bytes(self, status: int) -> bytes:
        """An empty ``status`` response that closes the connection (after a bad request)."""
        try:
            return b"".join(self.response_bytes(Response(status), close=True))
        except h11.LocalProtocolError:
            return b""  # a response is already on its way: closing is all that is left


def _trailers(fields: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in fields}
