"""Event source benchmark for the brokers: Kafka, RabbitMQ, NATS JetStream, Redis Streams.

For each broker (started privately on loopback, as the integration tests do):

- into a no-op function: N messages published first, then a real
  `kappa poller --mapping` starts, feeding one agent (4 slots, awslambdaric)
  through the real gateway (bench/eventsources.py's stack) with batchSize 100;
  events/s = N / (poller start -> its status reports N records processed);
- the source's ceiling: the same N drained by the source alone in batches of
  ``--batch-size``, each batch's Lambda event built and JSON-encoded, acked,
  no function invoked;
- latency at low load: one message at a time, ``--probes`` times, from when
  it was sent (the record's own stamp: Kafka's CreateTime from the producer,
  the NATS store time, the Redis entry id; for RabbitMQ a ``sent_ms`` header
  the publisher sets) to the moment ``fetch`` returned it (p50/p95, ms; epoch
  milliseconds on one machine's clock), the source polling with a 1 s wait.

    .venv/bin/python bench/eventsources_brokers.py [--messages 5000]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from eventsources import function_stack  # noqa: E402 - bench/eventsources.py's gateway + agent
from tests.integration.brokers import (  # noqa: E402
    Broker,
    start_kafka,
    start_nats,
    start_rabbitmq,
    start_redis,
)
from tests.integration.eventsources.brokers.broker_harness import (  # noqa: E402
    Harness,
    KafkaHarness,
    NatsHarness,
    RabbitMqHarness,
    RedisHarness,
    drive,
    message_body,
)
from tests.integration.eventsources.harness import start_poller, wait_until  # noqa: E402

from kappa.eventsources.source import Record  # noqa: E402

_BLOCKS = {"kafka": "kafka", "rabbitmq": "rabbitmq", "nats": "nats", "redis": "redisStreams"}

BROKERS: dict[str, tuple[Any, type[Harness], str]] = {
    "kafka": (start_kafka, KafkaHarness, "kafka"),
    "rabbitmq": (start_rabbitmq, RabbitMqHarness, "rabbitmq"),
    "nats": (start_nats, NatsHarness, "nats"),
    "redis": (start_redis, RedisHarness, "redis_streams"),
}


def into_function(harness: Harness, messages: int, work: Path) -> float:
    """events/s through a real poller, gateway and no-op function."""
    asyncio.run(harness.publish([message_body(i) for i in range(messages)]))
    spec: dict[str, Any] = {
        "functionRef": {"name": "fn"},
        _BLOCKS[harness.kind]: harness.block().model_dump(
            mode="json", by_alias=True, exclude_none=True
        ),
        "batchSize": 100,
    }
    if harness.kind != "rabbitmq":
        spec["startingPosition"] = "TRIM_HORIZON"
    mapping = {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "EventSourceMapping",
        "metadata": {"name": harness.name, "namespace": "default"},
        "spec": spec,
    }
    work.mkdir(parents=True)
    with function_stack(work, "noop") as gateway:
        started = time.monotonic()
        poller = start_poller(work, mapping, gateway)
        try:
            wait_until(
                lambda: any(s.get("recordsProcessed", 0) >= messages for s in poller.statuses()),
                600,
                "every record processed",
            )
            elapsed = time.monotonic() - started
        finally:
            poller.stop()
    return messages / elapsed


async def throughput(harness: Harness, messages: int, batch_size: int) -> float:
    await harness.publish([message_body(i) for i in range(messages)])
    config = harness.config(batch_size=batch_size)
    source = await harness.open(config)
    context = harness.context(source, config)

    async def no_op(batch: list[Record]) -> set[str]:
        json.dumps(harness.module.shape(batch, context)).encode()
        return set()

    try:
        started = time.perf_counter()
        await drive(source, no_op, batch_size=batch_size, until_done=messages, timeout=600)
        elapsed = time.perf_counter() - started
    finally:
        await source.close()
    return messages / elapsed


async def latency(harness: Harness, probes: int) -> list[float]:
    config = harness.config(batch_size=10)
    source = await harness.open(config)
    await source.fetch(10, 0.5)  # joined (Kafka: partitions assigned) before the first probe
    samples = []
    try:
        for i in range(probes):
            publish = asyncio.create_task(harness.publish([message_body(i)]))
            got: list[Record] = []
            while not got:
                got = await source.fetch(10, 1.0)
            fetched_ms = time.time() * 1000
            sent_ms = int(got[0].attributes.get("sent_ms", got[0].timestamp_ms))
            samples.append(fetched_ms - sent_ms)
            await source.ack(got)
            await publish
    finally:
        await source.close()
    return samples


async def measure(harness: Harness, args: argparse.Namespace) -> dict[str, float]:
    await harness.create()
    rate = await throughput(harness, args.messages, args.batch_size)
    harness.name += "-fn"
    await harness.create()
    function_rate = await asyncio.to_thread(
        into_function, harness, args.messages, args.work / harness.name
    )
    harness.name += "-lat"
    await harness.create()
    samples = sorted(await latency(harness, args.probes))
    return {
        "function_events_per_s": function_rate,
        "events_per_s": rate,
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[int(len(samples) * 0.95) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--brokers", default=",".join(BROKERS))
    args = parser.parse_args()
    print(
        f"{args.messages} messages, batches of {args.batch_size}; latency: {args.probes} probes, "
        "one message at a time"
    )
    print(
        f"{'broker':<10} {'start (s)':>9} {'into fn/s':>9} {'ceiling/s':>9} "
        f"{'p50 (ms)':>9} {'p95 (ms)':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="kappa-bench-brokers-") as tmp:
        args.work = Path(tmp) / "work"
        for name in args.brokers.split(","):
            start, harness_class, module = BROKERS[name]
            began = time.perf_counter()
            broker: Broker = start(Path(tmp) / name)
            startup = time.perf_counter() - began
            try:
                harness = harness_class(kind=name, module_name=module, broker=broker)
                figures = asyncio.run(measure(harness, args))
            finally:
                broker.stop()
            print(
                f"{name:<10} {startup:>9.1f} {figures['function_events_per_s']:>9.0f} "
                f"{figures['events_per_s']:>9.0f} "
                f"{figures['p50_ms']:>9.1f} {figures['p95_ms']:>9.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
