"""Kafka source: a consumer group member of the mapping's group; ordered per partition.

Offsets are committed only for records done for good, never past a record
still in hand or to be fetched again (``kafka_offsets``); a ``release`` seeks
the partition back to its lowest released record, so it and everything after
it is fetched again, in order (Lambda's checkpoint). A poller that dies leaves its offsets
uncommitted: the group's next owner of the partition starts from the last
commit, so nothing is lost (at-least-once).

New groups start at ``LATEST`` (default), ``TRIM_HORIZON`` (earliest) or
``AT_TIMESTAMP`` (the first offset at or after the timestamp, per partition).
The event shape is ``kafka_shape``; ``open_failure_destination`` produces
failed records to a topic of the same cluster with ``kappa-*`` headers.
"""

import logging
import ssl
from collections.abc import Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    CommitFailedError,
    GroupAuthorizationFailedError,
    IllegalStateError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)

from kappa.api.event_source_mapping import KafkaSource
from kappa.eventsources import kafka_shape
from kappa.eventsources.dead_letter import failure_headers
from kappa.eventsources.kafka_offsets import PartitionProgress
from kappa.eventsources.opening import closed_on_error
from kappa.eventsources.source import (
    Failure,
    Record,
    SourceConfig,
    SourceCredentialsError,
    SourceError,
    SourceModule,
    SourceNotFoundError,
    SourceUnreachableError,
)

log = logging.getLogger(__name__)

MAX_POLL_INTERVAL_MS: Final = 960_000

_AUTH_ERRORS = (
    AuthenticationFailedError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
    GroupAuthorizationFailedError,
)


def _client_options(block: KafkaSource, config: SourceConfig) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": list(block.bootstrap_servers),
        "client_id": config.consumer_name,
        "request_timeout_ms": 15_000,
    }
    sasl = block.sasl
    if block.tls:
        options["ssl_context"] = ssl.create_default_context()
    if sasl is not None:
        username = config.credentials.get("username")
        password = config.credentials.get("password")
        if not username or not password:
            msg = "kafka.sasl needs a username and a password: check the Secrets they name"
            raise SourceCredentialsError(msg)
        options |= {
            "security_protocol": "SASL_SSL" if block.tls else "SASL_PLAINTEXT",
            "sasl_mechanism": sasl.mechanism.value,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }
    elif block.tls:
        options["security_protocol"] = "SSL"
    return options


def _source_error(error: BaseException, block: KafkaSource) -> SourceError:
    servers = ",".join(block.bootstrap_servers)
    if isinstance(error, _AUTH_ERRORS):
        return SourceCredentialsError(
            f"Kafka at {servers} refused the credentials or the ACLs deny topic {block.topic!r}: "
            f"{error}"
        )
    return SourceUnreachableError(
        f"cannot reach Kafka at {servers}: {error}; check kafka.bootstrapServers and that the "
        "brokers listen there"
    )


async def _refusal(block: KafkaSource, config: SourceConfig) -> KafkaError | None:
    """Why a SASL bootstrap failed, if a broker refused the credentials.

    aiokafka logs a refused SASL handshake and reports only that it could not
    bootstrap; one direct connection per broker tells a refusal from an outage.
    """
    options = _client_options(block, config)
    for server in block.bootstrap_servers:
        host, _, port = server.rpartition(":")
        try:
            conn = await create_conn(
                host,
                int(port),
                client_id=options["client_id"],
                ssl_context=options.get("ssl_context"),
                security_protocol=options["security_protocol"],
                sasl_mechanism=options["sasl_mechanism"],
                sasl_plain_username=options["sasl_plain_username"],
                sasl_plain_password=options["sasl_plain_password"],
            )
        except _AUTH_ERRORS as error:
            return error
        except (KafkaError, OSError, TimeoutError):
            continue
        conn.close()
    return None


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Forgets revoked partitions; seeks new ones without a commit to a start timestamp."""

    def __init__(
        self, consumer: AIOKafkaConsumer, progress: PartitionProgress, timestamp_ms: int | None
    ) -> None:
        self._consumer = consumer
        self._progress = progress
        self._timestamp_ms = timestamp_ms

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Uncommitted records return to the partitions' next owners: forget them here."""
        for tp in revoked:
            self._progress.forget((tp.topic, tp.partition))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Seek partitions the group never committed to the first offset at the timestamp."""
        if self._timestamp_ms is None:
            return
        fresh = [tp for tp in assigned if await self._consumer.committed(tp) is None]
        if not fresh:
            return
        found = await self._consumer.offsets_for_times(dict.fromkeys(fresh, self._timestamp_ms))
        for tp in fresh:
            at = found.get(tp)
            if at is None:
                await self._consumer.seek_to_end(tp)
            else:
                self._consumer.seek(tp, at.offset)


class KafkaTopicSource:
    """One member of the mapping's consumer group (``Source``)."""

    ordered = True

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        block: KafkaSource,
        arn: str,
        progress: PartitionProgress,
    ) -> None:
        self._consumer = consumer
        self._block = block
        self._progress = progress
        self.event_source_arn = arn

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:
        """Up to ``max_records``, partition by partition in offset order."""
        try:
            batches = await self._consumer.getmany(
                timeout_ms=int(wait_seconds * 1000), max_records=max_records
            )
        except KafkaError as error:
            raise _source_error(error, self._block) from error
        for tp, messages in batches.items():
            self._progress.fetched((tp.topic, tp.partition), [m.offset for m in messages])
        return [
            kafka_shape.to_record(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                timestamp_ms=message.timestamp,
                timestamp_type=message.timestamp_type,
                key=message.key,
                value=message.value,
                headers=list(message.headers),
            )
            for tp in sorted(batches, key=lambda tp: (tp.topic, tp.partition))
            for message in batches[tp]
        ]

    @staticmethod
    def _by_partition(records: Sequence[Record]) -> dict[TopicPartition, list[int]]:
        offsets: dict[TopicPartition, list[int]] = {}
        for record in records:
            fields = record.source_fields
            tp = TopicPartition(fields["topic"], fields["partition"])
            offsets.setdefault(tp, []).append(fields["offset"])
        return offsets

    async def ack(self, records: Sequence[Record]) -> None:
        """Commit, per partition, as far as every record before the point is done."""
        assigned = self._consumer.assignment()
        commits = {}
        for tp, offsets in self._by_partition(records).items():
            point = self._progress.acked((tp.topic, tp.partition), offsets)
            if point is not None and tp in assigned:
                commits[tp] = point
        if not commits:
            return
        try:
            await self._consumer.commit(commits)
        except (CommitFailedError, IllegalStateError) as error:
            # The group rebalanced: the partition's new owner fetches from the last
            # commit, so these records run again (at-least-once), never lost.
            log.warning("kafka: commit of %s failed after a rebalance: %s", commits, error)
        except KafkaError as error:
            raise _source_error(error, self._block) from error

    async def release(self, records: Sequence[Record]) -> None:
        """Seek each partition back to its lowest released offset (fetched again, in order)."""
        assigned = self._consumer.assignment()
        for tp, offsets in self._by_partition(records).items():
            seek = self._progress.released((tp.topic, tp.partition), offsets)
            if tp in assigned:
                self._consumer.seek(tp, seek)

    async def backlog(self) -> int | None:
        """Consumer lag: end offsets minus committed offsets of the assigned partitions."""
        assigned = list(self._consumer.assignment())
        if not assigned:
            return None
        try:
            ends = await self._consumer.end_offsets(assigned)
            lag = 0
            for tp in assigned:
                committed = await self._consumer.committed(tp)
                start = committed if committed is not None else await self._consumer.position(tp)
                lag += max(0, ends[tp] - start)
        except (KafkaError, IllegalStateError):
            return None
        return lag

    async def close(self) -> None:
        """Leave the group; uncommitted records go to the partitions' next owners."""
        await self._consumer.stop()


