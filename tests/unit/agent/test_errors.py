import json

import pytest

from kappa.agent.errors import (
    MAX_RESPONSE_BYTES,
    TERMINATION_MESSAGE_BYTES,
    LambdaError,
    exit_description,
    init_error_from_post,
    response_too_large_error,
    runtime_error_body,
    runtime_exit_error,
)


def test_lambda_error_body() -> None:
    body = LambdaError("Runtime.HandlerNotFound", "Handler 'x' missing").body()
    assert json.loads(body) == {
        "errorMessage": "Handler 'x' missing",
        "errorType": "Runtime.HandlerNotFound",
    }


def test_termination_message_fits_the_kubelets_4_kb() -> None:
    error = LambdaError("Runtime.ImportModuleError", 'long "quoted" line\n' * 1000)
    message = error.termination_message()
    assert len(message) <= TERMINATION_MESSAGE_BYTES
    parsed = json.loads(message)
    assert parsed["errorType"] == "Runtime.ImportModuleError"
    assert parsed["errorMessage"].startswith('long "quoted" line\n')
    assert parsed["errorMessage"].endswith("…")


def test_short_termination_message_is_the_body() -> None:
    error = LambdaError("Kappa.CodeChecksumMismatch", "sha256 differs")
    assert error.termination_message() == error.body()


@pytest.mark.parametrize(
    ("returncode", "text"),
    [
        pytest.param(0, "exit status 0", id="zero"),
        pytest.param(3, "exit status 3", id="status"),
        pytest.param(-9, "signal: killed", id="sigkill"),
        pytest.param(-11, "signal: segmentation fault", id="sigsegv"),
        pytest.param(-10, "signal: 10", id="unnamed"),
    ],
)
def test_exit_description_is_gos(returncode: int, text: str) -> None:
    assert exit_description(returncode) == text


@pytest.mark.parametrize(
    ("request_id", "returncode", "message"),
    [
        pytest.param(
            "id-1",
            3,
            "RequestId: id-1 Error: Runtime exited with error: exit status 3",
            id="invoke",
        ),
        pytest.param(None, 1, "Runtime exited with error: exit status 1", id="init"),
        pytest.param(None, 0, "Runtime exited without providing a reason", id="clean-exit"),
    ],
)
def test_runtime_exit_error(request_id: str | None, returncode: int, message: str) -> None:
    assert runtime_exit_error(request_id, returncode) == LambdaError("Runtime.ExitError", message)


def test_response_too_large_error_quotes_lambdas_limit() -> None:
    error = response_too_large_error()
    assert MAX_RESPONSE_BYTES == 6291556
    assert error.error_type == "Function.ResponseSizeTooLarge"
    assert "(6291556 bytes)" in error.message


AWSLAMBDARIC_ERROR = json.dumps(
    {"errorMessage": "boom", "errorType": "ValueError", "requestId": "r", "stackTrace": []}
).encode()


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        pytest.param(AWSLAMBDARIC_ERROR, None, json.loads(AWSLAMBDARIC_ERROR), id="awslambdaric"),
        pytest.param(
            b'{"errorMessage":"boom"}',
            "MyError",
            {"errorMessage": "boom", "errorType": "MyError"},
            id="type-from-header",
        ),
        pytest.param(
            b"plain text",
            "Shell.Failed",
            {"errorMessage": "plain text", "errorType": "Shell.Failed"},
            id="text",
        ),
        pytest.param(b"", None, {"errorMessage": "", "errorType": "Runtime.Unknown"}, id="empty"),
        pytest.param(
            b"[1, 2]",
            None,
            {"errorMessage": "[1, 2]", "errorType": "Runtime.Unknown"},
            id="not-an-object",
        ),
    ],
)
def test_runtime_error_body(body: bytes, header: str | None, expected: object) -> None:
    assert json.loads(runtime_error_body(body, header)) == expected


def test_runtime_error_body_passes_awslambdarics_bytes_through() -> None:
    assert runtime_error_body(AWSLAMBDARIC_ERROR, None) is AWSLAMBDARIC_ERROR


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        pytest.param(
            b'{"errorMessage":"Unable to import module","errorType":"Runtime.ImportModuleError"}',
            "Runtime.ImportModuleError",
            LambdaError("Runtime.ImportModuleError", "Unable to import module"),
            id="awslambdaric",
        ),
        pytest.param(
            b'{"errorMessage":"m","errorType":"FromBody"}',
            None,
            LambdaError("FromBody", "m"),
            id="type-from-body",
        ),
        pytest.param(b"oops", None, LambdaError("Runtime.Unknown", "oops"), id="text"),
    ],
)
def test_init_error_from_post(body: bytes, header: str | None, expected: LambdaError) -> None:
    assert init_error_from_post(body, header) == expected
