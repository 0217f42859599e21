"""RabbitMQ source: a consumer of one queue (AMQP 0-9-1), acknowledging after success.

Messages are delivered to a local buffer (prefetch: twice the batch size),
``fetch`` takes them from it. ``ack`` acknowledges, ``release`` rejects with
requeue (the broker delivers the message again, ``redelivered`` set). Unacked
messages of a poller that dies return to the queue when its connection
closes: nothing is lost. Unordered: the runner may fetch concurrently.

A message without an AMQP ``timestamp`` property counts as received when it
was delivered (for ``maximumRecordAgeSeconds``). The event shape is
``rabbitmq_shape``; ``open_failure_destination`` publishes failed messages to
a queue of the same virtual host with ``kappa-*`` headers, with publisher
confirms.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import quote

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from yarl import URL

from kappa.api.event_source_mapping import RabbitMqSource
from kappa.base.clock import epoch_ms
from kappa.eventsources import rabbitmq_shape
from kappa.eventsources.dead_letter import failure_headers
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

PREFETCH_BATCHES: Final = 2
CONNECT_TIMEOUT: Final = 10.0
_AMQP_ERRORS: Final = (aiormq.exceptions.AMQPError, OSError)


def _url(block: RabbitMqSource, config: SourceConfig) -> URL:
    url = URL(block.url)
    user, password = config.credentials.get("username"), config.credentials.get("password")
    if user:
        url = url.with_user(user)
    if password:
        url = url.with_password(password)
    return url.with_path("/" + quote(block.virtual_host, safe=""), encoded=True)


def _where(block: RabbitMqSource) -> str:
    return f"queue {block.queue!r} (vhost {block.virtual_host!r}) at {block.url}"


def _source_error(error: BaseException, block: RabbitMqSource) -> SourceError:
    text = str(error)
    if isinstance(error, aiormq.exceptions.ChannelNotFoundEntity):
        return SourceNotFoundError(f"RabbitMQ has no {_where(block)}: declare it or fix the name")
    if isinstance(error, aiormq.exceptions.ProbableAuthenticationError) or (
        "ACCESS_REFUSED" in text or "NOT_ALLOWED" in text
    ):
        return SourceCredentialsError(
            f"RabbitMQ at {block.url} refused the credentials or vhost {block.virtual_host!r}: "
            f"{text}"
        )
    return SourceUnreachableError(
        f"cannot reach RabbitMQ at {block.url}: {text or type(error).__name__}; check "
        "rabbitmq.url and that the broker listens there"
    )


async def _connect(block: RabbitMqSource, config: SourceConfig) -> AbstractConnection:
    try:
        return await aio_pika.connect(_url(block, config), timeout=CONNECT_TIMEOUT)
    except (aiormq.exceptions.AMQPError, OSError, TimeoutError) as error:
        raise _source_error(error, block) from error


def _to_record(message: AbstractIncomingMessage, block: RabbitMqSource) -> Record:
    headers = dict(message.headers or {})
    properties = rabbitmq_shape.basic_properties(
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        headers=headers,
        delivery_mode=int(message.delivery_mode) if message.delivery_mode else None,
        priority=message.priority,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        expiration=message.properties.expiration,
        message_id=message.message_id,
        timestamp=message.timestamp,
        message_type=message.type,
        user_id=message.user_id,
        app_id=message.app_id,
        cluster_id=message.cluster_id,
        body_size=len(message.body),
    )
    sent = message.timestamp
    return rabbitmq_shape.to_record(
        queue=block.queue,
        virtual_host=block.virtual_host,
        delivery_tag=message.delivery_tag or 0,
        redelivered=bool(message.redelivered),
        body=message.body,
        properties=properties,
        headers=headers,
        timestamp_ms=int(sent.timestamp() * 1000) if sent is not None else epoch_ms(),
    )


class RabbitMqQueueSource:
    """A consumer of the mapping's queue (``Source``)."""

    ordered = False

    def __init__(
        self,
        connection: AbstractConnection,
        channel: AbstractChannel,
        block: RabbitMqSource,
        arn: str,
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._block = block
        self._buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._in_hand: dict[int, AbstractIncomingMessage] = {}
        self.event_source_arn = arn

    async def deliver(self, message: AbstractIncomingMessage) -> None:
        """The consumer callback: buffer the delivery until fetched."""
        await self._buffer.put(message)

    def _check_open(self) -> None:
        if self._channel.is_closed or self._connection.is_closed:
            msg = f"lost the connection to RabbitMQ at {self._block.url}; reconnecting"
            raise SourceUnreachableError(msg)

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:
        """What the buffer holds, up to ``max_records``, waiting for the first."""
        self._check_open()
        messages: list[AbstractIncomingMessage] = []
        try:
            messages.append(await asyncio.wait_for(self._buffer.get(), max(wait_seconds, 0)))
        except TimeoutError:
            self._check_open()
            return []
        while len(messages) < max_records and not self._buffer.empty():
            messages.append(self._buffer.get_nowait())
        records = []
        for message in messages:
            self._in_hand[message.delivery_tag or 0] = message
            records.append(_to_record(message, self._block))
        return records

    def _take(self, records: Sequence[Record]) -> list[AbstractIncomingMessage]:
        return [
            message
            for record in records
            if (message := self._in_hand.pop(record.source_fields["deliveryTag"], None))
        ]

    async def ack(self, records: Sequence[Record]) -> None:
        """Acknowledge: the broker forgets them."""
        try:
            for message in self._take(records):
                await message.ack()
        except (aiormq.exceptions.AMQPError, OSError) as error:
            raise _source_error(error, self._block) from error

    async def release(self, records: Sequence[Record]) -> None:
        """Reject with requeue: the broker delivers them again."""
        try:
            for message in self._take(records):
                await message.nack(requeue=True)
        except (aiormq.exceptions.AMQPError, OSError) as error:
            raise _source_error(error, self._block) from error

    async def backlog(self) -> int | None:
        """Messages ready in the queue (not counting those delivered and unacked)."""
        try:
            channel = await self._connection.channel()
            try:
                queue = await channel.declare_queue(self._block.queue, passive=True)
                count: int | None = queue.declaration_result.message_count
            finally:
                await channel.close()
        except (aiormq.exceptions.AMQPError, OSError):
            return None
        return count

    async def close(self) -> None:
        """Close the connection: unacked messages return to the queue."""
        await self._connection.close()


async def open_source(config: SourceConfig) -> RabbitMqQueueSource:
    """Connect and start consuming ``rabbitmq.queue`` (which must exist)."""
    block: RabbitMqSource = config.block
    connection = await _connect(block, config)
    async with closed_on_error(
        connection.close, _AMQP_ERRORS, lambda error: _source_error(error, block)
    ):
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=min(65_535, PREFETCH_BATCHES * config.batch_size))
        queue = await channel.declare_queue(block.queue, passive=True)
        arn = rabbitmq_shape.event_source_arn(
            config.region, config.namespace, block.virtual_host, block.queue
        )
        source = RabbitMqQueueSource(connection, channel, block, arn)
        await queue.consume(source.deliver, no_ack=False, consumer_tag=config.consumer_name)
    return source