async def open_source(config: SourceConfig) -> KafkaTopicSource:
    """Join the mapping's consumer group on ``kafka.topic``."""
    block: KafkaSource = config.block
    position = config.starting_position or "LATEST"
    consumer = AIOKafkaConsumer(
        group_id=config.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if position == "TRIM_HORIZON" else "latest",
        max_poll_records=config.batch_size,
        # A batch may take a function's longest timeout (900 s) between two polls;
        # a dead poller still leaves the group after the session timeout (10 s).
        max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        **_client_options(block, config),
    )
    try:
        await consumer.start()
        topics = await consumer.topics()
    except KafkaError as error:
        await consumer.stop()
        cause = await _refusal(block, config) if block.sasl is not None else None
        raise _source_error(cause or error, block) from error
    if block.topic not in topics:
        await consumer.stop()
        msg = (
            f"Kafka topic {block.topic!r} does not exist at {','.join(block.bootstrap_servers)}: "
            "create it or fix kafka.topic"
        )
        raise SourceNotFoundError(msg)
    progress = PartitionProgress()
    start_ms = config.starting_position_timestamp_ms if position == "AT_TIMESTAMP" else None
    consumer.subscribe([block.topic], listener=_Rebalance(consumer, progress, start_ms))
    arn = kafka_shape.event_source_arn(config.region, config.namespace, block.topic)
    return KafkaTopicSource(consumer, block, arn, progress)


class KafkaTopicDestination:
    """Failed records produced to a topic of the source's cluster (``FailureDestination``)."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, block: KafkaSource) -> None:
        self._producer = producer
        self._topic = topic
        self._block = block

    async def deliver(self, records: Sequence[Record], failure: Failure) -> None:
        """Produce each record as it was (key, value, headers) plus ``kappa-*`` headers."""
        try:
            sent = []
            for record in records:
                fields = record.source_fields
                key = fields["key"]
                headers = [(name, bytes(raw)) for h in fields["headers"] for name, raw in h.items()]
                headers += [(k, v.encode()) for k, v in failure_headers(record, failure).items()]
                sent.append(
                    await self._producer.send(
                        self._topic,
                        value=None if fields["valueIsNull"] else record.body,
                        key=None if key is None else kafka_shape.decode_key(key),
                        headers=headers,
                    )
                )
            for future in sent:
                await future
        except KafkaError as error:
            raise _source_error(error, self._block) from error

    async def close(self) -> None:
        """Flush and disconnect."""
        await self._producer.stop()


async def open_failure_destination(config: SourceConfig, target: str) -> KafkaTopicDestination:
    """A producer to topic ``target`` on the source's cluster (acks from all replicas)."""
    block: KafkaSource = config.block
    options = _client_options(block, config)
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **options)
    async with closed_on_error(producer.stop, (KafkaError,), lambda e: _source_error(e, block)):
        await producer.start()
    return KafkaTopicDestination(producer, target, block)


SOURCE: Final = SourceModule(
    open_source=open_source,
    shape=kafka_shape.shape,
    filter_view=kafka_shape.filter_view,
    open_failure_destination=open_failure_destination,
)
