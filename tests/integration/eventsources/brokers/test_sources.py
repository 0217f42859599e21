"""Each source against its real broker, driven through the Source protocol (harness.drive)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from kappa.eventsources.source import Record
from tests.integration.eventsources.brokers.broker_harness import (
    KEYS,
    Harness,
    drive,
    message_body,
    payload_of,
)


def _numbers_per_key(harness: Harness, records: list[Record]) -> dict[int, list[int]]:
    per_key: dict[int, list[int]] = defaultdict(list)
    for record in records:
        n = json.loads(payload_of(harness, record))["n"]
        per_key[n % KEYS].append(n)
    return per_key


def test_all_messages_delivered_once_in_batches_of_at_most_batch_size(harness: Harness) -> None:
    count, batch_size = 40, 7

    async def scenario() -> None:
        await harness.publish([message_body(i) for i in range(count)])
        config = harness.config(batch_size=batch_size)
        source = await harness.open(config)
        try:

            async def succeed(batch: list[Record]) -> set[str]:
                event = harness.module.SOURCE.shape(batch, harness.context(source, config))
                json.dumps(event)  # every event is JSON
                return set()

            outcome = await drive(source, succeed, batch_size=batch_size, until_done=count)
            assert await source.fetch(batch_size, 0.5) == []  # nothing left, nothing twice
            backlog = await source.backlog()
        finally:
            await source.close()
        assert all(1 <= len(b) <= batch_size for b in outcome.batches)
        assert len(outcome.batches) >= count // batch_size
        numbers = [json.loads(payload_of(harness, r))["n"] for r in outcome.done]
        assert sorted(numbers) == list(range(count))
        # Without failures every source keeps the publish order per key.
        assert all(ns == sorted(ns) for ns in _numbers_per_key(harness, outcome.done).values())
        assert backlog in (0, None) if harness.kind == "rabbitmq" else backlog == 0

    asyncio.run(scenario())


def test_failing_record_is_retried_then_sent_to_the_failure_destination(harness: Harness) -> None:
    count, batch_size, poison, max_attempts = 12, 5, 4, 3

    async def scenario() -> None:
        await harness.publish([message_body(i) for i in range(count)])
        config = harness.config(batch_size=batch_size)
        source = await harness.open(config)
        destination = await harness.module.open_failure_destination(config, harness.dlq)
        seen: list[list[int]] = []

        async def fail_poison(batch: list[Record]) -> set[str]:
            seen.append([json.loads(payload_of(harness, r))["n"] for r in batch])
            return {r.id for r in batch if json.loads(payload_of(harness, r))["n"] == poison}

        try:
            outcome = await drive(
                source, fail_poison, batch_size=batch_size, until_done=count,
                max_attempts=max_attempts, destination=destination,
            )  # fmt: skip
        finally:
            await destination.close()
            await source.close()
        done = [json.loads(payload_of(harness, r))["n"] for r in outcome.done]
        assert sorted(done) == [n for n in range(count) if n != poison]
        assert [json.loads(payload_of(harness, r))["n"] for r in outcome.dead] == [poison]
        assert sum(poison in batch for batch in seen) == max_attempts
        (body, headers), *_ = await harness.dead_letters(1)
        assert json.loads(body)["n"] == poison
        assert headers["kappa-failure-condition"] == "RetryAttemptsExhausted"
        assert headers["kappa-function-error"] == "Unhandled"
        assert headers["kappa-approximate-invoke-count"] == str(max_attempts)
        assert headers["kappa-source-record"] == outcome.dead[0].id
        if harness.kind != "rabbitmq":
            # Ordered sources: nothing of the poison's key ran after it before it left.
            per_key = _numbers_per_key(harness, outcome.done)
            assert all(ns == sorted(ns) for ns in per_key.values())

    asyncio.run(scenario())


def test_an_ordered_source_hands_back_what_it_released_before_anything_later(
    stream_harness: Harness,
) -> None:
    # One key, so every record after a released one is "later of its key". Round after
    # round the first fetched is acked and the rest released: the next fetch must start
    # with what was released (for NATS: the nak must be handled before the next fetch).
    harness = stream_harness
    count, batch_size = 100, 2

    async def scenario() -> tuple[list[int], int]:
        await harness.publish([json.dumps({"n": i, "key": 0}).encode() for i in range(count)])
        source = await harness.open(harness.config(batch_size=batch_size))
        acked: list[int] = []
        released = 0
        try:
            expected_first: str | None = None
            while len(acked) < count:
                fetched = await source.fetch(batch_size, 5)
                assert fetched, f"nothing fetched after {acked}"
                if expected_first is not None:
                    assert fetched[0].id == expected_first, (acked, fetched[0].id, expected_first)
                await source.ack(fetched[:1])
                await source.release(fetched[1:])
                released += len(fetched) - 1
                expected_first = fetched[1].id if len(fetched) > 1 else None
                acked.append(json.loads(payload_of(harness, fetched[0]))["n"])
        finally:
            await source.close()
        return acked, released

    acked, released = asyncio.run(scenario())
    assert acked == list(range(count))
    assert released > 0
