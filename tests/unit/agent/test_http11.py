import pytest

from kappa.agent.http11 import BadRequestError, parse_head, render_head


def test_parse_head() -> None:
    method, target, version, headers = parse_head(
        b"POST /invoke?x=1 HTTP/1.1\r\nHost: a\r\nX-Kappa-Request-Id:  r1 \r\nContent-Length: 2"
    )
    assert (method, target, version) == ("POST", "/invoke?x=1", "HTTP/1.1")
    assert headers == {"host": "a", "x-kappa-request-id": "r1", "content-length": "2"}


def test_repeated_headers_are_joined() -> None:
    _, _, _, headers = parse_head(b"GET / HTTP/1.1\r\nAccept: a\r\naccept: b")
    assert headers["accept"] == "a, b"


def test_repeated_equal_content_length_is_accepted() -> None:
    _, _, _, headers = parse_head(b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5")
    assert headers["content-length"] == "5"


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"GET /", id="no-version"),
        pytest.param(b"GET / HTTP/2.0", id="http2"),
        pytest.param(b"GET  HTTP/1.1", id="no-target"),
        pytest.param(b"GET / HTTP/1.1\r\nno colon", id="header-without-colon"),
        pytest.param(b"GET / HTTP/1.1\r\n : x", id="empty-name"),
        pytest.param(b"GET / HTTP/1.1\r\nName : x", id="space-before-colon"),
        pytest.param(
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", id="conflicting-length"
        ),
    ],
)
def test_bad_heads_are_refused(head: bytes) -> None:
    with pytest.raises(BadRequestError):
        parse_head(head)


def test_render_head() -> None:
    assert render_head(202, [("Content-Type", "application/json")], 15, close=False) == (
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\nContent-Type: application/json\r\n\r\n"
    )
    assert render_head(413, [], 0, close=True) == (
        b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
