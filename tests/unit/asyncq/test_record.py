import pytest

from kappa.asyncq.record import (
    RecordCondition,
    Response,
    invocation_record,
    parse_payload,
    timestamp,
)

ARN = "arn:aws:lambda:us-east-1:default:function:echo"


def test_success_record_has_lambdas_shape() -> None:
    record = invocation_record(
        request_id="r-1", function_arn=ARN, condition=RecordCondition.SUCCESS, invoke_count=1,
        payload=b'{"a": 1}', response=Response(b'{"ok": true}'), now_ms=1_573_755_365_568,
    )  # fmt: skip
    assert record == {
        "version": "1.0",
        "timestamp": "2019-11-14T18:16:05.568Z",
        "requestContext": {
            "requestId": "r-1",
            "functionArn": ARN + ":$LATEST",
            "condition": "Success",
            "approximateInvokeCount": 1,
        },
        "requestPayload": {"a": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": {"ok": True},
    }


def test_failure_record_names_the_function_error() -> None:
    record = invocation_record(
        request_id="r-2", function_arn=ARN, condition=RecordCondition.RETRIES_EXHAUSTED,
        invoke_count=3, payload=b"", now_ms=0,
        response=Response(b'{"errorType": "ValueError"}', function_error="Unhandled"),
    )  # fmt: skip
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {"errorType": "ValueError"}
    assert record["requestPayload"] is None


def test_a_function_that_never_answered_has_no_response_context() -> None:
    record = invocation_record(
        request_id="r-3", function_arn=ARN, condition=RecordCondition.EVENT_AGE_EXCEEDED,
        invoke_count=0, payload=b"[1]", response=None, now_ms=0,
    )  # fmt: skip
    assert "responseContext" not in record
    assert "responsePayload" not in record


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        pytest.param(b"", None, id="empty-is-null"),
        pytest.param(b'"text"', "text", id="json-string"),
        pytest.param(b"not json", "not json", id="plain-text-kept"),
        pytest.param(b"\xff", "\ufffd", id="bytes-replaced"),
    ],
)
def test_payloads_are_parsed_when_json(payload: bytes, parsed: object) -> None:
    assert parse_payload(payload) == parsed


def test_timestamp_pads_milliseconds() -> None:
    assert timestamp(5) == "1970-01-01T00:00:00.005Z"


def test_a_published_versions_record_names_the_version_that_ran() -> None:
    record = invocation_record(
        request_id="r-4", function_arn=ARN + ":7", condition=RecordCondition.SUCCESS,
        invoke_count=1, payload=b"{}", response=Response(b"{}"), now_ms=0,
    )  # fmt: skip
    assert record["requestContext"]["functionArn"] == ARN + ":7"
    assert record["responseContext"]["executedVersion"] == "7"
