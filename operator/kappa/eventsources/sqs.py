"""SQS source: any SQS-compatible endpoint (AWS, ElasticMQ...), through botocore.

botocore is synchronous: each call runs in a worker thread, so concurrent
``fetch`` calls (``parallelizationFactor`` loops) long-poll side by side.

- ``fetch``: ReceiveMessage (long poll up to 20 s, at most 10 per call, as
  SQS allows), all attributes and message attributes.
- ``ack``: DeleteMessageBatch by receipt handle (10 per call).
- ``release``: nothing: the message comes back when its visibility timeout
  ends — Lambda's behaviour, and the retry's backoff.
- ``backlog``: ApproximateNumberOfMessages.
- failure destination ``target``: another queue (URL, or name on the same
  endpoint) that receives the failed messages' bodies and attributes.
"""

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from kappa.api.event_source_mapping import SqsSource as SqsBlock
from kappa.eventsources.source import (
    Failure,
    FailureDestination,
    Record,
    SourceConfig,
    SourceCredentialsError,
    SourceError,
    SourceNotFoundError,
    SourceUnreachableError,
)
from kappa.eventsources.sqs_event import filter_view, message_attributes, queue_arn, shape

__all__ = ["SqsSource", "filter_view", "open_failure_destination", "open_source", "shape"]

log = logging.getLogger(__name__)

RECEIVE_MAX: Final = 10
"""SQS returns at most 10 messages per ReceiveMessage and deletes 10 per batch call."""
LONG_POLL_MAX_SECONDS: Final = 5
"""Shorter than SQS's 20 s: a stopping poller waits for a receive in flight (a thread)."""
_NOT_FOUND_CODES: Final = frozenset(
    {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue"}
)
_AUTH_CODES: Final = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
    }
)
T = TypeVar("T")


def _endpoint(block: SqsBlock) -> str:
    if block.endpoint_url is not None:
        return block.endpoint_url
    parts = urlsplit(block.queue_url)
    return f"{parts.scheme}://{parts.netloc}"


def _client(block: SqsBlock, config: SourceConfig) -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "sqs",
        endpoint_url=_endpoint(block),
        region_name=block.region or config.region,
        # Sources without credentials (ElasticMQ) still need some to sign with.
        aws_access_key_id=config.credentials.get("accessKeyId", "kappa"),
        aws_secret_access_key=config.credentials.get("secretAccessKey", "kappa"),
        config=Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=LONG_POLL_MAX_SECONDS + 10,
            max_pool_connections=32,
        ),
    )


def _translate(error: Exception, what: str) -> SourceError:
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND_CODES:
            return SourceNotFoundError(f"{what}: the queue does not exist ({code})")
        if code in _AUTH_CODES:
            return SourceCredentialsError(f"{what}: the credentials were refused ({code})")
        return SourceError(f"{what}: {code or error}")
    if isinstance(error, NoCredentialsError):
        return SourceCredentialsError(f"{what}: no credentials")
    if isinstance(error, EndpointConnectionError):
        return SourceUnreachableError(f"{what}: cannot connect: {error}")
    return SourceUnreachableError(f"{what}: {error}")


async def _call(what: str, call: Callable[..., T], /, **kwargs: Any) -> T:
    try:
        return await asyncio.to_thread(functools.partial(call, **kwargs))
    except (BotoCoreError, ClientError) as error:
        raise _translate(error, what) from error


def _record(message: dict[str, Any]) -> Record:
    attributes = {str(k): str(v) for k, v in message.get("Attributes", {}).items()}
    return Record(
        id=message["MessageId"],
        key=attributes.get("MessageGroupId", ""),
        body=message.get("Body", "").encode(),
        timestamp_ms=int(attributes.get("SentTimestamp", "0")),
        attempt=int(attributes.get("ApproximateReceiveCount", "1")),
        attributes=attributes,
        source_fields={
            "receiptHandle": message["ReceiptHandle"],
            "md5OfBody": message.get("MD5OfBody", ""),
            "messageAttributes": message_attributes(message.get("MessageAttributes", {})),
        },
    )


