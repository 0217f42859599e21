"""The contract between the event source runner and each source (SQS, Kafka, schedule...).

An ``EventSourceMapping`` is run by one poller process: the *runner*
(``kappa.eventsources.runner``) drives one ``Source`` and invokes the function
through the gateway with events built by the source's pure ``shape``. The
runner owns every Lambda semantic — batching (size, window, 6 MB payload),
filtering, record age, retries, bisecting, ``ReportBatchItemFailures``,
failure destinations. A source only moves records in and out of its broker.

Per source kind, one module ``kappa.eventsources.<module>`` (``sqs``, ``kafka``,
``rabbitmq``, ``nats``, ``redis_streams``, ``schedule``) exports ``SOURCE``, a
:class:`SourceModule` of these parts (mypy checks it;
``kappa.eventsources.registry`` maps each kind to it):

``async def open_source(config: SourceConfig) -> Source``
    Connect and return a ready source. Raise ``SourceUnreachableError``,
    ``SourceCredentialsError`` or ``SourceNotFoundError`` (below) rather than
    anything else for problems a user fixes outside the poller: the runner
    turns them into the mapping's ``Ready=False`` condition and calls
    ``open_source`` again later (backoff), so a fixed broker recovers by itself.

``def shape(records: Sequence[Record], context: EventContext) -> dict[str, object]``
    Pure: the Lambda event for ``records`` (one invocation), as Lambda
    delivers it for this kind of source, e.g. SQS ``{"Records": [...]}``,
    Kafka ``{"eventSource": "SelfManagedKafka", "bootstrapServers": ...,
    "records": {"topic-0": [...]}}`` with base64 ``key``/``value``. Builds only
    from the records (``body``, ``attributes``, ``source_fields``) and
    ``context``. ``records`` is never empty. (A schedule's event may be any
    JSON value: the runner passes whatever ``shape`` returns to the invoke.)

``def filter_view(record: Record, context: EventContext) -> dict[str, Any]``
    Optional, pure: what ``filterCriteria`` patterns are matched against for one
    record, as Lambda documents per source (SQS: the event entry with a JSON
    ``body`` parsed; Kafka: the record with its ``value`` decoded...). Without
    it: ``{"body": <JSON-decoded body, else text>, "attributes": ..., "key": ...}``.

``async def open_failure_destination(config: SourceConfig, target: str) -> FailureDestination``
    Optional. The failure destination of the same kind as the source named by
    ``destinationConfig.onFailure`` (an SQS queue URL/name, a NATS subject...).
    Sources without one leave it out; a Function destination is the runner's
    own and needs nothing from the source.

Record life cycle (what the runner promises, what a source must do)
--------------------------------------------------------------------

``fetch`` hands out records; each one handed out is later given back exactly
once, by ``ack`` or ``release`` (unless the process dies: then the broker's own
mechanism — SQS visibility timeout, Kafka uncommitted offsets, unacked
RabbitMQ/NATS/Redis pending entries — must make it come back: at-least-once).

- ``ack(records)``: done for good (the function succeeded, the record was
  filtered out, or it went to the failure destination). Delete / commit /
  acknowledge it.
- ``release(records)``: not done; deliver it again later (a retry). An
  unordered source may redeliver at once or after a delay of its choosing
  (SQS leaves it invisible until its visibility timeout ends, Lambda's
  behaviour; RabbitMQ nacks with requeue; NATS naks). An ordered source must
  redeliver the released records before any later record of the same key.

Ordered sources (``ordered = True``: Kafka partitions, Redis streams read in
order, NATS with one consumer...) get from the runner:

- at most one batch in flight at a time per poller process (the runner's loop
  is sequential for them; ``parallelizationFactor`` adds consumers/pods);
- acks and releases that, per key, cover a prefix then a suffix of what was
  fetched: once a record of key K is released, every later record of K
  fetched so far is released too (the checkpoint is the lowest failed
  record, as Lambda does for streams). So for Kafka ``ack`` commits offset
  max(acked)+1 per partition and ``release`` seeks each partition back to
  min(released).

Unordered sources (SQS, RabbitMQ, NATS with many consumers) may have
``parallelizationFactor`` loops calling ``fetch`` concurrently on the same
``Source`` object: their methods must be safe to call concurrently.

Retries: the runner counts attempts per ``Record.id`` in memory and also
trusts ``Record.attempt`` (the broker's delivery count, e.g. SQS
``ApproximateReceiveCount``, NATS ``num_delivered``, RabbitMQ
``x-delivery-count``; 1 when unknown), taking the larger, so a restarted
poller still stops at ``maximumRetryAttempts`` where the broker counts.

Pure parts (``shape``, ARNs, parsing the spec block) must not import kopf,
kubernetes or time (import-linter holds ``kappa.eventsources`` pure-core
modules to it); I/O lives in the ``Source`` class.
"""

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kappa.eventsources.filter_payload import parsed


