"""The Lambda Runtime API (``/2018-06-01/runtime/...``) one slot serves its runtime on 127.0.0.1.

Routing and wire format only; what each call means for the slot is in
``kappa.agent.slots``. Status codes and headers follow Lambda's and the
Runtime Interface Emulator's, which the real clients (awslambdaric,
aws-lambda-go) are written against.

A ``/response`` in streaming mode (``Lambda-Runtime-Function-Response-Mode:
streaming``, chunked) is read as it arrives (the listener streams such bodies:
``is_streaming``): into the invocation's :class:`ResponseStream` when ``/invoke``
waits on one, else whole, as a buffered response. Its trailers
``Lambda-Runtime-Function-Error-Type`` and ``-Error-Body`` (base64 JSON) make it a
function error; a stream over ``MAX_STREAM_BYTES`` ends with
``Function.ResponseSizeTooLarge``.
"""

import base64
import binascii
from typing import Final

from kappa.agent import credentials
from kappa.agent.credentials import PodCredentials
from kappa.agent.errors import MAX_RESPONSE_BYTES, LambdaError
from kappa.agent.http11 import BodyStream, Request, Response
from kappa.agent.response_stream import MAX_STREAM_BYTES, Streams
from kappa.agent.slots import Slot

PREFIX: Final = "/2018-06-01/runtime/"
_INVOCATION: Final = "invocation/"
_ERROR_TYPE_HEADER: Final = "lambda-runtime-function-error-type"
_ERROR_BODY_TRAILER: Final = "lambda-runtime-function-error-body"
_STREAM_CONTENT_TYPE: Final = "application/octet-stream"  # the Node client's default
_JSON: Final = [("Content-Type", "application/json")]
_ACCEPTED: Final = b'{"status":"OK"}'

_ERRORS: Final = {
    400: b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}',
    403: b'{"errorMessage":"State transition is not allowed","errorType":"InvalidStateTransition"}',
    404: b'{"errorMessage":"Not found","errorType":"NotFound"}',
    405: b'{"errorMessage":"Method not allowed","errorType":"MethodNotAllowed"}',
    413: (
        b'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).",'
        b'"errorType":"RequestEntityTooLarge"}'
    ),
}


def _status(status: int) -> Response:
    if status == 202:  # noqa: PLR2004 - HTTP Accepted
        return Response(202, _ACCEPTED, _JSON)
    return Response(status, _ERRORS.get(status, b"{}"), _JSON)


class RuntimeApi:
    """The request handler of one slot's Runtime API listener."""

    def __init__(
        self,
        slot: Slot,
        function_arn: str,
        streams: Streams | None = None,
        pod_credentials: PodCredentials | None = None,
    ) -> None:
        """``pod_credentials``: served at ``/kappa/credentials`` too (durable Functions)."""
        self._slot = slot
        self._function_arn = function_arn
        self._streams = streams or Streams()
        self._credentials = pod_credentials

    async def __call__(self, request: Request) -> Response:  # noqa: PLR0911 - a route table
        """Route one request."""
        if request.path == credentials.PATH and self._credentials is not None:
            return self._credentials.answer(request)
        if not request.path.startswith(PREFIX):
            return _status(404)
        route = request.path[len(PREFIX) :]
        if route == "invocation/next":
            if request.method != "GET":
                return _status(405)
            return await self._next()
        if request.method != "POST":
            return _status(405)
        error_type = request.headers.get(_ERROR_TYPE_HEADER)
        if route == "init/error":
            return _status(self._slot.report_init_error(request.body, error_type))
        if route.startswith(_INVOCATION):
            request_id, _, action = route[len(_INVOCATION) :].rpartition("/")
            if action == "response":
                if request.stream is not None:
                    return await self._streamed(request_id, request, request.stream)
                if request.oversize:
                    return _status(self._slot.respond_too_large(request_id))
                return _status(
                    self._slot.respond(
                        request_id, request.body, request.headers.get("content-type")
                    )
                )
            if action == "error":
                return _status(self._slot.report_error(request_id, request.body, error_type))
        return _status(404)

    async def _streamed(self, request_id: str, request: Request, body: BodyStream) -> Response:
        """A ``/response`` in streaming mode, read as it arrives."""
        content_type = request.headers.get("content-type") or _STREAM_CONTENT_TYPE
        stream = self._streams.get(request_id)
        if stream is None:
            return await self._buffered(request_id, content_type, body)
        stream.start(content_type)
        try:
            while (piece := await body.read()) is not None:
                await stream.put(piece)
        finally:
            stream.end()
        if stream.oversize:
            error = LambdaError(
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size "
                f"({MAX_STREAM_BYTES} bytes).",
            )
            self._slot.report_error(request_id, error.body(), error.error_type)
            return _status(413)
        return self._ended(request_id, b"", content_type, body.trailers)

    async def _buffered(self, request_id: str, content_type: str, body: BodyStream) -> Response:
        """A streamed ``/response`` nobody reads as a stream: whole, up to Lambda's 6 MB."""
        parts: list[bytes] = []
        size = 0
        while (piece := await body.read()) is not None:
            size += len(piece)
            if size <= MAX_RESPONSE_BYTES:
                parts.append(piece)
        if size > MAX_RESPONSE_BYTES:
            return _status(self._slot.respond_too_large(request_id))
        return self._ended(request_id, b"".join(parts), content_type, body.trailers)

    def _ended(
        self, request_id: str, body: bytes, content_type: str, trailers: dict[str, str]
    ) -> Response:
        """A streamed ``/response`` is over: a result, or the error its trailers name."""
        error_type = trailers.get(_ERROR_TYPE_HEADER)
        if error_type is None:
            return _status(self._slot.respond(request_id, body, content_type))
        return _status(
            self._slot.report_error(request_id, _trailer_error(trailers, error_type), error_type)
        )

    async def _next(self) -> Response:
        invocation = await self._slot.next_invocation()
        if invocation is None:
            return _status(403)  # more /next calls at once than the process may take
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", self._function_arn),
        ]
        if invocation.trace_id:
            headers.append(("Lambda-Runtime-Trace-Id", invocation.trace_id))
        if invocation.client_context:
            headers.append(("Lambda-Runtime-Client-Context", invocation.client_context))
        if invocation.cognito_identity:
            headers.append(("Lambda-Runtime-Cognito-Identity", invocation.cognito_identity))
        return Response(200, invocation.event, headers)


def _trailer_error(trailers: dict[str, str], error_type: str) -> bytes:
    """The error JSON a streaming runtime sent in its trailers (base64), or one from its type."""
    try:
        return base64.b64decode(trailers.get(_ERROR_BODY_TRAILER, ""), validate=True) or (
            LambdaError(error_type, error_type).body()
        )
    except (binascii.Error, ValueError):
        return LambdaError(error_type, "the runtime's error body was not base64").body()
