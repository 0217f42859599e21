"""Lambda's error types and bodies as the agent produces them. Pure.

A function error reaches the caller as Lambda's JSON (``errorMessage``,
``errorType``…) with ``X-Amz-Function-Error``; init errors end up in the pod's
termination message, read by the operator for the Function's Ready condition.
"""

import json
from dataclasses import dataclass
from typing import Final

# Lambda's limit on a function's response: 6 MiB and 100 bytes, as its error
# message says ("maximum allowed payload size (6291556 bytes)").
MAX_RESPONSE_BYTES: Final = 6 * 1024 * 1024 + 100
# Lambda's limit on a synchronous request's payload.
MAX_REQUEST_BYTES: Final = 6 * 1024 * 1024
# The kubelet keeps at most this much of a container's termination message.
TERMINATION_MESSAGE_BYTES: Final = 4096


@dataclass(frozen=True, slots=True)
class LambdaError:
    """An error as Lambda reports it: a type such as ``Runtime.ImportModuleError`` and a message."""

    error_type: str
    message: str

    def body(self) -> bytes:
        """The JSON body of an error response."""
        return json.dumps({"errorMessage": self.message, "errorType": self.error_type}).encode()

    def termination_message(self) -> bytes:
        """The same JSON, its message shortened to fit the kubelet's 4 KB."""
        body = self.body()
        message = self.message[:TERMINATION_MESSAGE_BYTES]  # a character is at least a byte
        while len(body) > TERMINATION_MESSAGE_BYTES:
            if not message:
                return body[:TERMINATION_MESSAGE_BYTES]  # only an absurd error type gets here
            # A character takes at most 12 bytes in JSON (an escaped surrogate pair).
            excess = len(body) - TERMINATION_MESSAGE_BYTES
            message = message[: -(excess // 12 + 1)]
            body = LambdaError(self.error_type, message + "…").body()
        return body


def exit_description(returncode: int) -> str:
    """How Lambda (a Go program) describes a process's end: ``exit status 1``, ``signal: killed``.

    Lambda's messages quote Go's wording; copying it keeps them recognisable.
    """
    if returncode >= 0:
        return f"exit status {returncode}"
    names = {6: "aborted", 9: "killed", 11: "segmentation fault", 15: "terminated"}
    return f"signal: {names.get(-returncode, str(-returncode))}"


def runtime_exit_error(request_id: str | None, returncode: int) -> LambdaError:
    """A runtime process ended on its own, during an invocation or before its first ``/next``."""
    prefix = f"RequestId: {request_id} Error: " if request_id else ""
    if returncode == 0:
        return LambdaError(
            "Runtime.ExitError", f"{prefix}Runtime exited without providing a reason"
        )
    return LambdaError(
        "Runtime.ExitError", f"{prefix}Runtime exited with error: {exit_description(returncode)}"
    )


def response_too_large_error() -> LambdaError:
    """The runtime posted a response over Lambda's limit."""
    return LambdaError(
        "Function.ResponseSizeTooLarge",
        "Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
    )


def runtime_error_body(body: bytes, header_type: str | None) -> bytes:
    """The function error to return for a runtime's ``/error`` post.

    awslambdaric posts Lambda's JSON (``errorMessage``, ``errorType``,
    ``requestId``, ``stackTrace``) and no type header: that body goes back as
    it is. Other clients may post anything; it is wrapped, typed by the
    ``Lambda-Runtime-Function-Error-Type`` header.
    """
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        if "errorType" not in parsed and header_type:
            parsed["errorType"] = header_type
            return json.dumps(parsed).encode()
        return body
    message = body.decode("utf-8", "replace")
    return LambdaError(header_type or "Runtime.Unknown", message).body()


def init_error_from_post(body: bytes, header_type: str | None) -> LambdaError:
    """What a runtime posted to ``/runtime/init/error``: type from the header, else the body."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        message = str(parsed.get("errorMessage", ""))
        error_type = header_type or str(parsed.get("errorType") or "Runtime.Unknown")
        return LambdaError(error_type, message)
    return LambdaError(header_type or "Runtime.Unknown", body.decode("utf-8", "replace"))
