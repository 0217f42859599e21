"""What a broker failure destination (``destinationConfig.onFailure.target``) attaches to a record.

Kafka topics, RabbitMQ queues, NATS subjects and Redis streams receive a failed
record as it was (key, body, headers) plus these ``kappa-*`` headers (fields,
for Redis), so a consumer of the dead-letter target knows why it is there.
Pure.
"""

from collections.abc import Mapping
from typing import Final

from kappa.eventsources.source import Failure, Record

CONDITION: Final = "kappa-failure-condition"
FUNCTION_ERROR: Final = "kappa-function-error"
INVOKE_COUNT: Final = "kappa-approximate-invoke-count"
REQUEST_ID: Final = "kappa-request-id"
FAILED_AT: Final = "kappa-failed-at"
SOURCE_ID: Final = "kappa-source-record"


def failure_headers(record: Record, failure: Failure) -> Mapping[str, str]:
    """The headers naming why ``record`` failed, in a fixed order (absent values left out)."""
    headers = {
        CONDITION: failure.condition.value,
        INVOKE_COUNT: str(failure.approximate_invoke_count),
        FAILED_AT: str(failure.timestamp_ms),
        SOURCE_ID: record.id,
    }
    if failure.function_error is not None:
        headers[FUNCTION_ERROR] = failure.function_error
    if failure.request_id is not None:
        headers[REQUEST_ID] = failure.request_id
    return headers
