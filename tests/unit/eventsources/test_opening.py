import asyncio

import pytest

from kappa.eventsources.opening import closed_on_error
from kappa.eventsources.source import SourceError, SourceUnreachableError


class _Connection:
    def __init__(self) -> None:
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1


def _translate(error: Exception) -> SourceError:
    return SourceUnreachableError(f"translated: {error}")


def test_a_broker_error_closes_the_connection_and_is_translated() -> None:
    connection = _Connection()

    async def go() -> None:
        async with closed_on_error(connection.close, (OSError,), _translate):
            raise OSError("refused")

    with pytest.raises(SourceUnreachableError, match="translated: refused") as caught:
        asyncio.run(go())
    assert connection.closed == 1
    assert isinstance(caught.value.__cause__, OSError)


def test_other_errors_pass_through_and_success_keeps_the_connection() -> None:
    connection = _Connection()

    async def fails() -> None:
        async with closed_on_error(connection.close, (OSError,), _translate):
            raise KeyError("not a broker error")

    with pytest.raises(KeyError):
        asyncio.run(fails())

    async def succeeds() -> None:
        async with closed_on_error(connection.close, (OSError,), _translate):
            await asyncio.sleep(0)

    asyncio.run(succeeds())
    assert connection.closed == 0
