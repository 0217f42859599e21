"""The durable handler's answer read into the decider's terms (durable/invocation_output.py)."""

import json

import pytest

from kappa.durable.decider import Failed, FunctionError, Pending, Succeeded
from kappa.durable.invocation_output import (
    INVALID_OUTPUT,
    OUTPUT_MAX_BYTES,
    function_error,
    read,
)
from kappa.durable.model import ErrorObject

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        pytest.param(
            b'{"Status":"SUCCEEDED","Result":"[1,2]"}', Succeeded("[1,2]"), id="succeeded"
        ),
        pytest.param(b'{"Status":"SUCCEEDED"}', Succeeded(None), id="succeeded-no-result"),
        pytest.param(
            b'{"Status":"FAILED","Error":{"ErrorType":"ValueError","ErrorMessage":"no"}}',
            Failed(ErrorObject(message="no", type="ValueError")),
            id="failed",
        ),
        pytest.param(b'{"Status":"FAILED"}', Failed(None), id="failed-no-error"),
        pytest.param(b'{"Status":"PENDING"}', Pending(), id="pending"),
    ],
)
def test_the_sdks_three_answers_are_read(body: bytes, answer: object) -> None:
    assert read(body) == answer


@pytest.mark.parametrize(
    ("body", "names"),
    [
        pytest.param(b'"just a string"', "is not an object", id="not-an-object"),
        pytest.param(b"{not json", "is not JSON", id="not-json"),
        pytest.param(b"\xff\xfe", "is not JSON", id="not-utf8"),
        pytest.param(b'{"Status":"DONE"}', "'DONE'", id="unknown-status"),
        pytest.param(b'{"statusCode":200}', "None", id="a-plain-handler"),
        pytest.param(b'{"Status":"SUCCEEDED","Result":7}', "Result", id="result-not-text"),
        pytest.param(b'{"Status":"FAILED","Error":[1]}', "Error", id="error-not-an-object"),
    ],
)
def test_anything_else_is_a_failed_invocation_naming_what_is_wrong(body: bytes, names: str) -> None:
    answer = read(body)
    assert isinstance(answer, FunctionError)
    assert answer.error.type == INVALID_OUTPUT
    assert names in (answer.error.message or "")


def test_an_oversized_answer_is_refused_before_it_is_parsed() -> None:
    body = b'{"Status":"SUCCEEDED","Result":"' + b"x" * OUTPUT_MAX_BYTES + b'"}'
    answer = read(body)
    assert isinstance(answer, FunctionError)
    assert "over" in (answer.error.message or "")


def test_a_function_error_keeps_lambdas_error_type_message_and_trace() -> None:
    body = json.dumps(
        {"errorType": "KeyError", "errorMessage": "'id'", "stackTrace": ["a.py:1", "b.py:2"]}
    ).encode()
    assert function_error(body) == FunctionError(
        ErrorObject(message="'id'", type="KeyError", stack_trace=("a.py:1", "b.py:2"))
    )


@pytest.mark.parametrize("body", [b"Segmentation fault", b"[1]", b""])
def test_a_function_error_not_in_lambdas_shape_is_unhandled_with_its_text(body: bytes) -> None:
    answer = function_error(body)
    assert answer.error.type == "Unhandled"
    assert answer.error.message == (body.decode() or None)
