"""``X-Amz-Client-Context``: base64 of a JSON object, at most 3,583 bytes (Lambda's limit)."""

import base64
import binascii
import json
from typing import Final

from kappa.invocation.errors import GatewayError, invalid_request_content

MAX_CLIENT_CONTEXT_BYTES: Final = 3583


def check_client_context(header: str) -> None:
    """Raise 400 ``InvalidRequestContentException`` unless ``header`` is a valid client context."""
    if len(header) > MAX_CLIENT_CONTEXT_BYTES:
        raise _bad(f"Client context must be at most {MAX_CLIENT_CONTEXT_BYTES} bytes.")
    try:
        parsed = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError):
        raise _bad("Client context must be a valid Base64-encoded JSON object.") from None
    if not isinstance(parsed, dict):
        raise _bad("Client context must be a valid Base64-encoded JSON object.")


def _bad(message: str) -> GatewayError:
    return invalid_request_content(message)
