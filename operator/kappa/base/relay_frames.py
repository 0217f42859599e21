"""The framing of a streamed answer from a function pod's agent to the gateway; pure.

When the gateway asks for a stream (``X-Kappa-Response-Stream: 1`` on ``POST /invoke``)
and the runtime streams its response (the Runtime API's streaming mode), the agent
answers ``200`` with ``X-Kappa-Stream: 1`` and a chunked body of frames, sent as the
runtime writes::

    kind (1 byte) | length (uint32 BE) | data
    kind D: the function's bytes (at most MAX_DATA a frame)
    kind E: the end, once: a JSON object {"headers": {name: value}, "body": text}
            with the headers a buffered answer would have had (X-Amz-Function-Error,
            X-Amz-Log-Result, X-Kappa-Billed-Duration-Ms...) and, on an error, its body

Nothing follows the end frame. HTTP trailers would say the same, but the gateway's
HTTP client does not read them.
"""

import json
import struct
from dataclasses import dataclass
from typing import Final

DATA: Final = b"D"
END: Final = b"E"
MAX_DATA: Final = 256 * 1024
MAX_END: Final = 64 * 1024
_HEAD: Final = struct.Struct(">cI")


class FrameError(ValueError):
    """The bytes are not frames as this module writes them."""


@dataclass(frozen=True, slots=True)
class End:
    """How a streamed answer ended."""

    headers: dict[str, str]
    body: bytes


def data(chunk: bytes) -> list[bytes]:
    """Data frames (head and payload, to write in order) carrying ``chunk``."""
    out: list[bytes] = []
    view = memoryview(chunk)
    for start in range(0, len(chunk), MAX_DATA):
        part = view[start : start + MAX_DATA]
        out.append(_HEAD.pack(DATA, len(part)))
        out.append(bytes(part))
    return out


def end(headers: dict[str, str], body: bytes = b"") -> bytes:
    """The end frame."""
    payload = json.dumps(
        {"headers": headers, "body": body.decode(errors="replace")}, separators=(",", ":")
    ).encode()
    return _HEAD.pack(END, len(payload)) + payload


class FrameReader:
    """Frames out of bytes as they arrive: ``feed`` gives whole frames, in order.

    Bytes that are not frames (an unknown kind, a frame over its bound, a malformed end,
    bytes after the end) set ``error``; the frames before them are still given.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.ended = False
        self.error: str | None = None

    def feed(self, chunk: bytes) -> list[bytes | End]:
        """The data of each whole data frame, and the End, that ``chunk`` completes."""
        out: list[bytes | End] = []
        if self.error is not None:
            return out
        if self.ended:
            if chunk:
                self.error = "bytes after the end frame"
            return out
        self._buffer += chunk
        try:
            self._frames(out)
        except FrameError as exc:
            self.error = str(exc)
        return out

    def _frames(self, out: list[bytes | End]) -> None:
        while len(self._buffer) >= _HEAD.size:
            kind, length = _HEAD.unpack_from(self._buffer)
            if kind not in (DATA, END) or length > (MAX_DATA if kind == DATA else MAX_END):
                raise FrameError(f"bad frame head: kind {kind!r}, length {length}")
            if len(self._buffer) < _HEAD.size + length:
                return
            payload = bytes(self._buffer[_HEAD.size : _HEAD.size + length])
            del self._buffer[: _HEAD.size + length]
            if kind == DATA:
                out.append(payload)
                continue
            out.append(_parse_end(payload))
            self.ended = True
            if self._buffer:
                raise FrameError("bytes after the end frame")
            return


def _parse_end(payload: bytes) -> End:
    try:
        parsed = json.loads(payload)
    except ValueError:
        raise FrameError("the end frame is not JSON") from None
    headers = parsed.get("headers") if isinstance(parsed, dict) else None
    body = parsed.get("body", "") if isinstance(parsed, dict) else None
    if (
        not isinstance(headers, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        or not isinstance(body, str)
    ):
        raise FrameError("the end frame is not {headers, body}")
    return End(headers, body.encode())