class SqsSource:
    """One SQS queue."""

    ordered = False

    def __init__(self, client: Any, block: SqsBlock, region: str) -> None:
        self._client = client
        self._block = block
        self.event_source_arn = queue_arn(block.queue_url, block.region or region)

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:
        """ReceiveMessage (one call: at most 10 messages)."""
        kwargs: dict[str, Any] = {
            "QueueUrl": self._block.queue_url,
            "MaxNumberOfMessages": max(1, min(RECEIVE_MAX, max_records)),
            "WaitTimeSeconds": int(max(0, min(LONG_POLL_MAX_SECONDS, wait_seconds))),
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self._block.visibility_timeout_seconds is not None:
            kwargs["VisibilityTimeout"] = self._block.visibility_timeout_seconds
        answer = await _call("ReceiveMessage", self._client.receive_message, **kwargs)
        return [_record(m) for m in answer.get("Messages", [])]

    async def ack(self, records: Sequence[Record]) -> None:
        """DeleteMessageBatch, 10 at a time; entries SQS refuses are logged (they come back)."""
        for start in range(0, len(records), RECEIVE_MAX):
            chunk = records[start : start + RECEIVE_MAX]
            answer = await _call(
                "DeleteMessageBatch",
                self._client.delete_message_batch,
                QueueUrl=self._block.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r.source_fields["receiptHandle"]}
                    for i, r in enumerate(chunk)
                ],
            )
            for failed in answer.get("Failed", []):
                log.warning("delete refused for a message: %s", failed.get("Message", failed))

    async def release(self, records: Sequence[Record]) -> None:
        """Nothing to do: SQS makes them visible again when their visibility timeout ends."""

    async def backlog(self) -> int | None:
        """ApproximateNumberOfMessages of the queue."""
        answer = await _call(
            "GetQueueAttributes",
            self._client.get_queue_attributes,
            QueueUrl=self._block.queue_url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )
        return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", "0"))

    async def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()


async def open_source(config: SourceConfig) -> SqsSource:
    """A connected SQS source: the queue's existence is checked at once."""
    block = config.block
    assert isinstance(block, SqsBlock)  # noqa: S101 - the registry hands each module its block
    source = SqsSource(_client(block, config), block, config.region)
    await source.backlog()
    return source


class SqsDestination:
    """A queue receiving failed messages as they were (a dead-letter queue)."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    async def deliver(self, records: Sequence[Record], failure: Failure) -> None:
        """SendMessageBatch of the bodies, with the failure named in message attributes."""
        for start in range(0, len(records), RECEIVE_MAX):
            chunk = records[start : start + RECEIVE_MAX]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": r.body.decode("utf-8", errors="replace"),
                    "MessageAttributes": {
                        "kappa-condition": {
                            "DataType": "String",
                            "StringValue": str(failure.condition),
                        },
                        "kappa-source-message-id": {"DataType": "String", "StringValue": r.id},
                    },
                }
                for i, r in enumerate(chunk)
            ]
            answer = await _call(
                "SendMessageBatch",
                self._client.send_message_batch,
                QueueUrl=self._queue_url,
                Entries=entries,
            )
            if answer.get("Failed"):
                msg = f"SendMessageBatch to the failure queue refused: {answer['Failed']}"
                raise SourceError(msg)

    async def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()


async def open_failure_destination(config: SourceConfig, target: str) -> FailureDestination:
    """The failure queue ``target``: a queue URL, or a queue name on the source's endpoint."""
    block = config.block
    assert isinstance(block, SqsBlock)  # noqa: S101 - the registry hands each module its block
    client = _client(block, config)
    if "://" in target:
        return SqsDestination(client, target)
    answer = await _call("GetQueueUrl", client.get_queue_url, QueueName=target)
    return SqsDestination(client, str(answer["QueueUrl"]))
