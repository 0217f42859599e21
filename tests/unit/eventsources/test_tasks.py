"""run_all: side-by-side coroutines end together, the first unexpected error ends them all."""

import asyncio

import pytest

from kappa.eventsources.tasks import run_all


def test_the_first_error_cancels_the_others_and_is_raised() -> None:
    cancelled: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("forever")
            raise

    async def fails() -> None:
        await asyncio.sleep(0)
        msg = "state not written"
        raise OSError(msg)

    async def go() -> None:
        # A deadline that only guards a hang: run_all must return on its own.
        async with asyncio.timeout(30):
            await run_all(forever(), fails())

    with pytest.raises(OSError, match="state not written"):
        asyncio.run(go())
    assert cancelled == ["forever"]


def test_all_returning_is_a_return() -> None:
    done: list[int] = []

    async def one(n: int) -> None:
        await asyncio.sleep(0)
        done.append(n)

    asyncio.run(run_all(one(1), one(2)))
    assert sorted(done) == [1, 2]
