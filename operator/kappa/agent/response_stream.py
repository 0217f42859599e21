"""Streamed responses: the Runtime API's streaming mode carried through to ``/invoke``.

A runtime in streaming mode (Node's ``awslambda.streamifyResponse``) POSTs its
``/response`` with ``Lambda-Runtime-Function-Response-Mode: streaming`` and a chunked
body. When the gateway asked for a stream, ``/invoke`` has registered a
:class:`ResponseStream` under the request id (:class:`Streams`); the Runtime API puts
each piece in it as it arrives and ``/invoke`` sends it on at once. When nobody asked
(a plain Invoke of a streaming function), the Runtime API reads the whole body, as
Lambda answers a buffered call.

The queue between the two is short (``_QUEUED`` pieces): a slow reader slows the
runtime's writes down instead of filling the agent's memory. A reader that goes away
(``abandon``) lets the writer drop the rest, so the runtime still finishes its call.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Final

# Lambda's soft bound on a streamed response; past it, the stream ends with
# Function.ResponseSizeTooLarge (docs/lambda-compatibility.md).
MAX_STREAM_BYTES: Final = 20 * 1024 * 1024
STREAM_MODE_HEADER: Final = "lambda-runtime-function-response-mode"
_QUEUED: Final = 16


def is_streaming(headers: dict[str, str]) -> bool:
    """Whether a Runtime API request's headers put its body in streaming mode."""
    return headers.get(STREAM_MODE_HEADER, "").strip().lower() == "streaming"


class ResponseStream:
    """One invocation's streamed body, from the Runtime API (writer) to ``/invoke`` (reader)."""

    def __init__(self, limit: int = MAX_STREAM_BYTES) -> None:
        self._limit = limit
        self._pieces: deque[bytes] = deque()
        self._readable = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.size = 0
        self.oversize = False
        self._ended = False
        self._abandoned = False

    def start(self, content_type: str) -> None:
        """The runtime began its streamed response (with this content type)."""
        if not self.started.done():
            self.started.set_result(content_type)

    async def put(self, piece: bytes) -> bool:
        """Pass ``piece`` on; False once the stream is over its bound (the rest is dropped).

        Waits while the reader has ``_QUEUED`` pieces still to take.
        """
        if self._closed() or not piece:
            return not self.oversize
        self.size += len(piece)
        if self.size > self._limit:
            self.oversize = True
            self.end()
            return False
        while len(self._pieces) >= _QUEUED and not self._closed():
            self._room.clear()
            await self._room.wait()
        if not self._closed():
            self._pieces.append(piece)
            self._readable.set()
        return True

    def _closed(self) -> bool:
        return self._ended or self._abandoned

    def end(self) -> None:
        """No more pieces: the body ended, broke off, or the invocation ended without it."""
        self._ended = True
        self._readable.set()
        self._room.set()

    def abandon(self) -> None:
        """The reader went away: drop what is queued and what comes."""
        self._abandoned = True
        self._pieces.clear()
        self._room.set()

    async def pieces(self) -> AsyncIterator[bytes]:
        """The pieces, in order, until the end."""
        while True:
            if self._pieces:
                piece = self._pieces.popleft()
                self._room.set()
                yield piece
                continue
            if self._ended:
                return
            self._readable.clear()
            await self._readable.wait()


class Streams:
    """The streams ``/invoke`` waits on, by request id."""

    def __init__(self) -> None:
        self._streams: dict[str, ResponseStream] = {}

    def open(self, request_id: str, limit: int = MAX_STREAM_BYTES) -> ResponseStream:
        """A new stream for ``request_id``."""
        stream = ResponseStream(limit)
        self._streams[request_id] = stream
        return stream

    def get(self, request_id: str) -> ResponseStream | None:
        """The stream someone waits on for ``request_id``, if any."""
        return self._streams.get(request_id)

    def close(self, request_id: str) -> None:
        """Forget ``request_id``'s stream."""
        self._streams.pop(request_id, None)
