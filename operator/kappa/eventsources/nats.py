"""NATS JetStream source: a durable pull consumer of a stream, acking after success.

The mapping's durable consumer (``nats.consumer``, else the mapping's group
name) is created on first use with explicit acks, ``nats.subject`` as its
filter and the starting position as its deliver policy (``LATEST``: new
messages, ``TRIM_HORIZON``: all, ``AT_TIMESTAMP``: by start time). ``ack``
acks; ``release`` naks in stream order and waits for the server to answer each
nak, so JetStream redelivers them before newer messages (order per subject
holds with ``parallelizationFactor`` 1).
While a batch is in hand the poller tells JetStream every third of the ack
wait that it is still working on it (``+WPI``), so a long function does not
get its messages redelivered to another poller; messages a dead poller fetched
and never acked are redelivered once the consumer's ack wait
(``ACK_WAIT_SECONDS``) runs out: nothing is lost.

The event shape is ``nats_shape``; ``open_failure_destination`` publishes
failed messages to a subject that a stream captures (JetStream publish, so it
returns once stored), with ``kappa-*`` headers.
"""

import datetime
import logging
from collections.abc import Sequence
from typing import Any, Final

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from kappa.api.event_source_mapping import NatsSource
from kappa.eventsources import nats_shape
from kappa.eventsources.dead_letter import failure_headers
from kappa.eventsources.keepalive import Keepalive
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

ACK_WAIT_SECONDS: Final = 30.0
CONNECT_TIMEOUT: Final = 5.0
NAK_TIMEOUT: Final = 10.0  # seconds for JetStream to answer a nak
_POLICIES: Final = {
    "LATEST": DeliverPolicy.NEW,
    "TRIM_HORIZON": DeliverPolicy.ALL,
    "AT_TIMESTAMP": DeliverPolicy.BY_START_TIME,
}


def _servers(block: NatsSource) -> str:
    return ",".join(block.servers)


def _source_error(error: BaseException, block: NatsSource) -> SourceError:
    if isinstance(error, nats.errors.AuthorizationError | nats.errors.InvalidUserCredentialsError):
        return SourceCredentialsError(f"NATS at {_servers(block)} refused the credentials: {error}")
    if isinstance(error, nats.js.errors.NotFoundError):
        return SourceNotFoundError(
            f"JetStream stream {block.stream!r} does not exist at {_servers(block)}: create it "
            "or fix nats.stream"
        )
    return SourceUnreachableError(
        f"cannot reach NATS JetStream at {_servers(block)}: {str(error) or type(error).__name__}; "
        "check nats.servers and that the server runs with JetStream"
    )


async def _connect(block: NatsSource, config: SourceConfig) -> Client:
    options: dict[str, Any] = {
        "servers": list(block.servers),
        "connect_timeout": CONNECT_TIMEOUT,
        "allow_reconnect": True,
        "max_reconnect_attempts": 3,
        "reconnect_time_wait": 1,  # then the poller reopens the source with its own backoff
        "name": config.consumer_name,
    }
    if user := config.credentials.get("username"):
        options["user"] = user
        options["password"] = config.credentials.get("password", "")
    if token := config.credentials.get("token"):
        options["token"] = token
    errors: list[Exception] = []

    async def error_cb(error: Exception) -> None:
        errors.append(error)

    try:
        return await nats.connect(error_cb=error_cb, **options)
    except (nats.errors.Error, OSError, TimeoutError) as error:
        cause = next((e for e in errors if isinstance(e, nats.errors.AuthorizationError)), error)
        raise _source_error(cause, block) from error


def _millis(moment: datetime.datetime | None) -> int:
    return 0 if moment is None else int(moment.timestamp() * 1000)


