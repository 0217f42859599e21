"""CreateFunction, UpdateFunctionCode and UpdateFunctionConfiguration bodies (pure)."""

import base64
import io
import zipfile
from typing import Any

import pytest

from kappa.gateway.body import CODE_BODY_MAX
from kappa.gateway.function_requests import (
    ZIP_BASE64_MAX,
    CodeRequest,
    configuration_fields,
    create_request,
    durable_fields,
    update_code_request,
)
from kappa.invocation.errors import GatewayError
from kappa.resources.package import PACKAGE_MAX_BYTES
from tests.unit.gateway.lambda_model import parsed, request_body


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return e\n")
    return buffer.getvalue()


ZIP = a_zip()


def test_a_create_request_maps_lambdas_fields_to_the_functions() -> None:
    name, wanted = create_request({
        "FunctionName": "team/hello", "Role": "arn:aws:iam::1:role/x", "Runtime": "python3.12",
        "Handler": "app.handler", "MemorySize": 256, "Timeout": 10,
        "Environment": {"Variables": {"B": "2", "A": "1"}},
        "Code": {"ZipFile": base64.b64encode(ZIP).decode()}, "Publish": True,
    })  # fmt: skip
    assert name == "team/hello"
    assert wanted.spec == {
        "runtime": "python3.12",
        "handler": "app.handler",
        "memoryMB": 256,
        "timeoutSeconds": 10,
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    }
    assert wanted.code == CodeRequest(archive=ZIP, publish=True)


def test_an_image_takes_the_image_runtime_path() -> None:
    assert update_code_request({"ImageUri": "kappa.local/x:1"}) == CodeRequest(
        image="kappa.local/x:1"
    )


def refused(body: dict[str, Any]) -> str:
    with pytest.raises(GatewayError) as error:
        create_request(body)
    assert (error.value.status, error.value.error_type) == (400, "InvalidParameterValueException")
    return error.value.message


ZIPPED = base64.b64encode(ZIP).decode()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"Code": {"ZipFile": ZIPPED}}, "FunctionName is required"),
        ({"FunctionName": "f"}, "Code is required"),
        ({"FunctionName": "f", "Code": {"S3Bucket": "b", "S3Key": "k"}}, "Kappa has no S3"),
        ({"FunctionName": "f", "Code": {}}, "exactly one of ZipFile and ImageUri"),
        ({"FunctionName": "f", "Code": {"ZipFile": ZIPPED, "ImageUri": "x"}}, "exactly one"),
        ({"FunctionName": "f", "Code": {"ZipFile": "not base64!"}}, "not base64"),
        ({"FunctionName": "f", "Code": {"ZipFile": base64.b64encode(b"text").decode()}},
         "not a zip"),
        ({"FunctionName": "f", "Code": {"ZipFile": "AAA=AAAA"}}, "not base64"),
        ({"FunctionName": "f", "Code": {"ZipFile": "UEsD\nBA=="}}, "not base64"),
        ({"FunctionName": "f", "Code": {"ZipFile": ["UEsDBA=="]}}, "base64 of a zip"),
        ({"FunctionName": "f", "Code": {"ImageUri": 7}}, "image reference"),
        ({"FunctionName": "f", "Code": {"ZipFile": ZIPPED}, "MemorySize": "big"},
         "MemorySize must be a whole number"),
        ({"FunctionName": "f", "Code": {"ZipFile": ZIPPED}, "Timeout": True},
         "Timeout must be a whole number"),
        ({"FunctionName": "f", "Code": {"ZipFile": ZIPPED}, "Environment": {"Variables": {"A": 1}}},
         "Environment.Variables"),
        ({"FunctionName": "f", "Code": {"ZipFile": ZIPPED}, "Publish": "yes"}, "Publish"),
        ({"FunctionName": "f" * 300, "Code": {"ZipFile": ZIPPED}}, "FunctionName"),
    ],
)  # fmt: skip
def test_a_hostile_or_wrong_create_request_is_refused_saying_what_to_fix(
    body: dict[str, Any], says: str
) -> None:
    assert says in refused(body)


def test_a_zip_past_lambdas_50_mb_is_413_before_it_is_decoded() -> None:
    body = {"FunctionName": "f", "Code": {"ZipFile": "A" * (ZIP_BASE64_MAX + 4)}}
    with pytest.raises(GatewayError) as error:
        create_request(body)
    assert (error.value.status, error.value.error_type) == (413, "RequestTooLargeException")


