"""SQS source: any SQS-compatible endpoint (AWS, ElasticMQ...), over SQS's JSON protocol.

An aiohttp client of its own (``SqsClient``, SigV4-signed by ``kappa.auth.sigv4``)
rather than botocore's: it is asynchronous, so a long poll is cancelled at once when
the poller stops. The credentials it signs with are botocore's, though
(``kappa.eventsources.sqs_credentials``): a Secret's keys when the mapping names one,
else AWS's default chain (web identity, container credentials, instance metadata),
refreshed before they expire; a session token goes as ``X-Amz-Security-Token``.

- ``fetch``: ReceiveMessage (long poll up to 20 s, at most 10 per call, as
  SQS allows), all attributes and message attributes.
- ``ack``: DeleteMessageBatch by receipt handle (10 per call).
- ``release``: nothing: the message comes back when its visibility timeout
  ends — Lambda's behaviour, and the retry's backoff.
- ``backlog``: ApproximateNumberOfMessages.
- failure destination ``target``: another queue (URL, or name on the same
  endpoint) that receives the failed messages' bodies and attributes.
"""

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from kappa.api.event_source_mapping import SqsSource as SqsBlock
from kappa.auth.sigv4 import sign
from kappa.eventsources.source import (
    Failure,
    FailureDestination,
    Record,
    SourceConfig,
    SourceCredentialsError,
    SourceError,
    SourceModule,
    SourceNotFoundError,
    SourceUnreachableError,
)
from kappa.eventsources.sqs_credentials import AwsCredentials, default_session, source_credentials
from kappa.eventsources.sqs_event import filter_view, message_attributes, queue_arn, shape

log = logging.getLogger(__name__)

RECEIVE_MAX: Final = 10
"""SQS returns at most 10 messages per ReceiveMessage and deletes 10 per batch call."""
LONG_POLL_MAX_SECONDS: Final = 20
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
        "MissingAuthenticationToken",
    }
)


def _endpoint(block: SqsBlock) -> str:
    if block.endpoint_url is not None:
        return block.endpoint_url
    parts = urlsplit(block.queue_url)
    return f"{parts.scheme}://{parts.netloc}/"


ERROR_BODY_LIMIT: Final = 64 * 1024  # an error body is a few hundred bytes; more is not one


def error_code(status: int, body: bytes, headers: Any) -> str:
    """The AWS error code of an SQS error answer (``HTTP <status>`` when it names none).

    The body is the endpoint's, so untrusted: only its first 64 KiB are read, and a body
    that is not a JSON object, or nests past what the parser takes, names no code.
    """
    query_error = headers.get("x-amzn-query-error")
    if query_error:
        return str(query_error).split(";")[0]
    try:
        parsed = json.loads(body[:ERROR_BODY_LIMIT])
    except (ValueError, RecursionError):  # not JSON, or nested past what the parser takes
        return f"HTTP {status}"
    if not isinstance(parsed, dict):
        return f"HTTP {status}"
    code = str(parsed.get("__type") or parsed.get("code") or f"HTTP {status}")
    return code.rsplit("#", 1)[-1]


