"""Request ids of invocations: the SDK's invocation id when it is a UUID."""

import re
from typing import Final

UUID_PATTERN: Final = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def request_id_for(sdk_invocation_id: str | None, fresh: str) -> str:
    """The request id of a new event: the SDK's invocation id when it sent a UUID.

    boto3 and the AWS CLI send the same ``amz-sdk-invocation-id`` on every retry
    of one call; taking it as the request id (and the NATS message id) makes a
    retried enqueue a duplicate that JetStream drops, and the caller gets the
    same request id back.
    """
    if sdk_invocation_id and UUID_PATTERN.fullmatch(sdk_invocation_id):
        return sdk_invocation_id.lower()
    return fresh