class RabbitMqQueueDestination:
    """Failed messages published to a queue (``FailureDestination``)."""

    def __init__(
        self,
        connection: AbstractConnection,
        channel: AbstractChannel,
        queue: str,
        block: RabbitMqSource,
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._queue = queue
        self._block = block

    async def deliver(self, records: Sequence[Record], failure: Failure) -> None:
        """Publish each as it was (body, properties, headers) plus ``kappa-*`` headers."""
        try:
            for record in records:
                await self._channel.default_exchange.publish(
                    _dead_letter(record, failure), routing_key=self._queue, mandatory=True
                )
        except (aiormq.exceptions.AMQPError, OSError) as error:
            raise _source_error(error, self._block) from error

    async def close(self) -> None:
        """Disconnect."""
        await self._connection.close()


def _dead_letter(record: Record, failure: Failure) -> aio_pika.Message:
    props: dict[str, Any] = record.source_fields["basicProperties"]
    headers: dict[str, Any] = {
        k: v for k, v in record.attributes.items() if k != rabbitmq_shape.DELIVERY_COUNT_HEADER
    }
    headers |= failure_headers(record, failure)
    return aio_pika.Message(
        body=record.body,
        headers=headers,
        content_type=props.get("contentType"),
        content_encoding=props.get("contentEncoding"),
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=props.get("priority"),
        correlation_id=props.get("correlationId"),
        reply_to=props.get("replyTo"),
        message_id=props.get("messageId"),
        type=props.get("type"),
        app_id=props.get("appId"),
    )


async def open_failure_destination(config: SourceConfig, target: str) -> RabbitMqQueueDestination:
    """A publisher (with confirms) to queue ``target`` in the source's virtual host."""
    block: RabbitMqSource = config.block
    connection = await _connect(block, config)
    async with closed_on_error(
        connection.close, _AMQP_ERRORS, lambda error: _source_error(error, block)
    ):
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(target, passive=True)
    return RabbitMqQueueDestination(connection, channel, target, block)


SOURCE: Final = SourceModule(
    open_source=open_source,
    shape=rabbitmq_shape.shape,
    filter_view=rabbitmq_shape.filter_view,
    open_failure_destination=open_failure_destination,
)
