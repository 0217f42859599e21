"""Stream sources (not RabbitMQ: a queue has none): a new consumer starts where it is told."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from kappa.eventsources.source import Record
from tests.integration.eventsources.brokers.broker_harness import (
    Harness,
    drive,
    message_body,
    payload_of,
)


@pytest.mark.parametrize(
    ("position", "expected"), [("LATEST", range(5, 10)), ("TRIM_HORIZON", range(10))]
)
def test_new_consumer_starts_at_its_starting_position(
    stream_harness: Harness, position: str, expected: range
) -> None:
    harness = stream_harness

    async def scenario() -> list[int]:
        await harness.publish([message_body(i) for i in range(5)])
        config = dataclasses.replace(harness.config(batch_size=10), starting_position=position)
        source = await harness.open(config)
        try:
            # Joined (Kafka: partitions assigned, position set) before the newer messages.
            early: list[Record] = []
            async with asyncio.timeout(30):
                while await source.backlog() is None:
                    early += await source.fetch(10, 0.2)
            early += await source.fetch(10, 0.2)
            await harness.publish([message_body(i) for i in range(5, 10)])

            async def succeed(batch: list[Record]) -> set[str]:
                return set()

            rest = len(expected) - len(early)
            outcome = await drive(source, succeed, batch_size=10, until_done=rest)
            await source.ack(early)
        finally:
            await source.close()
        return sorted(json.loads(payload_of(harness, r))["n"] for r in [*early, *outcome.done])

    assert asyncio.run(scenario()) == list(expected)
