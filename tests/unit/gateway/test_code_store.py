import pytest

from kappa.gateway.code_store import _document, _url
from kappa.invocation.errors import GatewayError

SHA = "a" * 64
URL = f"http://10.0.0.9:8080/v1/packages/t/{SHA}?sig={'b' * 64}"


@pytest.mark.parametrize("status", [200, 201])
def test_a_stored_package_gives_its_url(status: int) -> None:
    assert _url(status, {"url": URL, "sha256": SHA}, SHA) == URL


@pytest.mark.parametrize(
    ("status", "document", "expected"),
    [
        pytest.param(429, {"message": "busy"}, 429, id="busy-is-a-throttle"),
        pytest.param(507, {"message": "full"}, 500, id="full"),
        pytest.param(401, {"message": "who"}, 500, id="the-store-refused-the-gateway"),
        pytest.param(201, {"url": URL, "sha256": "c" * 64}, 500, id="another-package"),
        pytest.param(201, {"sha256": SHA}, 500, id="no-url"),
        pytest.param(201, {"url": "x" * 5000, "sha256": SHA}, 500, id="url-too-long"),
    ],
)
def test_anything_else_is_an_error_and_no_url(
    status: int, document: dict[str, object], expected: int
) -> None:
    with pytest.raises(GatewayError) as error:
        _url(status, document, SHA)
    assert error.value.status == expected


@pytest.mark.parametrize("text", [b"", b"not json", b"[1, 2]", b"[" * 100_000])
def test_an_answer_that_is_not_a_json_object_is_read_as_empty(text: bytes) -> None:
    assert _document(text) == {}


def test_the_stores_answer_is_read() -> None:
    assert _document(b'{"url": "u", "sha256": "s"}') == {"url": "u", "sha256": "s"}
