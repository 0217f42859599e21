import base64
import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.agent.invoke import MAX_CLIENT_CONTEXT_BYTES, decode_client_context, new_request_id


@given(st.binary(min_size=16, max_size=16))
def test_new_request_id_is_a_uuid4(random16: bytes) -> None:
    request_id = new_request_id(random16)
    parsed = uuid.UUID(request_id)
    assert parsed.version == 4
    assert str(parsed) == request_id


def encode(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def test_client_context_is_decoded_to_compact_ascii_json() -> None:
    context = {"custom": {"name": "Zoë"}, "env": {"a\nb": "line\r\nbreak"}}
    decoded = decode_client_context(encode(context))
    assert decoded.isascii()
    assert "\n" not in decoded
    assert "\r" not in decoded
    assert json.loads(decoded) == context


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("not base64!", id="not-base64"),
        pytest.param(base64.b64encode(b"{not json").decode(), id="not-json"),
        pytest.param(encode([1, 2]), id="not-an-object"),
        pytest.param(encode({"x": "y" * MAX_CLIENT_CONTEXT_BYTES}), id="too-long"),
    ],
)
def test_bad_client_context_is_refused(header: str) -> None:
    with pytest.raises(ValueError, match="Client context must be"):
        decode_client_context(header)
