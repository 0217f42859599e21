import pytest

from kappa.agent.http11 import (
    DISCARD_LIMIT,
    MAX_HEAD_BYTES,
    BadRequestError,
    Request,
    Response,
    ServerConnection,
    Wait,
)


def feed(data: bytes, *, max_body: int = 1024) -> tuple[ServerConnection, Request | Wait]:
    connection = ServerConnection(max_body=max_body)
    connection.receive(data)
    return connection, connection.next_request()


def parse(data: bytes, *, max_body: int = 1024) -> Request:
    _, step = feed(data, max_body=max_body)
    assert isinstance(step, Request)
    return step


def test_a_request_head_is_parsed() -> None:
    request = parse(
        b"POST /invoke?x=1 HTTP/1.1\r\nHost: a\r\nX-Kappa-Request-Id:  r1 \r\n"
        b"Content-Length: 2\r\n\r\nhi"
    )
    assert (request.method, request.path, request.query) == ("POST", "/invoke", "x=1")
    assert request.headers == {"host": "a", "x-kappa-request-id": "r1", "content-length": "2"}
    assert request.body == b"hi"
    assert not request.oversize


def test_repeated_headers_are_joined() -> None:
    request = parse(b"GET / HTTP/1.1\r\nHost: a\r\nAccept: a\r\naccept: b\r\n\r\n")
    assert request.headers["accept"] == "a, b"


def test_repeated_equal_content_length_is_accepted() -> None:
    request = parse(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
    )
    assert request.headers["content-length"] == "5"
    assert request.body == b"hello"


def test_a_chunked_body_is_joined() -> None:
    request = parse(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n"
    )
    assert request.body == b"abc0123456789"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", id="length"),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            id="chunked",
        ),
    ],
)
def test_a_body_over_the_limit_is_dropped_and_the_connection_kept(data: bytes) -> None:
    connection, request = feed(data, max_body=4)
    assert isinstance(request, Request)
    assert (request.oversize, request.body) == (True, b"")
    connection.response_bytes(Response(413), close=False)
    assert connection.next_cycle()


def test_a_body_too_large_to_drop_is_answered_unread_and_the_connection_closed() -> None:
    head = f"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {DISCARD_LIMIT + 1}\r\n\r\n"
    connection, request = feed(head.encode())
    assert isinstance(request, Request)
    assert request.oversize
    sent = b"".join(connection.response_bytes(Response(413), close=False))
    assert b"Connection: close" in sent
    assert not connection.next_cycle()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"GET /\r\n\r\n", id="no-version"),
        pytest.param(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", id="http2"),
        pytest.param(b"GET  HTTP/1.1\r\nHost: a\r\n\r\n", id="no-target"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n", id="header-without-colon"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", id="empty-name"),
        pytest.param(b"GET / HTTP/1.1\r\n : x\r\nHost: a\r\n\r\n", id="leading-space"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nName : x\r\n\r\n", id="space-before-colon"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            id="conflicting-length",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
            id="negative-chunk-size",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n",
            id="underscore-in-chunk-size",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            id="transfer-encoding-and-content-length",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", id="not-chunked"
        ),
        pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", id="bad-length"),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
            id="chunk-without-crlf",
        ),
    ],
)
def test_bad_requests_are_refused_with_400_and_close(data: bytes) -> None:
    connection = ServerConnection(max_body=1024)
    connection.receive(data)
    with pytest.raises(BadRequestError) as refused:
        connection.next_request()
    assert refused.value.status == 400
    assert connection.error_bytes(400) == (
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )


def test_a_head_over_the_limit_is_431() -> None:
    connection = ServerConnection(max_body=1024)
    connection.receive(b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES)
    with pytest.raises(BadRequestError) as refused:
        connection.next_request()
    assert refused.value.status == 431


def test_the_response_is_rendered_with_its_length() -> None:
    connection, _ = feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    sent = connection.response_bytes(
        Response(202, b'{"status":"OK"}', [("Content-Type", "application/json")]), close=False
    )
    assert b"".join(sent) == (
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\nContent-Type: application/json\r\n\r\n"
        b'{"status":"OK"}'
    )
    assert connection.next_cycle()


def test_a_closing_response_says_so() -> None:
    connection, _ = feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert b"".join(connection.response_bytes(Response(413), close=True)) == (
        b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    assert not connection.next_cycle()


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", True, id="http11"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", False, id="close"),
        pytest.param(b"GET / HTTP/1.0\r\n\r\n", False, id="http10"),
    ],
)
def test_keep_alive(head: bytes, keep_alive: bool) -> None:  # noqa: FBT001 - a table column
    connection, _ = feed(head)
    connection.response_bytes(Response(200), close=False)
    assert connection.next_cycle() is keep_alive


def test_requests_follow_one_another_on_a_connection() -> None:
    connection, first = feed(
        b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c"
    )
    assert isinstance(first, Request)
    assert first.path == "/a"
    connection.response_bytes(Response(200), close=False)
    assert connection.next_cycle()
    second = connection.next_request()
    assert isinstance(second, Request)
    assert second.path == "/b"
    connection.response_bytes(Response(200), close=False)
    assert connection.next_cycle()
    assert connection.next_request() is Wait.DATA
    assert connection.in_head
    assert not connection.idle  # part of the third head is here


def test_the_state_between_requests() -> None:
    connection = ServerConnection(max_body=1024)
    assert (connection.in_head, connection.idle) == (True, True)
    assert connection.next_request() is Wait.DATA
    connection.receive(b"")
    assert connection.next_request() is Wait.CLOSED


def test_100_continue_is_sent_only_when_the_client_waits_for_it() -> None:
    connection, step = feed(
        b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    )
    assert step is Wait.DATA
    assert not connection.in_head
    assert connection.continue_bytes() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert connection.continue_bytes() == b""
    connection.receive(b"hi")
    request = connection.next_request()
    assert isinstance(request, Request)
    assert request.body == b"hi"
