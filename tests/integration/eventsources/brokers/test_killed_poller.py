"""A poller SIGKILLed mid-batch loses nothing: what it fetched and never acked comes back."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from typing import Any

from kappa.eventsources.source import Record
from tests.integration.brokers import REPO
from tests.integration.eventsources.brokers.broker_harness import (
    Harness,
    drive,
    message_body,
    payload_of,
)

# What makes the broker hand a dead consumer's records to another one quickly:
# NATS redelivers after the consumer's ack wait, Redis entries are claimed once idle.
# Kafka reassigns after the group's session timeout; RabbitMQ requeues on disconnect.
_FAST_RECOVERY: dict[str, dict[str, Any]] = {
    "nats": {"ack_wait_seconds": 2.0},
    "redis": {"claim_idle_ms": 1000},
}
_CHILD_OPTIONS: dict[str, dict[str, Any]] = {"nats": {"ack_wait_seconds": 2.0}}


def test_poller_killed_mid_batch_loses_nothing(harness: Harness) -> None:
    count, batch_size = 20, 6
    group = f"g-{harness.name}"
    asyncio.run(harness.publish([message_body(i) for i in range(count)]))
    block = harness.block()
    child = subprocess.Popen(
        [
            sys.executable, "-m", "tests.integration.eventsources.brokers.poller_process",
            harness.module_name, type(block).__name__, block.model_dump_json(by_alias=True),
            group, str(batch_size), json.dumps(_CHILD_OPTIONS.get(harness.kind, {})),
        ],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        fetched = json.loads(child.stdout.readline())["fetched"]
        acked = json.loads(child.stdout.readline())["acked"]
    finally:
        child.send_signal(signal.SIGKILL)
        _, stderr = child.communicate(timeout=30)
    assert len(fetched) > len(acked) == 2, stderr

    async def recover() -> list[Record]:
        config = harness.config(batch_size=batch_size, group=group)
        source = await harness.open(config, **_FAST_RECOVERY.get(harness.kind, {}))

        async def succeed(batch: list[Record]) -> set[str]:
            return set()

        try:
            outcome = await drive(
                source, succeed, batch_size=batch_size, until_done=count - len(acked), timeout=90
            )
        finally:
            await source.close()
        return outcome.done

    done = asyncio.run(recover())
    numbers = sorted(json.loads(payload_of(harness, r))["n"] for r in done)
    ids = {r.id for r in done}
    assert set(fetched) - set(acked) <= ids  # in hand when killed: delivered again
    assert not set(acked) & ids  # acked before the kill: never again
    assert len(numbers) == count - len(acked) == len(set(numbers))
