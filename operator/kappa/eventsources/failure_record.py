"""The invocation record a Function failure destination receives (Lambda's shape).

::

    {"version": "1.0", "timestamp": ISO-8601,
     "requestContext": {"requestId", "functionArn", "condition", "approximateInvokeCount"},
     "responseContext": {"statusCode", "executedVersion": "$LATEST", "functionError"},
     "requestPayload": <the event of the failed records>,
     "responsePayload": <the function's last answer, JSON when it is>}

Pure: no I/O, no clock.
"""

import json
from datetime import UTC, datetime
from typing import Any

from kappa.eventsources.source import Failure


def failure_record(failure: Failure, function_arn: str, event: object) -> dict[str, Any]:
    """The record sent to an ``onFailure`` Function for the records of ``event``."""
    timestamp = datetime.fromtimestamp(failure.timestamp_ms / 1000, tz=UTC)
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": failure.request_id,
            "functionArn": function_arn,
            "condition": str(failure.condition),
            "approximateInvokeCount": failure.approximate_invoke_count,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": failure.function_error,
        },
        "requestPayload": event,
    }
    if failure.response_payload is not None:
        try:
            record["responsePayload"] = json.loads(failure.response_payload)
        except (ValueError, RecursionError):
            record["responsePayload"] = failure.response_payload.decode("utf-8", "replace")
    return record
