"""What one invocation of a durable handler answered, read into the decider's terms (pure).

The SDK's handler wrapper answers ``{"Status": "SUCCEEDED", "Result": "<JSON text>"}``,
``{"Status": "FAILED", "Error": {ErrorObject}}`` or ``{"Status": "PENDING"}``
(docs/internals/durable.md, "What the SDK needs"). Anything else is a failed invocation,
counted against the execution's attempts, never a crash of the shell:

- the function raised, timed out or died (the agent's function error, with Lambda's
  ``errorType``/``errorMessage`` body): :class:`FunctionError` with that error;
- a body that is not such an object (a handler not wrapped by the SDK, a truncated
  answer): :class:`FunctionError` ``Kappa.InvalidDurableOutput``, naming what is wrong.

The body comes from the function, so it is bounded before it is parsed and every member
is read strictly.
"""

import json
from typing import Any, Final

from kappa.durable.decider import Failed, FunctionError, InvocationAnswer, Pending, Succeeded
from kappa.durable.fields import FieldError
from kappa.durable.model import PAYLOAD, PAYLOAD_MAX, ErrorObject

# The Result may be the whole response limit; the envelope around it is a few bytes more.
OUTPUT_MAX_BYTES: Final = PAYLOAD_MAX + 4096
INVALID_OUTPUT: Final = "Kappa.InvalidDurableOutput"
_ERROR_TEXT_MAX: Final = 4096


def _clip(value: object) -> str | None:
    return value[:_ERROR_TEXT_MAX] if isinstance(value, str) and value else None


def _invalid(why: str) -> FunctionError:
    return FunctionError(
        ErrorObject(message=f"The durable handler's answer {why}", type=INVALID_OUTPUT)
    )


def function_error(body: bytes) -> FunctionError:
    """The failed invocation a function error's body tells (Lambda's error shape, or not)."""
    raw: Any = None
    if len(body) <= OUTPUT_MAX_BYTES:
        try:
            raw = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raw = None
    if not isinstance(raw, dict):
        text = body[:_ERROR_TEXT_MAX].decode("utf-8", "replace")
        return FunctionError(ErrorObject(message=text or None, type="Unhandled"))
    trace = raw.get("stackTrace")
    stack = (
        tuple(str(line)[:_ERROR_TEXT_MAX] for line in trace[:64])
        if isinstance(trace, list)
        else None
    )
    return FunctionError(
        ErrorObject(
            message=_clip(raw.get("errorMessage")),
            type=_clip(raw.get("errorType")) or "Unhandled",
            stack_trace=stack,
        )
    )


def read(body: bytes) -> InvocationAnswer:  # noqa: PLR0911 - one return per kind of answer
    """The answer a successful invocation's ``body`` holds."""
    if len(body) > OUTPUT_MAX_BYTES:
        return _invalid(f"is {len(body)} bytes, over {OUTPUT_MAX_BYTES}.")
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _invalid("is not JSON: is the handler wrapped by @durable_execution?")
    if not isinstance(raw, dict):
        return _invalid("is not an object with a Status: is the handler wrapped?")
    status = raw.get("Status")
    try:
        if status == "SUCCEEDED":
            result = raw.get("Result")
            return Succeeded(None if result is None else PAYLOAD.check(result, "Result"))
        if status == "FAILED":
            error = raw.get("Error")
            return Failed(None if error is None else ErrorObject.from_wire(error, "Error"))
    except FieldError as exc:
        return _invalid(f"has a bad member: {exc}")
    if status == "PENDING":
        return Pending()
    return _invalid(f"has Status {str(status)[:64]!r}, not SUCCEEDED, FAILED or PENDING.")