@dataclass(frozen=True)
class Record:
    """One message or stream entry, as fetched; immutable, hashable by ``id``.

    - ``id``: unique among the records in flight of this source, and the
      ``itemIdentifier`` a function names in ``batchItemFailures`` — so it is
      what the Lambda event shows for the record: SQS ``messageId``, Kafka
      ``offset`` as a decimal string (unique per key: use ``"topic-partition:offset"``
      only if the shape shows that), Redis stream entry id, NATS stream
      sequence, RabbitMQ delivery tag or message id. Lambda uses the SQS
      ``messageId`` and the stream sequence number.
    - ``key``: the ordering key: Kafka ``topic-partition``, SQS FIFO message
      group id, Redis stream name, NATS subject or stream; ``""`` when none.
    - ``body``: the payload bytes as the broker holds them (shapes encode:
      SQS as UTF-8 text, Kafka as base64).
    - ``timestamp_ms``: when the broker received it (epoch ms), for
      ``maximumRecordAgeSeconds`` and the event's timestamps.
    - ``attempt``: the broker's delivery count of this record (1 = first).
    - ``attributes``: string metadata a filter or shape reads (SQS
      attributes, Kafka/AMQP headers decoded as text).
    - ``source_fields``: anything else the shape needs (SQS receipt handle and
      message attributes, Kafka partition/offset/timestampType/headers
      as Lambda shows them...). JSON-compatible values.
    """

    id: str
    key: str
    body: bytes
    timestamp_ms: int
    attempt: int = 1
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    source_fields: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def size(self) -> int:
        """Bytes this record adds to a batch's payload (for the 6 MB invoke limit)."""
        return len(self.body)


@dataclass(frozen=True)
class SourceConfig:
    """What ``open_source`` gets: the mapping's spec for its kind, and resolved secrets.

    - ``block``: the validated pydantic model of the spec's source block
      (``kappa.api.event_source_mapping.SqsSource``, ``KafkaSource``...).
    - ``credentials``: values read from the Secrets the block names
      (``secretKeyRef``), keyed by the block's field name as written in the
      spec (``"username"``, ``"password"``, ``"accessKeyId"``...).
    - ``consumer_name``: unique per poller process (the pod name): a
      consumer name for Redis groups, a client id for Kafka.
    - ``group``: the mapping's stable consumer group / durable name,
      ``kappa-<namespace>-<mapping>`` unless the block names one.
    - ``batch_size``, ``starting_position`` (``LATEST``, ``TRIM_HORIZON``,
      ``AT_TIMESTAMP``; None for sources without one) and
      ``starting_position_timestamp_ms``: from the spec, for prefetch sizes
      and where a new consumer group starts.
    - ``state``: a small persistent key-value store the source may use for
      what must survive a poller restart (the schedule's last fire time);
      None when the poller runs without one.
    """

    block: Any
    namespace: str
    mapping_name: str
    consumer_name: str
    group: str
    batch_size: int
    region: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    starting_position: str | None = None
    starting_position_timestamp_ms: int | None = None
    state: "StateStore | None" = None


@dataclass(frozen=True)
class EventContext:
    """What a ``shape`` may use besides the records (pure data)."""

    event_source_arn: str
    """The ARN the event shows for the source (from ``Source.event_source_arn``)."""
    aws_region: str
    function_arn: str
    block: Any
    """The spec's source block (e.g. Kafka's bootstrap servers and topic)."""


