"""The event-stream encoder, read back by botocore's own parser (what boto3 runs)."""

import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import parsers
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.session import get_session

from kappa.gateway import event_stream

pytestmark = pytest.mark.unit


class _Raw:
    """A body as botocore reads it: ``stream()`` yields byte strings."""

    def __init__(self, *parts: bytes) -> None:
        self._parts = parts

    def stream(self) -> Iterator[bytes]:
        yield from self._parts


def boto3_events(*parts: bytes) -> list[dict[str, Any]]:
    """The events ``invoke_with_response_stream``'s EventStream yields for these bytes."""
    operation = (
        get_session().get_service_model("lambda").operation_model("InvokeWithResponseStream")
    )
    shape = operation.output_shape.members["EventStream"]
    stream = EventStream(_Raw(*parts), shape, parsers.EventStreamJSONParser(), operation.name)
    return list(stream)


def test_a_payload_chunk_and_a_clean_end_read_as_boto3_does() -> None:
    data = b"".join([*event_stream.payload_chunks(b"hello "), event_stream.invoke_complete()])
    assert boto3_events(data) == [
        {"PayloadChunk": {"Payload": b"hello "}},
        {"InvokeComplete": {}},
    ]


def test_an_error_end_carries_its_code_details_and_log() -> None:
    data = event_stream.invoke_complete("Error", "boom", "U1RBUlQ=")
    assert boto3_events(data) == [
        {"InvokeComplete": {"ErrorCode": "Error", "ErrorDetails": "boom", "LogResult": "U1RBUlQ="}}
    ]


def test_long_payloads_are_cut_and_split_reads_still_parse() -> None:
    payload = bytes(range(256)) * 1000  # 256,000 bytes
    data = b"".join(event_stream.payload_chunks(payload, size=100_000))
    # Delivered to the parser in awkward pieces, as a socket would.
    pieces = [data[i : i + 777] for i in range(0, len(data), 777)]
    events = boto3_events(*pieces)
    sizes = [len(event["PayloadChunk"]["Payload"]) for event in events]
    assert sizes == [100_000, 100_000, 56_000]
    assert b"".join(event["PayloadChunk"]["Payload"] for event in events) == payload


def test_an_empty_payload_has_no_chunk() -> None:
    assert list(event_stream.payload_chunks(b"")) == []


def test_the_framing_is_the_specified_one() -> None:
    data = event_stream.message([(":event-type", "X")], b"abc")
    total, headers_length = struct.unpack(">II", data[:8])
    assert total == len(data)
    assert headers_length == 1 + len(":event-type") + 1 + 2 + 1
    assert struct.unpack(">I", data[8:12])[0] == zlib.crc32(data[:8])
    assert struct.unpack(">I", data[-4:])[0] == zlib.crc32(data[:-4])
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    (decoded,) = list(buffer)
    assert decoded.headers == {":event-type": "X"}
    assert decoded.payload == b"abc"


def test_a_corrupted_message_is_refused_by_the_parser() -> None:
    data = bytearray(b"".join(event_stream.payload_chunks(b"payload")))
    data[-6] ^= 0xFF  # a payload byte
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(data))
    with pytest.raises(ChecksumMismatch):
        list(buffer)


def test_headers_out_of_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="out of bounds"):
        event_stream.message([("x" * 256, "v")], b"")
    with pytest.raises(ValueError, match="out of bounds"):
        event_stream.message([("n", "v" * 70_000)], b"")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"errorType":"TypeError","errorMessage":"x is not a function"}',
         ("TypeError", "x is not a function")),
        (b'{"errorMessage":"no type"}', ("Unhandled", "no type")),
        (b'"just a string"', ("Unhandled", '"just a string"')),
        (b"\xff not json", ("Unhandled", "\ufffd not json")),
    ],
)  # fmt: skip
def test_function_error_fields(body: bytes, expected: tuple[str, str]) -> None:
    assert event_stream.function_error_fields(body, "Unhandled") == expected
    json.dumps(expected)  # both go into the InvokeComplete JSON
