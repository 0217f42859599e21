"""Event source benchmark for the brokers: Kafka, RabbitMQ, NATS JetStream, Redis Streams.

For each broker (started privately on loopback, as the integration tests do):

- throughput: N messages published up front, then drained by the source in
  batches of ``--batch-size``; each batch's Lambda event is built and
  JSON-encoded (what the runner sends to the gateway), then acked; no function
  is invoked, so this is the source's ceiling, events/s;
- latency at low load: one message at a time, ``--probes`` times, from when
  it was sent (the record's own stamp: Kafka's CreateTime from the producer,
  the NATS store time, the Redis entry id; for RabbitMQ a ``sent_ms`` header
  the publisher sets) to the moment ``fetch`` returned it (p50/p95, ms; epoch
  milliseconds on one machine's clock), the source polling with a 1 s wait.

    PYTHONPATH=. .venv/bin/python bench/eventsources_brokers.py [--messages 5000]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.integration.brokers import Broker, start_kafka, start_nats, start_rabbitmq, start_redis
from tests.integration.eventsources.brokers.broker_harness import (
    Harness,
    KafkaHarness,
    NatsHarness,
    RabbitMqHarness,
    RedisHarness,
    drive,
    message_body,
)

from kappa.eventsources.source import Record

BROKERS: dict[str, tuple[Any, type[Harness], str]] = {
    "kafka": (start_kafka, KafkaHarness, "kafka"),
    "rabbitmq": (start_rabbitmq, RabbitMqHarness, "rabbitmq"),
    "nats": (start_nats, NatsHarness, "nats"),
    "redis": (start_redis, RedisHarness, "redis_streams"),
}


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
    harness.name += "-lat"
    await harness.create()
    samples = sorted(await latency(harness, args.probes))
    return {
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
    print(f"{'broker':<10} {'start (s)':>9} {'events/s':>9} {'p50 (ms)':>9} {'p95 (ms)':>9}")
    with tempfile.TemporaryDirectory(prefix="kappa-bench-brokers-") as tmp:
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
                f"{name:<10} {startup:>9.1f} {figures['events_per_s']:>9.0f} "
                f"{figures['p50_ms']:>9.1f} {figures['p95_ms']:>9.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
