"""Per-broker test harnesses and a minimal driver of the ``Source`` protocol.

The driver stands in for the runner (kappa.eventsources.runner, built on
another branch): it fetches batches, hands them to a handler that plays the
function, acks what succeeded and releases what failed — for ordered sources
the lowest failed record of a key and everything after it (Lambda's stream
checkpoint) — and sends a record that failed ``max_attempts`` times to the
failure destination, then acks it.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import nats
import redis.asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kappa.api.event_source_mapping import (
    KafkaSource,
    NatsSource,
    RabbitMqSource,
    RedisStreamsSource,
    SqsSource,
)
from kappa.eventsources.source import (
    EventContext,
    Failure,
    FailureCondition,
    Record,
    Source,
    SourceConfig,
)
from tests.integration.brokers import KafkaBroker, NatsServer, RabbitMqBroker, RedisServer
from tests.integration.eventsources.harness import ElasticMq, read_jsonl, sqs_client

KEYS = 3  # messages are spread over this many ordering keys (partitions, subjects)


def message_body(i: int) -> bytes:
    return json.dumps({"n": i, "key": i % KEYS}).encode()


def n_and_key(body: bytes) -> tuple[int | None, int]:
    """A message's ``n`` and ordering ``key``; (None, 0) for a body that is no JSON (poison)."""
    try:
        loaded = json.loads(body)
    except (ValueError, RecursionError):
        return None, 0
    return int(loaded["n"]), int(loaded["key"])


def source_config(block: Any, *, group: str, batch_size: int, consumer: str = "") -> SourceConfig:
    return SourceConfig(
        block=block,
        namespace="brokers-test",
        mapping_name=group,
        consumer_name=consumer or f"poller-{uuid.uuid4().hex[:8]}",
        group=group,
        batch_size=batch_size,
        region="us-east-1",
        starting_position="TRIM_HORIZON",
    )


@dataclass
class Harness:
    """What a test needs of one broker: a fresh source name, publish, read a DLQ target."""

    kind: str
    module_name: str
    broker: Any
    name: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")

    @property
    def module(self) -> Any:
        return importlib.import_module(f"kappa.eventsources.{self.module_name}")

    @property
    def dlq(self) -> str:
        return f"{self.name}-dlq"

    def block(self) -> Any:
        raise NotImplementedError

    async def create(self) -> None:
        """Create the topic/queue/stream and the DLQ target."""

    async def publish(self, bodies: Sequence[bytes]) -> None:
        raise NotImplementedError

    async def dead_letters(self, count: int) -> list[tuple[bytes, dict[str, str]]]:
        """The first ``count`` messages of the DLQ target: body and kappa-* headers."""
        raise NotImplementedError

    def config(self, *, batch_size: int, group: str = "", consumer: str = "") -> SourceConfig:
        return source_config(
            self.block(), group=group or f"g-{self.name}", batch_size=batch_size, consumer=consumer
        )

    async def open(self, config: SourceConfig, **options: Any) -> Source:
        source: Source = await self.module.open_source(config, **options)
        return source

    def context(self, source: Source, config: SourceConfig) -> EventContext:
        return EventContext(
            event_source_arn=source.event_source_arn,
            aws_region=config.region,
            function_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
            block=config.block,
        )


def _kappa_headers(pairs: Sequence[tuple[str, bytes | str]]) -> dict[str, str]:
    return {
        k: v.decode() if isinstance(v, bytes) else v for k, v in pairs if k.startswith("kappa-")
    }


@dataclass
class KafkaHarness(Harness):
    broker: KafkaBroker

    def block(self) -> KafkaSource:
        return KafkaSource(bootstrap_servers=(self.broker.bootstrap_servers,), topic=self.name)

    async def create(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.broker.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(self.name, KEYS, 1), NewTopic(self.dlq, 1, 1)])
        finally:
            await admin.close()

    async def publish(self, bodies: Sequence[bytes]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.broker.bootstrap_servers)
        await producer.start()
        try:
            for body in bodies:
                _, key = n_and_key(body)
                await producer.send(
                    self.name,
                    body,
                    key=f"k{key}".encode(),
                    partition=key,
                    headers=[("origin", b"harness"), ("bin", b"\x00\xff")],
                )
            await producer.flush()
        finally:
            await producer.stop()

    async def dead_letters(self, count: int) -> list[tuple[bytes, dict[str, str]]]:
        consumer = AIOKafkaConsumer(
            self.dlq, bootstrap_servers=self.broker.bootstrap_servers,
            auto_offset_reset="earliest", group_id=None,
        )  # fmt: skip
        await consumer.start()
        got: list[tuple[bytes, dict[str, str]]] = []
        try:
            async with asyncio.timeout(30):
                while len(got) < count:
                    batches = await consumer.getmany(timeout_ms=1000)
                    got += [
                        (m.value, _kappa_headers(list(m.headers)))
                        for ms in batches.values()
                        for m in ms
                    ]
        finally:
            await consumer.stop()
        return got