class FailureCondition(enum.StrEnum):
    """Why records went to the failure destination (Lambda's ``condition`` words)."""

    RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
    RECORD_AGE_EXCEEDED = "MaximumRecordAgeExceeded"
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"


@dataclass(frozen=True)
class Failure:
    """What went wrong for records sent to a failure destination."""

    condition: FailureCondition
    function_error: str | None
    """``X-Amz-Function-Error`` of the last attempt (``Unhandled``...), or None."""
    response_payload: bytes | None
    approximate_invoke_count: int
    request_id: str | None
    timestamp_ms: int


@runtime_checkable
class Source(Protocol):
    """One connected source: the imperative shell around a broker client."""

    ordered: bool
    """Records of one ``Record.key`` must be processed in order (see the module doc)."""
    event_source_arn: str
    """The ARN the events show, e.g. ``arn:aws:sqs:us-east-1:000000000000:orders``."""

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:
        """Up to ``max_records`` records, waiting up to ``wait_seconds`` for the first.

        Returns early with what it has (possibly nothing) once some records are
        in hand or the wait is over; the runner calls again to fill a batch
        window. Raises ``SourceUnreachableError`` / ``SourceCredentialsError`` /
        ``SourceNotFoundError`` when the broker fails.
        """
        ...

    async def ack(self, records: Sequence[Record]) -> None:
        """Records done for good: delete / commit / acknowledge them."""
        ...

    async def release(self, records: Sequence[Record]) -> None:
        """Records to deliver again (retry); ordered sources before later ones of their key."""
        ...

    async def backlog(self) -> int | None:
        """Records waiting (SQS visible messages, Kafka lag...), None when unknown."""
        ...

    async def close(self) -> None:
        """Let go of the broker; records in hand return by the broker's own means."""
        ...


@runtime_checkable
class FailureDestination(Protocol):
    """Where records that failed for good go (``destinationConfig.onFailure``)."""

    async def deliver(self, records: Sequence[Record], failure: Failure) -> None:
        """Send ``records`` (their bodies as the source held them) with ``failure`` attached.

        Must not return before the destination holds them: the runner acks
        them at the source right after.
        """
        ...

    async def close(self) -> None:
        """Let go of the destination's connection."""
        ...


class StateStore(Protocol):
    """A few strings that survive a poller restart (kept in the mapping's status)."""

    async def load(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""
        ...

    async def save(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``; returns once it is durable."""
        ...


class SourceError(Exception):
    """A problem of the source a user fixes outside the poller; shown as a condition.

    ``reason`` is the CamelCase reason of the mapping's ``Ready=False``
    condition; the message says what is wrong and what to check.
    """

    reason: str = "SourceError"


class SourceUnreachableError(SourceError):
    """The broker cannot be reached (connection refused, timeout, DNS)."""

    reason = "SourceUnreachable"


class SourceCredentialsError(SourceError):
    """The broker refused the credentials (or they are missing from the Secret)."""

    reason = "CredentialsRejected"


class SourceNotFoundError(SourceError):
    """The queue, topic, stream or subject does not exist."""

    reason = "SourceNotFoundError"


# ---------------------------------------------------------------- a source module

Shape = Callable[[Sequence[Record], EventContext], object]
FilterView = Callable[[Record, EventContext], dict[str, Any]]
OpenSource = Callable[[SourceConfig], Awaitable[Source]]
OpenDestination = Callable[[SourceConfig, str], Awaitable[FailureDestination]]


def default_filter_view(record: Record, context: EventContext) -> dict[str, Any]:  # noqa: ARG001
    """What patterns see when the module defines no ``filter_view``: body (JSON if it is)."""
    return {"body": parsed(record.body), "attributes": dict(record.attributes), "key": record.key}


@dataclass(frozen=True)
class SourceModule:
    """The parts of one source kind's module."""

    open_source: OpenSource
    shape: Shape
    filter_view: FilterView
    open_failure_destination: OpenDestination | None
