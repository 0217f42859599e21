import asyncio

import pytest

from kappa.agent.response_stream import ResponseStream, Streams, is_streaming


async def _read_all(stream: ResponseStream) -> list[bytes]:
    return [piece async for piece in stream.pieces()]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"lambda-runtime-function-response-mode": "streaming"}, True),
        ({"lambda-runtime-function-response-mode": " Streaming "}, True),
        ({"lambda-runtime-function-response-mode": "buffered"}, False),
        ({}, False),
    ],
)
def test_streaming_mode_is_named_by_its_header(
    headers: dict[str, str],
    expected: bool,  # noqa: FBT001 - a table column
) -> None:
    assert is_streaming(headers) is expected


def test_pieces_come_out_in_order_until_the_end() -> None:
    async def scenario() -> list[bytes]:
        stream = ResponseStream()
        reader = asyncio.ensure_future(_read_all(stream))
        for piece in (b"a", b"", b"b", b"c"):
            assert await stream.put(piece)
        stream.end()
        assert await stream.put(b"late")  # after the end: dropped
        return await reader

    assert asyncio.run(scenario()) == [b"a", b"b", b"c"]


def test_a_writer_waits_for_a_slow_reader_and_nothing_is_lost() -> None:
    async def scenario() -> tuple[bool, list[bytes]]:
        stream = ResponseStream()
        for index in range(16):
            await stream.put(b"%d," % index)
        blocked = asyncio.ensure_future(stream.put(b"16,"))
        await asyncio.sleep(0)
        waited = not blocked.done()
        reader = asyncio.ensure_future(_read_all(stream))
        await blocked
        stream.end()
        return waited, await reader

    waited, pieces = asyncio.run(scenario())
    assert waited
    assert b"".join(pieces) == b"".join(b"%d," % index for index in range(17))


def test_past_the_limit_the_stream_ends_and_says_so() -> None:
    async def scenario() -> tuple[list[bool], list[bytes], bool]:
        stream = ResponseStream(limit=5)
        reader = asyncio.ensure_future(_read_all(stream))
        accepted = [await stream.put(piece) for piece in (b"abc", b"def", b"g")]
        return accepted, await reader, stream.oversize

    accepted, pieces, oversize = asyncio.run(scenario())
    assert accepted == [True, False, False]
    assert pieces == [b"abc"]
    assert oversize


def test_a_reader_gone_releases_a_waiting_writer_and_drops_the_rest() -> None:
    async def scenario() -> bool:
        stream = ResponseStream()
        for _ in range(16):
            await stream.put(b"x")
        blocked = asyncio.ensure_future(stream.put(b"y"))
        await asyncio.sleep(0)
        stream.abandon()
        await asyncio.wait_for(blocked, 5)  # a deadline against a hang only
        assert await stream.put(b"z")
        stream.end()
        return blocked.result()

    assert asyncio.run(scenario())


def test_streams_are_found_by_request_id_until_closed() -> None:
    async def scenario() -> None:
        streams = Streams()
        stream = streams.open("r1")
        assert streams.get("r1") is stream
        assert streams.get("r2") is None
        streams.close("r1")
        streams.close("r1")
        assert streams.get("r1") is None

    asyncio.run(scenario())


def test_the_start_is_told_once_with_the_content_type() -> None:
    async def scenario() -> str:
        stream = ResponseStream()
        stream.start("text/plain")
        stream.start("application/json")
        return await stream.started

    assert asyncio.run(scenario()) == "text/plain"
