"""AWS's event-stream framing (``application/vnd.amazon.eventstream``), encoder side; pure.

What ``InvokeWithResponseStream`` answers with, and what boto3's
``invoke_with_response_stream`` reads (botocore's ``EventStreamBuffer``). One
message::

    prelude   total length (uint32 BE) | headers length (uint32 BE) | CRC32 of those 8 bytes
    headers   per header: name length (uint8) | name | type (uint8; 7 = string)
              | value length (uint16 BE) | value
    payload   bytes
    trailer   CRC32 (uint32 BE) of everything before it

Lambda's events, each with ``:event-type``, ``:content-type`` and
``:message-type: event`` headers:

    PayloadChunk    the function's bytes (application/octet-stream), as they come;
                    a long run is cut into chunks of at most ``MAX_CHUNK`` bytes
    InvokeComplete  the end (application/json): ``{}`` on success, else
                    ``ErrorCode`` (the error's type), ``ErrorDetails`` (its message),
                    and ``LogResult`` (the base64 log tail) when the caller asked for it
"""

import json
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import Final

CONTENT_TYPE: Final = "application/vnd.amazon.eventstream"
# Each PayloadChunk carries at most this much (botocore reads up to 16 MiB a message).
MAX_CHUNK: Final = 64 * 1024
_STRING: Final = 7
_PRELUDE: Final = struct.Struct(">II")
_CRC: Final = struct.Struct(">I")
_MAX_NAME: Final = 255
_MAX_VALUE: Final = 0xFFFF


def _header(name: str, value: str) -> bytes:
    raw_name = name.encode()
    raw_value = value.encode()
    if not raw_name or len(raw_name) > _MAX_NAME or len(raw_value) > _MAX_VALUE:
        raise ValueError(f"event-stream header {name!r} out of bounds")
    return (
        bytes([len(raw_name)])
        + raw_name
        + bytes([_STRING])
        + len(raw_value).to_bytes(2, "big")
        + raw_value
    )


def message(headers: Sequence[tuple[str, str]], payload: bytes) -> bytes:
    """One event-stream message with string ``headers`` and ``payload``."""
    raw_headers = b"".join(_header(name, value) for name, value in headers)
    total = _PRELUDE.size + _CRC.size + len(raw_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(raw_headers))
    head = prelude + _CRC.pack(zlib.crc32(prelude)) + raw_headers
    crc = zlib.crc32(payload, zlib.crc32(head))
    return head + payload + _CRC.pack(crc)


def _event(event_type: str, content_type: str, payload: bytes) -> bytes:
    return message(
        [(":event-type", event_type), (":content-type", content_type), (":message-type", "event")],
        payload,
    )


def payload_chunks(data: bytes, size: int = MAX_CHUNK) -> Iterator[bytes]:
    """``PayloadChunk`` messages carrying ``data``, at most ``size`` bytes each (none if empty)."""
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield _event("PayloadChunk", "application/octet-stream", bytes(view[start : start + size]))


def invoke_complete(
    error_code: str | None = None, error_details: str | None = None, log_result: str | None = None
) -> bytes:
    """The closing ``InvokeComplete`` message; its fields are left out when None."""
    body: dict[str, str] = {}
    if error_code is not None:
        body["ErrorCode"] = error_code
    if error_details is not None:
        body["ErrorDetails"] = error_details
    if log_result is not None:
        body["LogResult"] = log_result
    return _event("InvokeComplete", "application/json", json.dumps(body).encode())


def function_error_fields(body: bytes, fallback: str) -> tuple[str, str]:
    """``(ErrorCode, ErrorDetails)`` from a function error's body ``{"errorType", "errorMessage"}``.

    A body that is not such an object gives ``fallback`` and the body as text.
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error_type = parsed.get("errorType")
        error_message = parsed.get("errorMessage")
        return (
            error_type if isinstance(error_type, str) and error_type else fallback,
            error_message if isinstance(error_message, str) else body.decode(errors="replace"),
        )
    return fallback, body.decode(errors="replace")
