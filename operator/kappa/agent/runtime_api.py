"""The Lambda Runtime API (``/2018-06-01/runtime/...``) one slot serves its runtime on 127.0.0.1.

Routing and wire format only; what each call means for the slot is in
``kappa.agent.slots``. Status codes and headers follow Lambda's and the
Runtime Interface Emulator's, which the real clients (awslambdaric,
aws-lambda-go) are written against.
"""

from typing import Final

from kappa.agent.http11 import Request, Response
from kappa.agent.slots import Slot

PREFIX: Final = "/2018-06-01/runtime/"
_INVOCATION: Final = "invocation/"
_ERROR_TYPE_HEADER: Final = "lambda-runtime-function-error-type"
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

    def __init__(self, slot: Slot, function_arn: str) -> None:
        self._slot = slot
        self._function_arn = function_arn

    async def __call__(self, request: Request) -> Response:  # noqa: PLR0911 - a route table
        """Route one request."""
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

    async def _next(self) -> Response:
        invocation = await self._slot.next_invocation()
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