def test_lambdas_largest_zip_fits_the_limits() -> None:
    assert len(base64.b64encode(b"\0" * PACKAGE_MAX_BYTES)) == ZIP_BASE64_MAX
    assert CODE_BODY_MAX > ZIP_BASE64_MAX


def test_a_configuration_update_sets_only_what_it_names() -> None:
    assert configuration_fields({"Timeout": 30}) == {"timeoutSeconds": 30}
    assert configuration_fields({}) == {}
    assert configuration_fields({"Environment": {"Variables": {}}}) == {"env": []}


# ------------------------------------------------------------------ DurableConfig


def test_durable_config_as_boto3_sends_it_becomes_spec_durable() -> None:
    body = request_body("CreateFunction", {
        "FunctionName": "team/order", "Role": "r", "Runtime": "python3.13",
        "Handler": "app.handler", "Code": {"ZipFile": ZIP},
        "DurableConfig": {"ExecutionTimeout": 86400, "RetentionPeriodInDays": 30},
    })  # fmt: skip
    _, wanted = create_request(body)
    assert wanted.spec["durable"] == {"executionTimeoutSeconds": 86400, "retentionPeriodInDays": 30}


def test_durable_config_retains_14_days_unless_told_and_an_empty_kms_key_is_none() -> None:
    body = request_body(
        "UpdateFunctionConfiguration",
        {"FunctionName": "order", "DurableConfig": {"ExecutionTimeout": 60, "KMSKeyArn": ""}},
    )
    assert configuration_fields(body) == {
        "durable": {"executionTimeoutSeconds": 60, "retentionPeriodInDays": 14}
    }
    assert "durable" not in configuration_fields({"Timeout": 3})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("ExecutionTimeout", 1, id="timeout-low"),
        pytest.param("ExecutionTimeout", 31_622_400, id="timeout-high"),
        pytest.param("RetentionPeriodInDays", 1, id="retention-low"),
        pytest.param("RetentionPeriodInDays", 90, id="retention-high"),
    ],
)
def test_durable_config_takes_lambdas_bounds(field: str, value: int) -> None:
    config = {"ExecutionTimeout": 60, field: value}
    durable = durable_fields({"DurableConfig": config})
    assert durable is not None
    assert value in durable.values()


@pytest.mark.parametrize(
    ("config", "says"),
    [
        pytest.param({"ExecutionTimeout": 0}, "ExecutionTimeout must be a whole number from 1 "
                     "to 31622400, not 0", id="timeout-zero"),
        pytest.param({"ExecutionTimeout": 31_622_401}, "from 1 to 31622400", id="timeout-high"),
        pytest.param({"ExecutionTimeout": 60, "RetentionPeriodInDays": 0},
                     "RetentionPeriodInDays must be a whole number from 1 to 90", id="retention-0"),
        pytest.param({"ExecutionTimeout": 60, "RetentionPeriodInDays": 91}, "from 1 to 90",
                     id="retention-91"),
        pytest.param({"ExecutionTimeout": "60"}, "whole number", id="timeout-string"),
        pytest.param({"ExecutionTimeout": True}, "whole number", id="timeout-bool"),
        pytest.param({"ExecutionTimeout": 60.5}, "whole number", id="timeout-fraction"),
        pytest.param({"RetentionPeriodInDays": 7}, "ExecutionTimeout is required", id="no-timeout"),
        pytest.param({}, "ExecutionTimeout is required", id="empty"),
        pytest.param([60], "DurableConfig must be an object", id="not-an-object"),
        pytest.param({"ExecutionTimeout": 60, "KMSKeyArn": 7}, "KMSKeyArn must be a string",
                     id="kms-not-a-string"),
    ],
)  # fmt: skip
def test_a_wrong_durable_config_is_refused_saying_what_to_fix(config: object, says: str) -> None:
    body = {"FunctionName": "f", "Code": {"ZipFile": ZIPPED}, "DurableConfig": config}
    assert says in refused(body)


def test_a_kms_key_is_refused_saying_why_and_boto3_reads_the_refusal() -> None:
    body = request_body("CreateFunction", {
        "FunctionName": "order", "Role": "r", "Code": {"ZipFile": ZIP},
        "DurableConfig": {"ExecutionTimeout": 60,
                          "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc"},
    })  # fmt: skip
    with pytest.raises(GatewayError) as error:
        create_request(body)
    status, headers, rendered = error.value.render()
    read = parsed("CreateFunction", rendered, status, headers)
    assert read["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert read["Error"]["Code"] == "InvalidParameterValueException"
    message = read["Error"]["Message"]
    assert "KMSKeyArn is not supported" in message
    assert "NATS JetStream" in message
    assert "leave KMSKeyArn out" in message
