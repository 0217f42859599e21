"""A batch held longer than the redelivery wait stays with its live poller (NATS, Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.eventsources.brokers.broker_harness import Harness, message_body

# Short waits for the test: a dead poller's records would move after 2 s / 1 s.
_WAITS: dict[str, dict[str, Any]] = {
    "nats": {"ack_wait_seconds": 2.0},
    "redis": {"claim_idle_ms": 1000},
}


@pytest.mark.parametrize("kind", list(_WAITS))
def test_records_in_hand_are_not_handed_to_another_poller(kind: str, harness_of: Any) -> None:
    harness: Harness = harness_of(kind)

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        await harness.publish([message_body(i) for i in range(3)])
        config = harness.config(batch_size=10)
        holder = await harness.open(config, **_WAITS[kind])
        other = await harness.open(
            harness.config(batch_size=10, group=config.group), **_WAITS[kind]
        )
        try:
            held = await holder.fetch(10, 2.0)
            await asyncio.sleep(5)  # a slow function: longer than the waits above
            stolen = await other.fetch(10, 1.0)
            await holder.ack(held)
            after = await other.fetch(10, 1.0)
        finally:
            await other.close()
            await holder.close()
        return [r.id for r in held], [r.id for r in stolen], [r.id for r in after]

    held, stolen, after = asyncio.run(scenario())
    assert len(held) == 3
    assert stolen == after == []