@dataclass
class RabbitMqHarness(Harness):
    broker: RabbitMqBroker

    def block(self) -> RabbitMqSource:
        return RabbitMqSource(url=self.broker.url, queue=self.name)

    async def _connection(self) -> aio_pika.abc.AbstractConnection:
        return await aio_pika.connect(self.broker.url.replace("amqp://", "amqp://guest:guest@"))

    async def create(self) -> None:
        async with await self._connection() as connection:
            channel = await connection.channel()
            await channel.declare_queue(self.name, durable=True)
            await channel.declare_queue(self.dlq, durable=True)

    async def publish(self, bodies: Sequence[bytes]) -> None:
        async with await self._connection() as connection:
            channel = await connection.channel()
            for body in bodies:
                n, _ = n_and_key(body)
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        body,
                        message_id=f"m-{uuid.uuid4().hex}" if n is None else f"m-{n}",
                        content_type="application/json",
                        headers={
                            "origin": "harness",
                            "n": -1 if n is None else n,
                            "sent_ms": int(time.time() * 1000),
                        },
                    ),
                    routing_key=self.name,
                )

    async def dead_letters(self, count: int) -> list[tuple[bytes, dict[str, str]]]:
        got: list[tuple[bytes, dict[str, str]]] = []
        async with await self._connection() as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(self.dlq, passive=True)
            async with asyncio.timeout(30):
                while len(got) < count:
                    message = await queue.get(no_ack=True, fail=False)
                    if message is None:
                        await asyncio.sleep(0.1)
                        continue
                    got.append(
                        (message.body, _kappa_headers(list((message.headers or {}).items())))
                    )
        return got


@dataclass
class NatsHarness(Harness):
    broker: NatsServer

    def block(self) -> NatsSource:
        return NatsSource(servers=(self.broker.url,), stream=self.name)

    async def create(self) -> None:
        client = await nats.connect(self.broker.url)
        try:
            js = client.jetstream()
            await js.add_stream(name=self.name, subjects=[f"{self.name}.>"])
            await js.add_stream(name=self.dlq, subjects=[self.dlq])
        finally:
            await client.close()

    async def publish(self, bodies: Sequence[bytes]) -> None:
        client = await nats.connect(self.broker.url)
        try:
            js = client.jetstream()
            for body in bodies:
                _, key = n_and_key(body)
                await js.publish(f"{self.name}.k{key}", body, headers={"origin": "harness"})
        finally:
            await client.close()

    async def dead_letters(self, count: int) -> list[tuple[bytes, dict[str, str]]]:
        client = await nats.connect(self.broker.url)
        try:
            js = client.jetstream()
            got = []
            async with asyncio.timeout(30):
                while (await js.stream_info(self.dlq)).state.messages < count:
                    await asyncio.sleep(0.1)
            for seq in range(1, count + 1):
                message = await js.get_msg(self.dlq, seq)
                got.append(
                    (message.data or b"", _kappa_headers(list((message.headers or {}).items())))
                )
        finally:
            await client.close()
        return got


@dataclass
class RedisHarness(Harness):
    broker: RedisServer

    def block(self) -> RedisStreamsSource:
        return RedisStreamsSource(url=self.broker.url, stream=self.name)

    async def publish(self, bodies: Sequence[bytes]) -> None:
        client = redis.asyncio.Redis.from_url(self.broker.url)
        try:
            for body in bodies:
                await client.xadd(self.name, {"payload": body, "origin": "harness"})
        finally:
            await client.aclose()

    async def dead_letters(self, count: int) -> list[tuple[bytes, dict[str, str]]]:
        client = redis.asyncio.Redis.from_url(self.broker.url)
        try:
            async with asyncio.timeout(30):
                while len(entries := await client.xrange(self.dlq, count=count)) < count:
                    await asyncio.sleep(0.1)
        finally:
            await client.aclose()
        return [
            (
                fields[b"payload"],
                _kappa_headers([(k.decode(), v) for k, v in fields.items()]),
            )
            for _, fields in entries
        ]


