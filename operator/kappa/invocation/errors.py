"""Lambda's error responses: HTTP status, ``x-amzn-ErrorType`` and a JSON body.

The shapes follow botocore's Lambda service model, which is what SDKs parse:
the error code comes from ``x-amzn-ErrorType``; the message member is
``message`` or ``Message`` depending on the exception (both parse). A 429
carries ``Reason`` and ``Retry-After`` (the model's ``retryAfterSeconds``).
"""

import json
from enum import StrEnum
from http import HTTPStatus
from typing import Final

JSON_CONTENT_TYPE: Final = "application/json"


class ThrottleReason(StrEnum):
    """Lambda's ``Reason`` values of ``TooManyRequestsException``."""

    CONCURRENT_INVOCATION_LIMIT_EXCEEDED = "ConcurrentInvocationLimitExceeded"
    RESERVED_FUNCTION_CONCURRENT_INVOCATION_LIMIT_EXCEEDED = (
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    )
    FUNCTION_INVOCATION_RATE_LIMIT_EXCEEDED = "FunctionInvocationRateLimitExceeded"
    CALLER_RATE_LIMIT_EXCEEDED = "CallerRateLimitExceeded"


class Fault(StrEnum):
    """What kind of failure an error answer is: what a caller or a retry policy does next."""

    THROTTLED = "throttled"  # 429: a limit or no capacity now; trying later may work
    SYSTEM = "system"  # 5xx: the platform or the function's pod failed; retryable
    REFUSED = "refused"  # any other 4xx: the request itself; trying again will not help


class GatewayError(Exception):
    """An error answer of the Lambda API, raised where it is decided and rendered once."""

    def __init__(
        self,
        status: int,
        error_type: str,
        body: dict[str, str],
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(status, error_type, body, headers)
        self.status = status
        self.error_type = error_type
        self.body = body
        self.headers = headers

    def __str__(self) -> str:
        message = self.body.get("message") or self.body.get("Message") or ""
        return f"{self.status} {self.error_type}: {message}"

    @property
    def outcome(self) -> Fault:
        """The kind of failure, from the status (the one mapping of statuses to outcomes)."""
        if self.status == HTTPStatus.TOO_MANY_REQUESTS:
            return Fault.THROTTLED
        if self.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            return Fault.SYSTEM
        return Fault.REFUSED

    @property
    def message(self) -> str:
        """The human-readable message, whichever member holds it."""
        return self.body.get("message") or self.body.get("Message") or ""

    def render(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body bytes) as Lambda sends them."""
        headers = [
            ("Content-Type", JSON_CONTENT_TYPE),
            ("x-amzn-ErrorType", self.error_type),
            *self.headers,
        ]
        return self.status, headers, json.dumps(self.body).encode()


def too_many_requests(
    reason: ThrottleReason, message: str, *, retry_after_seconds: int = 1
) -> GatewayError:
    """429 ``TooManyRequestsException``: the caller may retry after ``retry_after_seconds``."""
    return GatewayError(
        429,
        "TooManyRequestsException",
        {"Reason": reason.value, "Type": "User", "message": message},
        (("Retry-After", str(retry_after_seconds)),),
    )


def not_found(message: str) -> GatewayError:
    """404 ``ResourceNotFoundException``."""
    return GatewayError(404, "ResourceNotFoundException", {"Type": "User", "Message": message})


def conflict(message: str) -> GatewayError:
    """409 ``ResourceConflictException``: the object exists already, or changed meanwhile."""
    return GatewayError(409, "ResourceConflictException", {"Type": "User", "message": message})


def provisioned_config_not_found(message: str) -> GatewayError:
    """404 ``ProvisionedConcurrencyConfigNotFoundException``."""
    return GatewayError(
        404, "ProvisionedConcurrencyConfigNotFoundException", {"Type": "User", "message": message}
    )


def function_not_found(arn: str) -> GatewayError:
    """404 for a Function that does not exist, worded as Lambda's."""
    return not_found(f"Function not found: {arn}")


def invalid_parameter(message: str) -> GatewayError:
    """400 ``InvalidParameterValueException``: a parameter (name, header value) is wrong."""
    return GatewayError(400, "InvalidParameterValueException", {"Type": "User", "message": message})


def invalid_request_content(message: str) -> GatewayError:
    """400 ``InvalidRequestContentException``: the payload or client context is malformed."""
    return GatewayError(400, "InvalidRequestContentException", {"Type": "User", "message": message})


def request_too_large(limit: int, message: str | None = None) -> GatewayError:
    """413 ``RequestTooLargeException``, with Lambda's message unless ``message`` is given."""
    return GatewayError(
        413,
        "RequestTooLargeException",
        {
            "Type": "User",
            "message": message
            or f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
        },
    )


def unsupported_media_type(content_type: str) -> GatewayError:
    """415 ``UnsupportedMediaTypeException``."""
    return GatewayError(
        415,
        "UnsupportedMediaTypeException",
        {"Type": "User", "message": f"The content type {content_type!r} is not supported."},
    )


def service_error(message: str, *, status: int = 500) -> GatewayError:
    """``ServiceException`` (500; 502 when the function's runtime or pod failed us)."""
    return GatewayError(status, "ServiceException", {"Type": "Service", "Message": message})


def unrecognized_client(message: str) -> GatewayError:
    """401 ``UnrecognizedClientException``: no credentials, or credentials no one issued."""
    return GatewayError(401, "UnrecognizedClientException", {"Type": "User", "message": message})


def invalid_signature(message: str) -> GatewayError:
    """403 ``InvalidSignatureException``: a SigV4 signature that does not verify, or expired."""
    return GatewayError(403, "InvalidSignatureException", {"Type": "User", "message": message})


def access_denied(message: str) -> GatewayError:
    """403 ``AccessDeniedException``: authenticated, but RBAC does not allow this call."""
    return GatewayError(403, "AccessDeniedException", {"Type": "User", "Message": message})