class SqsClient:
    """The few SQS actions the source needs, as signed JSON-protocol calls."""

    def __init__(self, endpoint: str, region: str, credentials: AwsCredentials) -> None:
        self._endpoint = endpoint
        self._region = region
        self._credentials = credentials
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=LONG_POLL_MAX_SECONDS + 15, sock_connect=5)
        )

    async def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call ``action``; raise a SourceError subclass saying what went wrong."""
        body = json.dumps(params).encode()
        credentials = await self._credentials.current()
        headers = dict(
            sign(
                method="POST",
                url=self._endpoint,
                headers=[
                    ("Content-Type", "application/x-amz-json-1.0"),
                    ("X-Amz-Target", f"AmazonSQS.{action}"),
                ],
                body=body,
                access_key_id=credentials.access_key_id or "",
                secret_access_key=credentials.secret_access_key or "",
                session_token=credentials.session_token,
                region=self._region,
                service="sqs",
                now=datetime.now(UTC),
            )
        )
        try:
            async with self._session.post(self._endpoint, data=body, headers=headers) as response:
                answer = await response.read()
                if response.status == 200:  # noqa: PLR2004 - HTTP OK
                    return dict(json.loads(answer or b"{}"))
                code = error_code(response.status, answer, response.headers)
        except (aiohttp.ClientError, TimeoutError) as error:
            msg = f"{action}: cannot reach {self._endpoint}: {str(error) or type(error).__name__}"
            raise SourceUnreachableError(msg) from error
        if code in _NOT_FOUND_CODES:
            msg = f"{action}: the queue does not exist ({code}): check spec.sqs.queueUrl"
            raise SourceNotFoundError(msg)
        if code in _AUTH_CODES or response.status in {401, 403}:
            msg = (
                f"{action}: the credentials were refused ({code}): check the Secret, or the "
                "role of the poller's ServiceAccount"
            )
            raise SourceCredentialsError(msg)
        msg = f"{action}: {code}: {answer[:300].decode('utf-8', 'replace')}"
        raise SourceError(msg)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._session.close()


def _client(block: SqsBlock, config: SourceConfig) -> SqsClient:
    region = block.region or config.region
    credentials = source_credentials(config.credentials, lambda: default_session(region))
    return SqsClient(_endpoint(block), region, credentials)


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

    def __init__(self, client: SqsClient, block: SqsBlock, region: str) -> None:
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
        answer = await self._client.call("ReceiveMessage", kwargs)
        return [_record(m) for m in answer.get("Messages", [])]

    async def ack(self, records: Sequence[Record]) -> None:
        """DeleteMessageBatch, 10 at a time; entries SQS refuses are logged (they come back)."""
        for start in range(0, len(records), RECEIVE_MAX):
            chunk = records[start : start + RECEIVE_MAX]
            answer = await self._client.call(
                "DeleteMessageBatch",
                {
                    "QueueUrl": self._block.queue_url,
                    "Entries": [
                        {"Id": str(i), "ReceiptHandle": r.source_fields["receiptHandle"]}
                        for i, r in enumerate(chunk)
                    ],
                },
            )
            for failed in answer.get("Failed", []):
                log.warning("delete refused for a message: %s", failed.get("Message", failed))

    async def release(self, records: Sequence[Record]) -> None:
        """Nothing to do: SQS makes them visible again when their visibility timeout ends."""

    async def backlog(self) -> int | None:
        """ApproximateNumberOfMessages of the queue."""
        answer = await self._client.call(
            "GetQueueAttributes",
            {"QueueUrl": self._block.queue_url, "AttributeNames": ["ApproximateNumberOfMessages"]},
        )
        return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", "0"))

    async def close(self) -> None:
        """Close the client's connection pool."""
        await self._client.close()


async def open_source(config: SourceConfig) -> SqsSource:
    """A connected SQS source: the queue's existence is checked at once."""
    block = config.block
    assert isinstance(block, SqsBlock)  # noqa: S101 - the registry hands each module its block
    source = SqsSource(_client(block, config), block, config.region)
    await source.backlog()
    return source


class SqsDestination:
    """A queue receiving failed messages as they were (a dead-letter queue)."""

    def __init__(self, client: SqsClient, queue_url: str) -> None:
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
            answer = await self._client.call(
                "SendMessageBatch", {"QueueUrl": self._queue_url, "Entries": entries}
            )
            if answer.get("Failed"):
                msg = f"SendMessageBatch to the failure queue refused: {answer['Failed']}"
                raise SourceError(msg)

    async def close(self) -> None:
        """Close the client's connection pool."""
        await self._client.close()


async def open_failure_destination(config: SourceConfig, target: str) -> FailureDestination:
    """The failure queue ``target``: a queue URL, or a queue name on the source's endpoint."""
    block = config.block
    assert isinstance(block, SqsBlock)  # noqa: S101 - the registry hands each module its block
    client = _client(block, config)
    if "://" in target:
        return SqsDestination(client, target)
    answer = await client.call("GetQueueUrl", {"QueueName": target})
    return SqsDestination(client, str(answer["QueueUrl"]))


SOURCE: Final = SourceModule(
    open_source=open_source,
    shape=shape,
    filter_view=filter_view,
    open_failure_destination=open_failure_destination,
)
