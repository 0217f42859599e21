import asyncio
import logging

import pytest

from kappa.eventsources.keepalive import Keepalive


def test_the_action_repeats_through_errors_until_stopped(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    log = logging.getLogger("test.keepalive")

    async def action() -> None:
        calls.append(len(calls))
        if len(calls) == 2:
            raise OSError("broker hiccup")

    async def go() -> int:
        keepalive = Keepalive(0.001, action, (OSError,), log=log, failed="test: keeping failed")
        while len(calls) < 4:
            await asyncio.sleep(0.001)
        await keepalive.stop()
        stopped_at = len(calls)
        await asyncio.sleep(0.01)
        return len(calls) - stopped_at

    with caplog.at_level(logging.WARNING, logger="test.keepalive"):
        assert asyncio.run(go()) == 0
    assert [r.getMessage() for r in caplog.records] == ["test: keeping failed: broker hiccup"]