@dataclass
class SqsHarness(Harness):
    """A queue on ElasticMQ; the sources' shared tests (harness.drive) are not run with it."""

    broker: ElasticMq
    url: str = ""

    def block(self) -> SqsSource:
        return SqsSource(queue_url=self.url)

    async def create(self) -> None:
        self.url = str(
            sqs_client(self.broker.endpoint).create_queue(QueueName=self.name)["QueueUrl"]
        )

    async def publish(self, bodies: Sequence[bytes]) -> None:
        client = sqs_client(self.broker.endpoint)
        for body in bodies:
            client.send_message(QueueUrl=self.url, MessageBody=body.decode())


_BLOCKS = {
    "kafka": "kafka",
    "rabbitmq": "rabbitmq",
    "nats": "nats",
    "redis": "redisStreams",
    "sqs": "sqs",
}


def poller_mapping(harness: Harness, **spec: Any) -> dict[str, Any]:
    """An EventSourceMapping of the harness's source for `worker` (streams: TRIM_HORIZON)."""
    block = harness.block().model_dump(mode="json", by_alias=True, exclude_none=True)
    if harness.kind not in ("rabbitmq", "sqs"):
        spec.setdefault("startingPosition", "TRIM_HORIZON")
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "EventSourceMapping",
        "metadata": {"name": harness.name, "namespace": "default"},
        "spec": {"functionRef": {"name": "worker"}, _BLOCKS[harness.kind]: block, **spec},
    }


def delivered_records(task_root: Path) -> list[dict[str, Any]]:
    """Every record the broker handler (broker_fns.record_batch) received, in order."""
    return [r for b in read_jsonl(task_root / "broker_batches.jsonl") for r in b["records"]]


def payload_of(harness: Harness, record: Record) -> bytes:
    """The published body of a record (Redis keeps it in the ``payload`` field)."""
    if harness.kind == "redis":
        return record.attributes["payload"].encode()
    return record.body


# ------------------------------------------------------------------ driver

Handler = Callable[[list[Record]], Awaitable[set[str]]]
"""Plays the function: returns the ids of the records that failed (empty: all succeeded)."""


@dataclass
class Outcome:
    batches: list[list[Record]] = field(default_factory=list)
    done: list[Record] = field(default_factory=list)
    dead: list[Record] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)


def _split(
    source: Source, batch: list[Record], failed: set[str]
) -> tuple[list[Record], list[Record]]:
    if not source.ordered:
        return [r for r in batch if r.id not in failed], [r for r in batch if r.id in failed]
    stopped: set[str] = set()
    ok, again = [], []
    for record in batch:  # fetched in order per key: from the first failure on, all go again
        if record.key in stopped or record.id in failed:
            stopped.add(record.key)
            again.append(record)
        else:
            ok.append(record)
    return ok, again


def _exhausted(
    source: Source, again: list[Record], failed: set[str], attempts: dict[str, int], limit: int
) -> list[Record]:
    """Failed records out of attempts; for an ordered source only a key's first (its checkpoint)."""
    firsts: dict[str, Record] = {}
    for record in again:
        firsts.setdefault(record.key, record)
    return [
        r
        for r in again
        if r.id in failed and attempts[r.id] >= limit and (not source.ordered or firsts[r.key] is r)
    ]


async def drive(
    source: Source,
    handler: Handler,
    *,
    batch_size: int,
    until_done: int,
    max_attempts: int = 3,
    destination: Any = None,
    timeout: float = 60,
) -> Outcome:
    """Run batches until ``until_done`` records were acked (done or dead-lettered)."""
    outcome = Outcome()
    async with asyncio.timeout(timeout):
        while len(outcome.done) + len(outcome.dead) < until_done:
            batch = await source.fetch(batch_size, 0.5)
            if not batch:
                continue
            outcome.batches.append(batch)
            for record in batch:
                outcome.attempts[record.id] = outcome.attempts.get(record.id, 0) + 1
            failed = await handler(batch)
            ok, again = _split(source, batch, failed)
            if ok:  # first: for an ordered source, acks advance per key in order
                await source.ack(ok)
                outcome.done += ok
            exhausted = _exhausted(source, again, failed, outcome.attempts, max_attempts)
            if exhausted and destination is not None:
                failure = Failure(
                    condition=FailureCondition.RETRIES_EXHAUSTED,
                    function_error="Unhandled",
                    response_payload=None,
                    approximate_invoke_count=max_attempts,
                    request_id="req-1",
                    timestamp_ms=1_700_000_000_000,
                )
                # Only the exhausted records leave; for an ordered source the rest of
                # their key is retried after them.
                await destination.deliver(exhausted, failure)
                await source.ack(exhausted)
                outcome.dead += exhausted
                again = [r for r in again if r not in exhausted]
            if again:
                await source.release(again)
    return outcome
