import json

import pytest

from kappa.base import relay_frames
from kappa.base.relay_frames import End, FrameReader


def test_data_and_end_frames_read_back_in_order_from_any_split() -> None:
    wire = b"".join(
        [
            *relay_frames.data(b"first;"),
            *relay_frames.data(b"second;"),
            relay_frames.end({"X-Amz-Function-Error": "Unhandled"}, b'{"errorType":"E"}'),
        ]
    )
    for cut in range(1, len(wire)):
        reader = FrameReader()
        items = reader.feed(wire[:cut]) + reader.feed(wire[cut:])
        assert items == [
            b"first;",
            b"second;",
            End({"X-Amz-Function-Error": "Unhandled"}, b'{"errorType":"E"}'),
        ]
        assert reader.ended


def test_a_large_piece_is_cut_into_bounded_frames() -> None:
    piece = bytes(range(256)) * 2049  # a little over 2 * MAX_DATA
    frames = relay_frames.data(piece)
    items = FrameReader().feed(b"".join(frames))
    assert [len(item) for item in items if isinstance(item, bytes)] == [
        relay_frames.MAX_DATA,
        relay_frames.MAX_DATA,
        len(piece) - 2 * relay_frames.MAX_DATA,
    ]
    assert b"".join(item for item in items if isinstance(item, bytes)) == piece


def test_an_empty_piece_makes_no_frame() -> None:
    assert relay_frames.data(b"") == []


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(b"X\x00\x00\x00\x01a", id="unknown kind"),
        pytest.param(b"D\xff\xff\xff\xff", id="data frame over its bound"),
        pytest.param(b"E\x00\x10\x00\x01", id="end frame over its bound"),
        pytest.param(b"E\x00\x00\x00\x03{x}", id="end not JSON"),
        pytest.param(b"E\x00\x00\x00\x02[]", id="end not an object"),
        pytest.param(b'E\x00\x00\x00\x17{"headers":{"a":1},"b":1}', id="end headers not text"),
        pytest.param(relay_frames.end({}) + b"D", id="bytes after the end"),
    ],
)
def test_what_is_not_frames_is_refused(wire: bytes) -> None:
    reader = FrameReader()
    reader.feed(wire)
    assert reader.error is not None


def test_frames_before_the_nonsense_are_still_given_and_nothing_after() -> None:
    reader = FrameReader()
    items = reader.feed(b"".join(relay_frames.data(b"ok")) + b"Z\x00\x00\x00\x00")
    assert items == [b"ok"]
    assert reader.error is not None
    assert reader.feed(b"".join(relay_frames.data(b"more"))) == []


def test_nothing_may_follow_the_end_in_a_later_read() -> None:
    reader = FrameReader()
    reader.feed(relay_frames.end({"a": "b"}))
    assert reader.error is None
    assert reader.feed(b"D") == []
    assert reader.error == "bytes after the end frame"


def test_an_error_body_that_is_not_utf8_still_ends_the_stream() -> None:
    (end,) = FrameReader().feed(relay_frames.end({}, b"\xff"))
    assert isinstance(end, End)
    assert end.body == "\ufffd".encode()
    json.dumps(end.headers)
