"""Lambda's asynchronous invocation record, as destinations receive it (pure).

::

    {"version": "1.0",
     "timestamp": "2019-11-14T18:16:05.568Z",
     "requestContext": {"requestId": "...", "functionArn": "arn:...:function:NAME:$LATEST",
                        "condition": "Success" | "RetriesExhausted" | "EventAgeExceeded",
                        "approximateInvokeCount": 3},
     "requestPayload": <the event, parsed>,
     "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                         "functionError": "Unhandled"},   # functionError only on errors
     "responsePayload": <the function's result or error, parsed>}

``functionArn`` is qualified by the version that ran (``$LATEST``, or a published
version's number), and ``executedVersion`` names it. ``responseContext`` and
``responsePayload`` are left out when the function never
answered (throttled until the event expired, reserved concurrency 0). A payload
that is not JSON is carried as a string.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from kappa.base.arn import parse_function_arn
from kappa.invocation.function_name import LATEST

RECORD_VERSION: Final = "1.0"


class RecordCondition(StrEnum):
    """``requestContext.condition``: why the record was made."""

    SUCCESS = "Success"
    RETRIES_EXHAUSTED = "RetriesExhausted"
    EVENT_AGE_EXCEEDED = "EventAgeExceeded"


@dataclass(frozen=True, slots=True)
class Response:
    """The function's answer to the last invocation."""

    body: bytes
    function_error: str | None = None
    status_code: int = 200


def parse_payload(payload: bytes) -> Any:
    """A payload as JSON when it is JSON, else as text (empty → None)."""
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")


def timestamp(now_ms: int) -> str:
    """Lambda's record timestamp: ISO 8601, milliseconds, ``Z``."""
    when = datetime.fromtimestamp(now_ms / 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now_ms % 1000:03d}Z"


def invocation_record(  # noqa: PLR0913 - the record's fields
    *,
    request_id: str,
    function_arn: str,
    condition: RecordCondition,
    invoke_count: int,
    payload: bytes,
    response: Response | None,
    now_ms: int,
) -> dict[str, Any]:
    """The record of one asynchronous invocation's outcome.

    ``function_arn`` is the Function's, or a published version's (qualified by its number).
    """
    parts = parse_function_arn(function_arn)
    version = parts.qualifier if parts is not None and parts.qualifier else LATEST
    if version != LATEST:
        function_arn = function_arn.removesuffix(f":{version}")
    record: dict[str, Any] = {
        "version": RECORD_VERSION,
        "timestamp": timestamp(now_ms),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:{version}",
            "condition": condition.value,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": parse_payload(payload),
    }
    if response is not None:
        context: dict[str, Any] = {"statusCode": response.status_code, "executedVersion": version}
        if response.function_error:
            context["functionError"] = response.function_error
        record["responseContext"] = context
        record["responsePayload"] = parse_payload(response.body)
    return record
