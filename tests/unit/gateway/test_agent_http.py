"""The agent client's answer parser: framing, bounds, and what it refuses (no sockets)."""

import pytest

from kappa.gateway.agent_http import (
    MAX_HEAD_BYTES,
    ConnectionLostError,
    ReplyTooLargeError,
    _Parser,
    _request_head,
)

pytestmark = pytest.mark.unit

PLAIN = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Kappa-Billed-Duration-Ms: 3\r\n"
    b'Content-Length: 10\r\n\r\n{"k": "v"}'
)
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n"
)


def feed_in_pieces(data: bytes, size: int, limit: int = 1 << 20) -> tuple[_Parser, list[object]]:
    parser = _Parser(limit)
    answers = [parser.feed(data[at : at + size]) for at in range(0, len(data), size)]
    return parser, [answer for answer in answers if answer is not None]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1 << 20])
def test_an_answer_framed_by_content_length_is_read_whole_however_it_is_cut(size: int) -> None:
    parser, answers = feed_in_pieces(PLAIN, size)
    assert len(answers) == 1
    answer = answers[0]
    assert answer.status == 200  # type: ignore[attr-defined]
    assert answer.body == b'{"k": "v"}'  # type: ignore[attr-defined]
    assert answer.headers["x-kappa-billed-duration-ms"] == "3"  # type: ignore[attr-defined]
    assert parser.keep_alive


@pytest.mark.parametrize("size", [1, 2, 5, 13, 1 << 20])
def test_a_chunked_answer_is_joined_and_its_trailers_dropped_however_it_is_cut(size: int) -> None:
    parser, answers = feed_in_pieces(CHUNKED, size)
    assert [a.body for a in answers] == [b"Wikipedia in\r\n\r\nchunks."]  # type: ignore[attr-defined]
    assert parser.keep_alive


def test_interim_answers_are_skipped() -> None:
    _, answers = feed_in_pieces(b"HTTP/1.1 100 Continue\r\n\r\n" + PLAIN, 1 << 20)
    assert [a.status for a in answers] == [200]  # type: ignore[attr-defined]


def test_connection_close_or_bytes_past_the_answer_end_the_connection_s_reuse() -> None:
    closing = PLAIN.replace(b"Content-Length", b"Connection: close\r\nContent-Length")
    parser, answers = feed_in_pieces(closing, 1 << 20)
    assert answers
    assert not parser.keep_alive
    parser, answers = feed_in_pieces(PLAIN + b"HTTP/1.1 200 OK\r\n", 1 << 20)
    assert answers
    assert not parser.keep_alive


def test_an_answer_without_framing_is_read_until_the_connection_ends() -> None:
    parser = _Parser(100)
    assert parser.feed(b"HTTP/1.1 200 OK\r\n\r\nsome") is None
    assert parser.feed(b" more") is None
    assert parser.until_close
    assert not parser.keep_alive
    assert parser.answer().body == b"some more"


def test_no_body_for_204() -> None:
    _, answers = feed_in_pieces(b"HTTP/1.1 204 No Content\r\n\r\n", 1 << 20)
    assert [a.body for a in answers] == [b""]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "data",
    [
        PLAIN,  # declared larger than the limit: refused before any byte of the body
        CHUNKED,  # chunks adding up past it
        b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 20,  # until the end, past it
    ],
)
def test_a_body_past_the_limit_is_refused(data: bytes) -> None:
    with pytest.raises(ReplyTooLargeError):
        feed_in_pieces(data, 1 << 20, limit=9)


@pytest.mark.parametrize(
    "data",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nName : value\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
        b"HTTP/1.1 200 OK\r\nX: " + b"y" * (MAX_HEAD_BYTES + 1),
    ],
)
def test_what_is_no_http_answer_fails_the_connection(data: bytes) -> None:
    with pytest.raises(ConnectionLostError):
        feed_in_pieces(data, 1 << 20)


def test_the_request_head_carries_the_headers_and_refuses_ones_that_would_split_it() -> None:
    head = _request_head("10.0.0.7:8080", "/invoke", 10, {"X-Kappa-Request-Id": "r-1"})
    assert head == (
        b"POST /invoke HTTP/1.1\r\nHost: 10.0.0.7:8080\r\nContent-Length: 10\r\n"
        b"X-Kappa-Request-Id: r-1\r\n\r\n"
    )
    for bad in ({"X-Trace": "a\r\nX-Evil: 1"}, {"X-Trace": "a\nb"}, {"X\rY": "v"}):
        with pytest.raises(ValueError, match="CR or LF"):
            _request_head("10.0.0.7:8080", "/invoke", 0, bad)
