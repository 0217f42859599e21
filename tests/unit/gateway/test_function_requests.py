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
    update_code_request,
)
from kappa.invocation.errors import GatewayError
from kappa.resources.package import PACKAGE_MAX_BYTES


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
