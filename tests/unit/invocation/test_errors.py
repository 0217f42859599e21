import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from kappa.invocation.errors import (
    Fault,
    GatewayError,
    ThrottleReason,
    function_not_found,
    invalid_parameter,
    invalid_request_content,
    request_too_large,
    service_error,
    too_many_requests,
    unsupported_media_type,
)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    made = boto3.session.Session().client(
        "lambda",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - dummy: nothing is sent
    )
    yield made
    made.close()


def parsed(client: Any, error: GatewayError) -> dict[str, Any]:
    """What botocore makes of the rendered error, as it would for a real Invoke answer."""
    status, headers, body = error.render()
    model = client.meta.service_model
    parser = create_parser("rest-json")
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    result: dict[str, Any] = parser.parse(response, model.operation_model("Invoke").output_shape)
    # As botocore's endpoint does: the modelled members of the error (Reason…) join in.
    error_shape = model.shape_for_error_code(result["Error"]["Code"])
    if error_shape is not None:
        result.update(parser.parse(response, error_shape))
    return result


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        pytest.param(too_many_requests(ThrottleReason.RESERVED_FUNCTION_CONCURRENT_INVOCATION_LIMIT_EXCEEDED, "Rate Exceeded."),
                     429, "TooManyRequestsException", id="throttle"),
        pytest.param(function_not_found("arn:aws:lambda:us-east-1:default:function:x"),
                     404, "ResourceNotFoundException", id="not-found"),
        pytest.param(request_too_large(6291456), 413, "RequestTooLargeException", id="too-large"),
        pytest.param(invalid_request_content("bad"), 400, "InvalidRequestContentException",
                     id="bad-content"),
        pytest.param(invalid_parameter("bad"), 400, "InvalidParameterValueException",
                     id="bad-parameter"),
        pytest.param(unsupported_media_type("text/csv"), 415, "UnsupportedMediaTypeException",
                     id="media-type"),
        pytest.param(service_error("oops"), 500, "ServiceException", id="service"),
        pytest.param(service_error("lost", status=502), 502, "ServiceException", id="lost-pod"),
    ],
)  # fmt: skip
def test_botocore_parses_each_error_into_its_exception(
    client: Any, error: GatewayError, status: int, code: str
) -> None:
    result = parsed(client, error)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == status
    assert result["Error"]["Code"] == code
    assert result["Error"]["Message"] == error.message
    assert client.exceptions.from_code(code).__name__ == code


def test_throttle_body_and_retry_after() -> None:
    error = too_many_requests(
        ThrottleReason.CONCURRENT_INVOCATION_LIMIT_EXCEEDED, "Rate Exceeded.", retry_after_seconds=3
    )
    status, headers, body = error.render()
    assert status == 429
    assert ("x-amzn-ErrorType", "TooManyRequestsException") in headers
    assert ("Retry-After", "3") in headers
    assert json.loads(body) == {
        "Reason": "ConcurrentInvocationLimitExceeded",
        "Type": "User",
        "message": "Rate Exceeded.",
    }


def test_throttle_reason_reaches_the_sdk(client: Any) -> None:
    error = too_many_requests(ThrottleReason.CALLER_RATE_LIMIT_EXCEEDED, "Rate Exceeded.")
    result = parsed(client, error)
    assert result["Reason"] == "CallerRateLimitExceeded"


def test_not_found_body_has_lambdas_members() -> None:
    _, _, body = function_not_found("arn:aws:lambda:us-east-1:default:function:x").render()
    assert json.loads(body) == {
        "Type": "User",
        "Message": "Function not found: arn:aws:lambda:us-east-1:default:function:x",
    }


def test_str_names_status_code_and_message() -> None:
    assert str(invalid_parameter("nope")) == "400 InvalidParameterValueException: nope"


@pytest.mark.parametrize(
    ("status", "fault"),
    [
        pytest.param(429, Fault.THROTTLED, id="throttled"),
        pytest.param(500, Fault.SYSTEM, id="service"),
        pytest.param(502, Fault.SYSTEM, id="pod-lost"),
        pytest.param(499, Fault.REFUSED, id="last-client-status"),
        pytest.param(404, Fault.REFUSED, id="not-found"),
        pytest.param(413, Fault.REFUSED, id="too-large"),
    ],
)
def test_outcome_is_the_one_mapping_of_statuses(status: int, fault: Fault) -> None:
    assert GatewayError(status, "T", {"message": "m"}).outcome is fault
