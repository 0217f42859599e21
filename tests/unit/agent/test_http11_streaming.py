import h11
import pytest

from kappa.agent.http11 import BadRequestError, Request, Response, ServerConnection, Wait
from kappa.agent.response_stream import is_streaming

STREAMED_HEAD = (
    b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nHost: a\r\n"
    b"Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
    b"Trailer: Lambda-Runtime-Function-Error-Type\r\n\r\n"
)


def body_steps(connection: ServerConnection) -> list[bytes | dict[str, str] | Wait]:
    steps: list[bytes | dict[str, str] | Wait] = []
    while True:
        step = connection.next_body()
        steps.append(step)
        if not isinstance(step, bytes):
            return steps


def test_a_streamed_request_is_given_at_its_head_and_its_body_piece_by_piece() -> None:
    connection = ServerConnection(max_body=10, stream_if=is_streaming)
    connection.receive(STREAMED_HEAD)
    request = connection.next_request()
    assert isinstance(request, Request)
    assert connection.streaming
    assert request.body == b""
    assert body_steps(connection) == [Wait.DATA]
    connection.receive(b"6\r\nfirst;\r\n")
    assert body_steps(connection) == [b"first;", Wait.DATA]
    # Past max_body: a streamed body is not the buffered path's to bound.
    connection.receive(b"e\r\nsecond;second;\r\n0\r\nLambda-Runtime-Function-Error-Type: E\r\n\r\n")
    assert body_steps(connection) == [
        b"second;second;",
        {"lambda-runtime-function-error-type": "E"},
    ]
    connection.response_bytes(Response(202), close=False)
    assert connection.next_cycle()
    assert not connection.streaming


def test_other_requests_on_a_streaming_listener_are_read_whole() -> None:
    connection = ServerConnection(max_body=100, stream_if=is_streaming)
    connection.receive(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
    request = connection.next_request()
    assert isinstance(request, Request)
    assert request.body == b"hi"
    assert not connection.streaming


def test_a_buffered_chunked_body_keeps_its_trailers() -> None:
    connection = ServerConnection(max_body=100)
    connection.receive(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: Boom\r\n\r\n"
    )
    request = connection.next_request()
    assert isinstance(request, Request)
    assert request.body == b"abc"
    assert request.trailers == {"lambda-runtime-function-error-type": "Boom"}


def test_a_malformed_streamed_body_is_a_bad_request() -> None:
    connection = ServerConnection(max_body=10, stream_if=is_streaming)
    connection.receive(STREAMED_HEAD + b"zz\r\nnot a chunk\r\n")
    assert isinstance(connection.next_request(), Request)
    with pytest.raises(BadRequestError):
        body_steps(connection)


def test_a_streamed_response_is_chunked_as_h11_reads_it() -> None:
    connection = ServerConnection(max_body=10)
    connection.receive(b"POST /invoke HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(connection.next_request(), Request)
    wire = b"".join(
        [
            connection.stream_head_bytes(Response(200, headers=[("X-A", "1")]), close=False),
            connection.stream_data_bytes(b"one"),
            connection.stream_data_bytes(b"two"),
            connection.stream_end_bytes(),
        ]
    )
    client = h11.Connection(h11.CLIENT)
    client.send(
        h11.Request(
            method="POST", target="/invoke", headers=[("Host", "a"), ("Content-Length", "0")]
        )
    )
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    events = []
    while (event := client.next_event()) is not h11.NEED_DATA:
        events.append(event)
        if isinstance(event, h11.EndOfMessage):
            break
    response = events[0]
    assert isinstance(response, h11.Response)
    assert (b"transfer-encoding", b"chunked") in list(response.headers)
    assert b"".join(bytes(e.data) for e in events if isinstance(e, h11.Data)) == b"onetwo"
    assert connection.next_cycle()
