"""Poison records on each real broker: payloads nested deeper than the JSON parser takes.

Anyone who can write to a broker can send one. Filter patterns see such a payload as
text (kappa.eventsources.filter_payload), as Lambda does with data that is not JSON:
it cannot match a pattern on JSON fields, so it is filtered out and acknowledged
without an invocation, and the poller goes on to the next record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.eventsources.brokers.broker_harness import (
    Harness,
    delivered_records,
    poller_mapping,
)
from tests.integration.eventsources.harness import Poller
from tests.integration.gateway.gateway_harness import Gateway
from tests.integration.waiting import wait_until

POISON = (
    b"[" * 100_000,  # never closed, 100 kB
    b"[" * 5_000 + b"]" * 5_000,  # JSON, five times deeper than the parser takes
    b'{"a": ' * 20_000 + b"1" + b"}" * 20_000,  # JSON objects, over 64 KiB
)
GOOD = {"n": 1, "key": 0, "keep": True}

_KEEP = {
    "kafka": '{"value": {"keep": [true]}}',
    "sqs": '{"body": {"keep": [true]}}',
    "rabbitmq": '{"data": {"keep": [true]}}',
    "nats": '{"data": {"keep": [true]}}',
    "redis": '{"fields": {"payload": {"keep": [true]}}}',
}


@pytest.fixture(params=list(_KEEP))
def source(request: pytest.FixtureRequest, harness_of: Callable[[str], Harness]) -> Harness:
    """A fresh topic, queue or stream on each real broker in turn."""
    return harness_of(request.param)


def test_poison_records_are_filtered_out_as_text_and_the_next_record_is_delivered(
    source: Harness, broker_gateway: Gateway, pollers: Callable[..., Poller], task_root: Path
) -> None:
    assert all(len(p) > 64 * 1024 for p in POISON[::2])
    # One ordering key: the poison records come first on the same partition or subject.
    asyncio.run(source.publish([*POISON, json.dumps(GOOD).encode()]))
    poller = pollers(
        poller_mapping(source, filterCriteria={"filters": [{"pattern": _KEEP[source.kind]}]}),
        broker_gateway,
    )
    wait_until(lambda: delivered_records(task_root), 60, "the record after the poison")
    wait_until(
        lambda: 'kappa_esm_records_total{fate="filtered"} 3.0' in poller.metrics(),
        30,
        "the poison records filtered out",
    )
    # Acknowledged, not left for redelivery: the source reports nothing waiting.
    wait_until(
        lambda: [s for s in poller.statuses() if s.get("backlog") == 0 and s["recordsProcessed"]],
        60,
        "an empty backlog",
    )
    assert [r["payload"] for r in delivered_records(task_root)] == [GOOD]
    assert poller.reader.process.poll() is None  # still polling
    assert "ERROR kappa" not in poller.reader.output()