class NatsStreamSource:
    """A durable pull consumer of the mapping's stream (``Source``)."""

    ordered = True

    def __init__(  # noqa: PLR0913 - the parts of a bound consumer
        self,
        *,
        client: Client,
        js: JetStreamContext,
        subscription: JetStreamContext.PullSubscription,
        block: NatsSource,
        consumer: str,
        arn: str,
        ack_wait_seconds: float,
    ) -> None:
        self._client = client
        self._js = js
        self._subscription = subscription
        self._block = block
        self._consumer = consumer
        self._in_hand: dict[int, Msg] = {}
        self.event_source_arn = arn
        self._keepalive = Keepalive(
            ack_wait_seconds / 3,
            self._mark_in_progress,
            (nats.errors.Error, OSError),
            log=log,
            failed="nats: in-progress ack failed",
        )

    async def _mark_in_progress(self) -> None:
        """Tell JetStream the messages in hand are being worked on."""
        for message in list(self._in_hand.values()):
            await message.in_progress()

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:
        """Up to ``max_records`` messages, redeliveries first, in stream order."""
        try:
            messages = await self._subscription.fetch(
                batch=max_records, timeout=max(wait_seconds, 0.05)
            )
        except TimeoutError:  # nats.errors.TimeoutError too: no message within the wait
            return []
        except (nats.errors.Error, OSError) as error:
            raise _source_error(error, self._block) from error
        records = []
        for message in messages:
            meta = message.metadata
            self._in_hand[meta.sequence.stream] = message
            headers = message.headers or {}
            records.append(
                nats_shape.to_record(
                    stream=self._block.stream,
                    consumer=self._consumer,
                    subject=message.subject,
                    sequence=meta.sequence.stream,
                    timestamp_ms=_millis(meta.timestamp),
                    delivery_count=meta.num_delivered or 1,
                    headers={name: [value] for name, value in headers.items()},
                    data=message.data,
                )
            )
        return records

    def _take(self, records: Sequence[Record]) -> list[Msg]:
        sequences = sorted(record.source_fields["sequence"] for record in records)
        return [m for s in sequences if (m := self._in_hand.pop(s, None)) is not None]

    async def ack(self, records: Sequence[Record]) -> None:
        """Ack each, then flush: the server has them when this returns."""
        await self._settle(records, nak=False)

    async def release(self, records: Sequence[Record]) -> None:
        """Nak each in stream order: JetStream redelivers them before newer messages."""
        await self._settle(records, nak=True)

    async def _settle(self, records: Sequence[Record], *, nak: bool) -> None:
        try:
            for message in self._take(records):
                if nak:
                    await self._nak_answered(message)
                else:
                    await message.ack()
            await self._client.flush(timeout=10)
        except nats.errors.MsgAlreadyAckdError:
            return
        except (nats.errors.Error, OSError) as error:
            raise _source_error(error, self._block) from error

    async def _nak_answered(self, message: Msg) -> None:
        """Nak and wait for JetStream's answer: the message is then queued for redelivery.

        JetStream handles acks apart from fetches: a nak only published (even flushed)
        may still wait behind the next fetch, which then hands out newer messages of the
        key first. Asked with a reply subject, the server answers once it has handled it.
        """
        await self._client.request(message.reply, Msg.Ack.Nak, timeout=NAK_TIMEOUT)

    async def backlog(self) -> int | None:
        """Messages of the stream the consumer has not delivered yet."""
        try:
            info = await self._js.consumer_info(self._block.stream, self._consumer)
        except (nats.errors.Error, OSError):
            return None
        pending = info.num_pending
        return None if pending is None else int(pending)

    async def close(self) -> None:
        """Disconnect; unacked messages are redelivered after the ack wait."""
        await self._keepalive.stop()
        await self._client.close()


async def open_source(
    config: SourceConfig, *, ack_wait_seconds: float = ACK_WAIT_SECONDS
) -> NatsStreamSource:
    """Connect, create the durable consumer if it is new, and bind a pull subscription."""
    block: NatsSource = config.block
    client = await _connect(block, config)
    consumer = block.consumer or config.group
    js = client.jetstream()
    async with closed_on_error(
        client.close, (nats.errors.Error, OSError), lambda error: _source_error(error, block)
    ):
        await js.stream_info(block.stream)
        try:
            await js.consumer_info(block.stream, consumer)
        except nats.js.errors.NotFoundError:
            await js.add_consumer(
                block.stream, _consumer_config(config, consumer, ack_wait_seconds)
            )
        subscription = await js.pull_subscribe_bind(durable=consumer, stream=block.stream)
    arn = nats_shape.event_source_arn(config.region, config.namespace, block.stream, consumer)
    return NatsStreamSource(
        client=client,
        js=js,
        subscription=subscription,
        block=block,
        consumer=consumer,
        arn=arn,
        ack_wait_seconds=ack_wait_seconds,
    )


def _consumer_config(config: SourceConfig, name: str, ack_wait_seconds: float) -> ConsumerConfig:
    block: NatsSource = config.block
    position = config.starting_position or "LATEST"
    start = None
    if position == "AT_TIMESTAMP" and config.starting_position_timestamp_ms is not None:
        start = datetime.datetime.fromtimestamp(
            config.starting_position_timestamp_ms / 1000, tz=datetime.UTC
        )
    policy = _POLICIES[position] if start is not None or position != "AT_TIMESTAMP" else None
    return ConsumerConfig(
        name=name,
        durable_name=name,
        deliver_policy=policy or DeliverPolicy.NEW,
        opt_start_time=start,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_seconds,
        filter_subject=block.subject,
        max_ack_pending=max(1000, 2 * config.batch_size),
    )


class NatsSubjectDestination:
    """Failed messages published to a subject a stream captures (``FailureDestination``)."""

    def __init__(self, client: Client, subject: str, block: NatsSource) -> None:
        self._client = client
        self._js = client.jetstream()
        self._subject = subject
        self._block = block

    async def deliver(self, records: Sequence[Record], failure: Failure) -> None:
        """Publish each as it was (data, headers) plus ``kappa-*`` headers; stored on return."""
        try:
            for record in records:
                headers = dict(record.attributes) | dict(failure_headers(record, failure))
                await self._js.publish(self._subject, record.body, headers=headers)
        except nats.js.errors.NoStreamResponseError as error:
            msg = (
                f"no JetStream stream at {_servers(self._block)} stores subject "
                f"{self._subject!r}: add it to a stream's subjects"
            )
            raise SourceNotFoundError(msg) from error
        except (nats.errors.Error, OSError) as error:
            raise _source_error(error, self._block) from error

    async def close(self) -> None:
        """Disconnect."""
        await self._client.close()


async def open_failure_destination(config: SourceConfig, target: str) -> NatsSubjectDestination:
    """A JetStream publisher to subject ``target`` on the source's servers."""
    block: NatsSource = config.block
    return NatsSubjectDestination(await _connect(block, config), target, block)


SOURCE: Final = SourceModule(
    open_source=open_source,
    shape=nats_shape.shape,
    filter_view=nats_shape.filter_view,
    open_failure_destination=open_failure_destination,
)
