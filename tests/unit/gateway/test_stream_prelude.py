import json

import pytest

from kappa.gateway.events import INTERNAL_SERVER_ERROR
from kappa.gateway.stream_prelude import DELIMITER, MAX_PRELUDE, PreludeReader, prelude_head

PRELUDE = json.dumps(
    {"statusCode": 201, "headers": {"x-custom": "yes", "content-type": "text/plain"},
     "cookies": ["a=1"]}
).encode()  # fmt: skip


def test_the_head_and_the_first_bytes_come_from_any_cut() -> None:
    wire = PRELUDE + DELIMITER + b"hello"
    for cut in range(1, len(wire)):
        reader = PreludeReader()
        first = reader.feed(wire[:cut])
        found = first if first is not None else reader.feed(wire[cut:])
        assert found is not None
        head, rest = found
        assert head.status == 201
        assert ("x-custom", "yes") in head.headers
        assert ("content-type", "text/plain") in head.headers
        assert ("Set-Cookie", "a=1") in head.headers
        assert head.body == b""
        expected_rest = b"hello" if first is None else wire[len(PRELUDE) + 8 : cut]
        assert rest == expected_rest


def test_no_status_is_200() -> None:
    assert prelude_head(b'{"headers": {"content-type": "text/html"}}').status == 200


@pytest.mark.parametrize(
    "prelude",
    [
        b"not json",
        b"[1, 2]",
        b'{"statusCode": 99}',
        b'{"statusCode": 200, "headers": {"bad name": "x"}}',
        b'{"statusCode": 200, "headers": {"x": "a\\r\\nInjected: 1"}}',
    ],
)
def test_a_malformed_prelude_is_a_502(prelude: bytes) -> None:
    head = prelude_head(prelude)
    assert head.status == 502
    assert head.body == INTERNAL_SERVER_ERROR


def test_framing_headers_of_the_prelude_are_dropped() -> None:
    head = prelude_head(b'{"statusCode": 200, "headers": {"content-length": "5", "x": "y"}}')
    assert [name.lower() for name, _ in head.headers] == ["x", "content-type"]


def test_a_prelude_without_end_is_cut_at_its_bound() -> None:
    reader = PreludeReader()
    assert reader.feed(b"{" + b" " * (MAX_PRELUDE - 1)) is None
    found = reader.feed(b"  ")
    assert found is not None
    assert found[0].status == 502
