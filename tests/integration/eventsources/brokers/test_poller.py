"""Each broker source run by the real `kappa poller`, feeding a real handler through the gateway."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.eventsources.brokers.broker_harness import (
    KEYS,
    Harness,
    delivered_records,
    poller_mapping,
)
from tests.integration.eventsources.harness import Poller, read_jsonl
from tests.integration.gateway.gateway_harness import Gateway
from tests.integration.waiting import wait_until


def _bodies(count: int, **extra: dict[str, Any]) -> list[bytes]:
    """Messages {"n": i, "key": i % KEYS}, with ``extra[str(i)]`` merged into message i."""
    return [
        json.dumps({"n": i, "key": i % KEYS, **extra.get(str(i), {})}).encode()
        for i in range(count)
    ]


def _in_order_per_key(records: list[dict[str, Any]]) -> bool:
    per_key: dict[int, list[int]] = defaultdict(list)
    for r in records:
        per_key[r["payload"]["key"]].append(r["payload"]["n"])
    return all(ns == sorted(ns) for ns in per_key.values())


def test_every_message_reaches_the_function_in_batches_of_at_most_batch_size(
    harness: Harness, broker_gateway: Gateway, pollers: Callable[..., Poller], task_root: Path
) -> None:
    count = 30
    asyncio.run(harness.publish(_bodies(count)))
    poller = pollers(
        poller_mapping(harness, batchSize=4, maximumBatchingWindowSeconds=1), broker_gateway
    )
    wait_until(lambda: len(delivered_records(task_root)) >= count, 90, "every message")
    batches = read_jsonl(task_root / "broker_batches.jsonl")
    assert all(1 <= len(b["records"]) <= 4 for b in batches)
    assert {b["source"] for b in batches} == {
        "kafka": {"SelfManagedKafka"}, "rabbitmq": {"aws:rmq"},
        "nats": {"kappa:nats"}, "redis": {"kappa:redis-streams"},
    }[harness.kind]  # fmt: skip
    delivered = delivered_records(task_root)
    assert sorted(r["payload"]["n"] for r in delivered) == list(range(count))
    assert _in_order_per_key(delivered)
    status = wait_until(
        lambda: [s for s in poller.statuses() if s.get("recordsProcessed") == count],
        20,
        "a status report of every record",
    )[-1]
    assert status["connected"] is True
    assert status["lastProcessingResult"] == "OK"


def test_a_reported_failure_is_retried_then_dead_lettered_on_the_broker(
    harness: Harness, broker_gateway: Gateway, pollers: Callable[..., Poller], task_root: Path
) -> None:
    count, poison = 9, 4
    asyncio.run(harness.publish(_bodies(count, **{str(poison): {"fail": True}})))
    pollers(
        poller_mapping(
            harness,
            batchSize=3,
            functionResponseTypes=["ReportBatchItemFailures"],
            maximumRetryAttempts=2,
            destinationConfig={"onFailure": {"target": harness.dlq}},
        ),
        broker_gateway,
    )
    (body, headers), *_ = asyncio.run(harness.dead_letters(1))
    assert json.loads(body)["n"] == poison
    assert headers["kappa-failure-condition"] == "RetryAttemptsExhausted"
    wait_until(
        lambda: {r["payload"]["n"] for r in delivered_records(task_root)} == set(range(count)),
        60,
        "every other message",
    )
    delivered = delivered_records(task_root)
    assert sum(r["payload"]["n"] == poison for r in delivered) == 3  # first try and 2 retries
    if harness.kind != "rabbitmq":
        # The poison's key waited for it (checkpoint): nothing later of its key came first.
        last_poison = max(i for i, r in enumerate(delivered) if r["payload"]["n"] == poison)
        later_same_key = [n for n in range(poison + 1, count) if n % KEYS == poison % KEYS]
        assert all(
            any(i > last_poison for i, r in enumerate(delivered) if r["payload"]["n"] == n)
            for n in later_same_key
        )


@pytest.mark.parametrize("kind", ["kafka", "rabbitmq"])
def test_a_poller_killed_between_invoke_and_commit_has_its_batch_redelivered(
    kind: str,
    request: pytest.FixtureRequest,
    broker_gateway: Gateway,
    pollers: Callable[..., Poller],
    task_root: Path,
) -> None:
    # NATS (ack wait) and Redis (claim idle) hand a dead poller's records over after
    # 30 s: the source-level test (test_killed_poller.py) shows them with short waits.
    harness: Harness = request.getfixturevalue("harness_of")(kind)
    count = 12
    asyncio.run(harness.publish(_bodies(count, **{"0": {"hold": True}})))
    mapping = poller_mapping(harness, batchSize=4)
    first = pollers(mapping, broker_gateway)
    held = wait_until(
        lambda: [
            b for b in read_jsonl(task_root / "broker_batches.jsonl")
            if any(r["payload"].get("hold") for r in b["records"])
        ],
        30,
        "the batch that holds",
    )[0]  # fmt: skip
    # The function holds that batch until `release` exists: its invoke has not returned,
    # so a poller that commits only after the invoke has not committed it.
    first.kill()
    (task_root / "release").touch()
    pollers(mapping, broker_gateway)
    wait_until(
        lambda: {r["payload"]["n"] for r in delivered_records(task_root)} == set(range(count)),
        90,
        "every message after the kill",
    )
    in_flight = [r["payload"]["n"] for r in held["records"]]
    wait_until(
        lambda: all(
            [r["payload"]["n"] for r in delivered_records(task_root)].count(n) >= 2
            for n in in_flight
        ),
        90,
        f"the batch in flight at the kill ({in_flight}) delivered again",
    )


_KEEP = {
    "kafka": '{"value": {"keep": [true]}}',
    "rabbitmq": '{"data": {"keep": [true]}}',
    "nats": '{"data": {"keep": [true]}}',
    "redis": '{"fields": {"payload": {"keep": [true]}}}',
}


def test_filtered_out_records_are_acknowledged_without_invoking(
    harness: Harness, broker_gateway: Gateway, pollers: Callable[..., Poller], task_root: Path
) -> None:
    count = 10
    kept = {str(i): {"keep": True} for i in range(count) if i % 2 == 0}
    asyncio.run(harness.publish(_bodies(count, **kept)))
    poller = pollers(
        poller_mapping(harness, filterCriteria={"filters": [{"pattern": _KEEP[harness.kind]}]}),
        broker_gateway,
    )
    wait_until(lambda: len(delivered_records(task_root)) >= 5, 60, "the kept records")
    # The dropped ones were acknowledged too: the source reports nothing waiting.
    wait_until(
        lambda: [
            s for s in poller.statuses() if s.get("backlog") == 0 and s.get("recordsProcessed")
        ],
        60,
        "an empty backlog",
    )
    assert sorted(r["payload"]["n"] for r in delivered_records(task_root)) == [0, 2, 4, 6, 8]


def test_a_function_error_is_bisected_down_to_the_bad_record(
    stream_harness: Harness,
    broker_gateway: Gateway,
    pollers: Callable[..., Poller],
    task_root: Path,
) -> None:
    harness = stream_harness
    count, poison = 8, 5
    asyncio.run(harness.publish(_bodies(count, **{str(poison): {"raise": True}})))
    pollers(
        poller_mapping(
            harness,
            batchSize=count,
            maximumBatchingWindowSeconds=1,
            bisectBatchOnFunctionError=True,
            maximumRetryAttempts=1,
            destinationConfig={"onFailure": {"target": harness.dlq}},
        ),
        broker_gateway,
    )
    (body, headers), *_ = asyncio.run(harness.dead_letters(1))
    assert json.loads(body)["n"] == poison
    assert headers["kappa-function-error"] == "Unhandled"
    wait_until(
        lambda: (
            {
                r["payload"]["n"]
                for b in read_jsonl(task_root / "broker_batches.jsonl")
                if not b["raised"]
                for r in b["records"]
            }
            == set(range(count)) - {poison}
        ),
        60,
        "every other record in a batch that succeeded",
    )
    raised = [b for b in read_jsonl(task_root / "broker_batches.jsonl") if b["raised"]]
    assert len(raised[0]["records"]) > len(raised[-1]["records"]) == 1  # halved down to it
