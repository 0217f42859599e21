"""The error code of an SQS answer, from a body the endpoint chose (untrusted)."""

import pytest

from kappa.eventsources.sqs import error_code


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        pytest.param(b'{"__type": "com.amazonaws.sqs#QueueDoesNotExist"}', {}, "QueueDoesNotExist",
                     id="json-protocol"),
        pytest.param(b"", {"x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"},
                     "AWS.SimpleQueueService.NonExistentQueue", id="query-error-header"),
        pytest.param(b"<html>oops</html>", {}, "HTTP 500", id="not-json"),
        pytest.param(b"[" * 100_000, {}, "HTTP 500", id="nested-past-the-parser"),
        pytest.param(b'["a list"]', {}, "HTTP 500", id="not-an-object"),
        pytest.param(b'{"code": "' + b"x" * 200_000 + b'"}', {}, "HTTP 500",
                     id="longer-than-an-error-body-is-not-read-whole"),
    ],
)  # fmt: skip
def test_error_code_never_raises(body: bytes, headers: dict[str, str], code: str) -> None:
    assert error_code(500, body, headers) == code
