"""The HTTP prelude of a streamed function URL answer (``awslambda.HttpResponseStream``); pure.

A streaming handler that answers an HTTP trigger with ``invokeMode: RESPONSE_STREAM``
may begin its stream with the response's head, as Lambda's function URLs read it:
content type ``application/vnd.awslambda.http-integration-response``, then the
JSON prelude ``{"statusCode", "headers", "cookies"}``, then eight NUL bytes, then the
body. The prelude is held to the rules of a buffered answer (``events.http_response``:
status range, header names and values, no framing headers); a malformed one, or one
longer than ``MAX_PRELUDE`` bytes, is a 502. Any other content type has no prelude:
the answer is 200 with that content type.
"""

import json
from typing import Final

from kappa.gateway.events import HttpResponse, http_response

PRELUDE_CONTENT_TYPE: Final = "application/vnd.awslambda.http-integration-response"
DELIMITER: Final = b"\x00" * 8
MAX_PRELUDE: Final = 64 * 1024


class PreludeReader:
    """Reads a stream's prelude from its first pieces, however they are cut."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> tuple[HttpResponse, bytes] | None:
        """Once the prelude is whole: the head and the bytes after it (see ``prelude_head``).

        A prelude past ``MAX_PRELUDE`` is a 502 head.
        """
        self._buffer += data
        index = self._buffer.find(DELIMITER)
        if index < 0:
            if len(self._buffer) > MAX_PRELUDE:
                return http_response(b"", function_error=True), b""
            return None
        if index > MAX_PRELUDE:
            return http_response(b"", function_error=True), b""
        head = prelude_head(bytes(self._buffer[:index]))
        return head, bytes(self._buffer[index + len(DELIMITER) :])


def prelude_head(prelude: bytes) -> HttpResponse:
    """The status and headers the prelude names (200 without ``statusCode``).

    Its body is empty, but for a malformed prelude: then it is the 502's, to send.
    """
    try:
        value = json.loads(prelude)
    except ValueError:
        return http_response(b"", function_error=True)
    if not isinstance(value, dict):
        return http_response(b"", function_error=True)
    head = {key: value[key] for key in ("statusCode", "headers", "cookies") if key in value}
    head.setdefault("statusCode", 200)
    # Without a body the head's own body is empty; a malformed one's is the 502's.
    return http_response(json.dumps(head).encode(), function_error=False)
