"""The ``EventSourceMapping`` resource (``kappa.dev/v1alpha1``, short name ``esm``).

A mapping feeds a Function from a queue, a stream or a schedule, as Lambda's
event source mappings do: a poller reads records in batches and invokes the
function through the gateway. The spec mirrors Lambda's
``CreateEventSourceMapping`` (BatchSize, MaximumBatchingWindowInSeconds,
ParallelizationFactor, StartingPosition, BisectBatchOnFunctionError,
MaximumRetryAttempts, MaximumRecordAgeInSeconds, FunctionResponseTypes,
FilterCriteria, DestinationConfig.OnFailure, Enabled) with one source block
of six (kafka, sqs, rabbitmq, nats, redisStreams, schedule).

Kappa's choices where Lambda has none that fits:

- Credentials come from Secrets of the mapping's namespace (``secretKeyRef``),
  never literal in the spec.
- ``destinationConfig.onFailure`` is a Function of the namespace (invoked
  asynchronously with a Lambda-style invocation record) or a ``target`` of the
  source's own broker (an SQS queue URL, a NATS subject, a Kafka topic, a
  RabbitMQ queue, a Redis stream), which receives the failed records as they
  were, as a dead-letter queue does.
- Defaults per source when ``batchSize`` is unset: 10 for SQS and RabbitMQ,
  100 for streams, 1 for schedules (see ``default_batch_size``).
- Filter patterns (``filterCriteria.filters[].pattern``) are JSON text as in
  Lambda; the models parse them (``kappa.api.filters``), the API
  server cannot, so a pattern it lets through but the operator cannot read
  becomes ``Ready=False`` with reason ``InvalidSpec``.

Pure: no I/O, no kopf, no kubernetes client, no clock.
"""

import enum
import json
from datetime import datetime
from typing import Annotated, ClassVar, Final, Literal

from pydantic import Field

from kappa.api.cron import (
    EVENTBRIDGE_BARE_MESSAGE,
    EVENTBRIDGE_BARE_PATTERN,
    RATE_FORM,
    RATE_MESSAGE,
    RATE_PATTERN,
    SCHEDULE_MESSAGE,
    SCHEDULE_PATTERN,
)
from kappa.api.meta import (
    ApiVersion,
    ConfigMapKey,
    FunctionName,
    KappaModel,
    ObjectMeta,
    ObjectName,
    ObservedGeneration,
    StatusConditions,
)
from kappa.api.names import DNS1123_LABEL_MAX_LENGTH
from kappa.api.rules import Rule, exactly_one, pattern_rule, refused_pattern_rule

KIND: Final = "EventSourceMapping"
PLURAL: Final = "eventsourcemappings"
SINGULAR: Final = "eventsourcemapping"
SHORT_NAMES: Final = ("esm",)
CATEGORIES: Final = ("kappa",)

BATCH_SIZE_MIN: Final = 1
BATCH_SIZE_MAX: Final = 10_000
SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX: Final = 10
BATCHING_WINDOW_MAX: Final = 300
PARALLELIZATION_MAX: Final = 10
RETRY_ATTEMPTS_MAX: Final = 10_000
RECORD_AGE_MIN: Final = 60
RECORD_AGE_MAX: Final = 604_800
FILTERS_MAX: Final = 5
FILTER_PATTERN_MAX_LENGTH: Final = 4096
PAYLOAD_MAX_LENGTH: Final = 262_144
NAME_MAX_LENGTH: Final = 255
ADDRESS_MAX_ITEMS: Final = 16

URL_PATTERN: Final = r"(https?|amqps?|nats|tls|rediss?)://[!-~]+"
HOST_PORT_PATTERN: Final = r"[A-Za-z0-9]([-.A-Za-z0-9]*[A-Za-z0-9])?:[0-9]{1,5}"
# A queue, topic, stream or subject name: printable ASCII without spaces.
SOURCE_NAME_PATTERN: Final = r"[!-~]+"
TIME_ZONE_PATTERN: Final = r"[A-Za-z][-+_/A-Za-z0-9]*"


# ----------------------------------------------------------------- pieces


class SecretKeyRef(KappaModel):
    """A key of a Secret in the mapping's namespace, read by the poller at start."""

    name: ObjectName = Field(description="Name of the Secret.")
    key: ConfigMapKey = Field(description="The key that holds the value.")


class SecretValue(KappaModel):
    """A credential, from a Secret (never literal in the spec)."""

    secret_key_ref: SecretKeyRef = Field(description="The Secret key that holds the value.")


SourceName = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX_LENGTH),
    pattern_rule(SOURCE_NAME_PATTERN, "must be a name without spaces"),
]

HostPort = Annotated[
    str,
    Field(max_length=NAME_MAX_LENGTH),
    pattern_rule(HOST_PORT_PATTERN, "must be host:port, e.g. 10.0.0.5:9092 or kafka-0:9092"),
]

Url = Annotated[
    str,
    Field(max_length=2048),
    pattern_rule(
        URL_PATTERN,
        "must be a URL such as http://10.0.0.5:9324/000000000000/orders, "
        "amqp://10.0.0.5:5672/, nats://10.0.0.5:4222 or redis://10.0.0.5:6379",
    ),
]


class StartingPosition(enum.StrEnum):
    """Where a new consumer of a stream starts (Lambda's StartingPosition)."""

    LATEST = "LATEST"
    TRIM_HORIZON = "TRIM_HORIZON"
    AT_TIMESTAMP = "AT_TIMESTAMP"


class FunctionResponseType(enum.StrEnum):
    """What the function's response may say (Lambda's FunctionResponseTypes)."""

    REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


class SaslMechanism(enum.StrEnum):
    """SASL mechanisms for Kafka."""

    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class FunctionRef(KappaModel):
    """A Function of the mapping's namespace."""

    name: FunctionName = Field(description="Name of the Function.")


# ----------------------------------------------------------------- sources


class SqsSource(KappaModel):
    """An SQS queue on any SQS-compatible endpoint (AWS, ElasticMQ, LocalStack...)."""

    queue_url: Url = Field(
        description=(
            "URL of the queue, e.g. http://10.0.0.5:9324/000000000000/orders; the SQS API "
            "is called at its scheme and host unless endpointUrl is set."
        )
    )
    endpoint_url: Url | None = Field(
        default=None, description="SQS API endpoint, when it differs from the queue URL's host."
    )
    region: (
        Annotated[str, Field(max_length=64), pattern_rule(r"[a-z0-9-]+", "must be a region")] | None
    ) = Field(default=None, description="Region to sign requests for; the operator's by default.")
    visibility_timeout_seconds: int | None = Field(
        default=None,
        ge=0,
        le=43_200,
        description=(
            "Visibility timeout of received messages; the queue's own by default. A failed "
            "message comes back after it, as in Lambda."
        ),
    )
    access_key_id: SecretValue | None = Field(
        default=None, description="AWS access key id (a Secret key)."
    )
    secret_access_key: SecretValue | None = Field(
        default=None, description="AWS secret access key (a Secret key)."
    )


class KafkaSasl(KappaModel):
    """SASL authentication to Kafka."""

    mechanism: SaslMechanism = Field(strict=False, description="PLAIN or SCRAM-SHA-256/512.")
    username: SecretValue = Field(description="The SASL user name.")
    password: SecretValue = Field(description="The SASL password.")


class KafkaSource(KappaModel):
    """A Kafka topic read by a consumer group; order is kept per partition."""

    bootstrap_servers: Annotated[tuple[HostPort, ...], Field(strict=False)] = Field(
        min_length=1, max_length=ADDRESS_MAX_ITEMS, description="Brokers as host:port."
    )
    topic: SourceName = Field(description="The topic.")
    consumer_group_id: SourceName | None = Field(
        default=None, description="Consumer group; kappa-<namespace>-<mapping> by default."
    )
    sasl: KafkaSasl | None = Field(default=None, description="SASL authentication.")
    tls: bool = Field(default=False, description="Connect with TLS.")


class RabbitMqSource(KappaModel):
    """A RabbitMQ queue (AMQP 0-9-1)."""

    url: Url = Field(description="amqp:// or amqps:// URL of the broker, without credentials.")
    queue: SourceName = Field(description="The queue.")
    virtual_host: SourceName = Field(default="/", description="The virtual host.")
    username: SecretValue | None = Field(default=None, description="User name.")
    password: SecretValue | None = Field(default=None, description="Password.")


class NatsSource(KappaModel):
    """A NATS JetStream stream read by a durable pull consumer."""

    servers: Annotated[tuple[Url, ...], Field(strict=False)] = Field(
        min_length=1, max_length=ADDRESS_MAX_ITEMS, description="nats:// URLs of the servers."
    )
    stream: SourceName = Field(description="The JetStream stream.")
    subject: SourceName | None = Field(
        default=None, description="Only messages of this subject (filter); all by default."
    )
    consumer: SourceName | None = Field(
        default=None, description="Durable consumer name; kappa-<namespace>-<mapping> by default."
    )
    username: SecretValue | None = Field(default=None, description="User name.")
    password: SecretValue | None = Field(default=None, description="Password.")
    token: SecretValue | None = Field(default=None, description="Authentication token.")


class RedisStreamsSource(KappaModel):
    """A Redis stream read by a consumer group."""

    url: Url = Field(description="redis:// or rediss:// URL, without credentials.")
    stream: SourceName = Field(description="The stream key.")
    group: SourceName | None = Field(
        default=None, description="Consumer group; kappa-<namespace>-<mapping> by default."
    )
    username: SecretValue | None = Field(default=None, description="User name (ACL).")
    password: SecretValue | None = Field(default=None, description="Password.")


def _json_problem(text: str) -> str | None:
    try:
        json.loads(text)
    except ValueError as error:
        return f"spec.schedule.payload must be JSON text: {error}"
    return None


class ScheduleSource(KappaModel):
    """A schedule: the function is invoked at each fire time with the payload."""

    cron: Annotated[
        str,
        Field(max_length=256),
        pattern_rule(SCHEDULE_PATTERN, SCHEDULE_MESSAGE),
        pattern_rule(RATE_PATTERN, RATE_MESSAGE, when=RATE_FORM),
        refused_pattern_rule(EVENTBRIDGE_BARE_PATTERN, EVENTBRIDGE_BARE_MESSAGE),
    ] = Field(
        description=(
            "When to fire: cron(minute hour day-of-month month day-of-week year) as "
            "EventBridge writes it (? L W #; day-of-week 1-7, 1 = Sunday), e.g. "
            "cron(0 12 * * ? *); rate(5 minutes) (rate(1 minute|hour|day) singular); "
            "@hourly, @daily, @weekly, @monthly, @yearly; crontab's five fields; or six "
            "fields with seconds first, e.g. */10 * * * * * (six bare fields that read as "
            "EventBridge's are refused: write cron(...))."
        )
    )
    time_zone: Annotated[
        str,
        Field(max_length=64),
        pattern_rule(TIME_ZONE_PATTERN, "spec.schedule.timeZone must be an IANA time zone name"),
    ] = Field(default="UTC", description="IANA time zone the cron is read in, e.g. Europe/Paris.")
    payload: (
        Annotated[
            str,
            Field(max_length=PAYLOAD_MAX_LENGTH),
            Rule(cel=None, message="must be JSON text", problem=_json_problem),
        ]
        | None
    ) = Field(
        default=None,
        description=(
            "JSON text the function receives as its event; without it, an EventBridge "
            "'Scheduled Event'."
        ),
    )


# ----------------------------------------------------------------- options


class Filter(KappaModel):
    """One filter pattern (Lambda's event filtering syntax)."""

    pattern: Annotated[str, Field(min_length=2, max_length=FILTER_PATTERN_MAX_LENGTH)] = Field(
        description='JSON text, e.g. {"body": {"kind": ["order"]}}.'
    )


class FilterCriteria(KappaModel):
    """Records that match none of the filters are dropped (acknowledged, not invoked)."""

    filters: Annotated[tuple[Filter, ...], Field(strict=False)] = Field(
        min_length=1, max_length=FILTERS_MAX, description="Up to five patterns, any may match."
    )


class OnFailure(KappaModel):
    """Where records go that failed for good: a Function, or a target of the source's broker."""

    rules: ClassVar = (
        exactly_one(
            ("function", "target"),
            "spec.destinationConfig.onFailure must set exactly one of function, target",
        ),
    )

    function: FunctionRef | None = Field(
        default=None,
        description="A Function invoked asynchronously with a Lambda invocation record.",
    )
    target: SourceName | None = Field(
        default=None,
        description=(
            "A queue (SQS URL, RabbitMQ queue), NATS subject, Kafka topic or Redis stream of "
            "the source's broker that receives the failed records as they were."
        ),
    )


class DestinationConfig(KappaModel):
    """Destinations of the mapping."""

    on_failure: OnFailure = Field(description="Where records that failed for good go.")


class SourceKind(enum.StrEnum):
    """The six source blocks, as spelt in the spec."""

    KAFKA = "kafka"
    SQS = "sqs"
    RABBITMQ = "rabbitmq"
    NATS = "nats"
    REDIS_STREAMS = "redisStreams"
    SCHEDULE = "schedule"


SOURCE_BLOCKS: Final = tuple(k.value for k in SourceKind)
STREAM_SOURCES: Final = ("kafka", "nats", "redisStreams")
_STARTING_POSITION_MESSAGE: Final = (
    "spec.startingPosition applies to stream sources only (kafka, nats, redisStreams): remove it"
)
_AT_TIMESTAMP_MESSAGE: Final = (
    "spec.startingPosition AT_TIMESTAMP needs spec.startingPositionTimestamp"
)
_SQS_WINDOW_MESSAGE: Final = (
    f"spec.batchSize over {SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX} for sqs needs "
    "spec.maximumBatchingWindowSeconds of at least 1 (as in Lambda)"
)
_TARGET_MESSAGE: Final = (
    "spec.destinationConfig.onFailure.target needs a source with a broker: a schedule "
    "has none; use onFailure.function"
)
_BISECT_MESSAGE: Final = (
    "spec.bisectBatchOnFunctionError applies to stream sources only (kafka, nats, "
    "redisStreams): remove it"
)
_RECORD_AGE_MESSAGE: Final = (
    f"spec.maximumRecordAgeSeconds must be -1 (no limit) or {RECORD_AGE_MIN}-{RECORD_AGE_MAX}"
)


def _set_block(spec: "EventSourceMappingSpec") -> str | None:
    return next((k for k in SOURCE_BLOCKS if getattr(spec, _attr(k)) is not None), None)


def _attr(block: str) -> str:
    return "redis_streams" if block == "redisStreams" else block


def _cel_has_any(blocks: tuple[str, ...]) -> str:
    return " || ".join(f"has(self.{b})" for b in blocks)


class EventSourceMappingSpec(KappaModel):
    """Which source feeds which Function, and how records are batched, retried and filtered."""

    rules: ClassVar = (
        exactly_one(
            SOURCE_BLOCKS,
            "spec must set exactly one source: kafka, sqs, rabbitmq, nats, redisStreams "
            "or schedule",
        ),
        Rule(
            cel=f"!has(self.startingPosition) || {_cel_has_any(STREAM_SOURCES)}",
            message=_STARTING_POSITION_MESSAGE,
            field_path=".startingPosition",
            problem=lambda s: (
                _STARTING_POSITION_MESSAGE
                if s.starting_position is not None and _set_block(s) not in STREAM_SOURCES
                else None
            ),
        ),
        Rule(
            cel=(
                "!has(self.startingPosition) || self.startingPosition != 'AT_TIMESTAMP'"
                " || has(self.startingPositionTimestamp)"
            ),
            message=_AT_TIMESTAMP_MESSAGE,
            field_path=".startingPositionTimestamp",
            problem=lambda s: (
                _AT_TIMESTAMP_MESSAGE
                if s.starting_position is StartingPosition.AT_TIMESTAMP
                and s.starting_position_timestamp is None
                else None
            ),
        ),
        Rule(
            cel=(
                f"!has(self.sqs) || !has(self.batchSize) || self.batchSize <= "
                f"{SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX} || self.maximumBatchingWindowSeconds >= 1"
            ),
            message=_SQS_WINDOW_MESSAGE,
            field_path=".maximumBatchingWindowSeconds",
            problem=lambda s: (
                _SQS_WINDOW_MESSAGE
                if s.sqs is not None
                and s.batch_size is not None
                and s.batch_size > SQS_BATCH_SIZE_WITHOUT_WINDOW_MAX
                and s.maximum_batching_window_seconds < 1
                else None
            ),
        ),
        Rule(
            cel=(
                "!has(self.schedule) || !has(self.destinationConfig)"
                " || !has(self.destinationConfig.onFailure.target)"
            ),
            message=_TARGET_MESSAGE,
            field_path=".destinationConfig.onFailure.target",
            problem=lambda s: (
                _TARGET_MESSAGE
                if s.schedule is not None
                and s.destination_config is not None
                and s.destination_config.on_failure.target is not None
                else None
            ),
        ),
        Rule(
            cel=f"!self.bisectBatchOnFunctionError || {_cel_has_any(STREAM_SOURCES)}",
            message=_BISECT_MESSAGE,
            field_path=".bisectBatchOnFunctionError",
            problem=lambda s: (
                _BISECT_MESSAGE
                if s.bisect_batch_on_function_error and _set_block(s) not in STREAM_SOURCES
                else None
            ),
        ),
    )

    function_ref: FunctionRef = Field(description="The Function invoked with the batches.")
    kafka: KafkaSource | None = Field(default=None, description="A Kafka topic.")
    sqs: SqsSource | None = Field(default=None, description="An SQS queue.")
    rabbitmq: RabbitMqSource | None = Field(default=None, description="A RabbitMQ queue.")
    nats: NatsSource | None = Field(default=None, description="A NATS JetStream stream.")
    redis_streams: RedisStreamsSource | None = Field(
        default=None, description="A Redis stream, read by a consumer group."
    )
    schedule: ScheduleSource | None = Field(
        default=None, description="A schedule (cron, rate or crontab)."
    )
    batch_size: int | None = Field(
        default=None,
        ge=BATCH_SIZE_MIN,
        le=BATCH_SIZE_MAX,
        description=(
            "Most records per invocation (1-10000); by default 10 for sqs and rabbitmq, "
            "100 for streams, 1 for schedules."
        ),
    )
    maximum_batching_window_seconds: int = Field(
        default=0,
        ge=0,
        le=BATCHING_WINDOW_MAX,
        description="Longest wait to fill a batch, in seconds (0-300).",
    )
    parallelization_factor: int = Field(
        default=1,
        ge=1,
        le=PARALLELIZATION_MAX,
        description=(
            "Concurrent batches (1-10): for queues, concurrent pollers; for streams, "
            "consumers of the group (order is kept per partition/key)."
        ),
    )
    starting_position: StartingPosition | None = Field(
        default=None,
        strict=False,
        description="Where a new consumer of a stream starts: LATEST (default), TRIM_HORIZON "
        "or AT_TIMESTAMP.",
    )
    starting_position_timestamp: datetime | None = Field(
        default=None, strict=False, description="Start time for AT_TIMESTAMP (RFC 3339)."
    )
    bisect_batch_on_function_error: bool = Field(
        default=False,
        description="Streams: on a function error, split the batch in two and retry each half.",
    )
    maximum_retry_attempts: int = Field(
        default=-1,
        ge=-1,
        le=RETRY_ATTEMPTS_MAX,
        description="Retries of a failed record before it goes to onFailure; -1: no limit.",
    )
    maximum_record_age_seconds: Annotated[
        int,
        Rule(
            cel=f"self == -1 || (self >= {RECORD_AGE_MIN} && self <= {RECORD_AGE_MAX})",
            message=_RECORD_AGE_MESSAGE,
            problem=lambda v: (
                None if v == -1 or RECORD_AGE_MIN <= v <= RECORD_AGE_MAX else _RECORD_AGE_MESSAGE
            ),
        ),
    ] = Field(
        default=-1,
        ge=-1,
        le=RECORD_AGE_MAX,
        description=(
            f"Older records go to onFailure unprocessed; -1: no limit, else "
            f"{RECORD_AGE_MIN}-{RECORD_AGE_MAX} seconds."
        ),
    )
    function_response_types: Annotated[
        tuple[Annotated[FunctionResponseType, Field(strict=False)], ...],
        Field(max_length=1, strict=False),
    ] = Field(
        default=(),
        description=(
            "[ReportBatchItemFailures]: the function returns "
            '{"batchItemFailures": [{"itemIdentifier": ...}]} to fail only some records.'
        ),
    )
    filter_criteria: FilterCriteria | None = Field(
        default=None, description="Only records matching a filter invoke the function."
    )
    destination_config: DestinationConfig | None = Field(
        default=None, description="Where records that failed for good go."
    )
    enabled: bool = Field(default=True, description="false stops polling (the poller is removed).")
    service_account_name: ObjectName | None = Field(
        default=None,
        description=(
            "ServiceAccount the poller pods run as (kappa-poller by default): one whose "
            "cloud identity (IRSA, EKS Pod Identity) the source's credentials come from. It "
            "needs the kappa-poller Role of its namespace bound to it."
        ),
    )

    @property
    def kind(self) -> SourceKind:
        """Which source block is set."""
        block = _set_block(self)
        if block is None:  # pragma: no cover - the exactly-one rule holds
            msg = "no source block"
            raise ValueError(msg)
        return SourceKind(block)

    @property
    def block(self) -> KappaModel:
        """The source block that is set."""
        value = getattr(self, _attr(self.kind.value))
        assert isinstance(value, KappaModel)  # noqa: S101 - the exactly-one rule holds
        return value

    @property
    def effective_batch_size(self) -> int:
        """``batchSize``, or the default for the source."""
        if self.batch_size is not None:
            return self.batch_size
        return default_batch_size(self.kind)

    @property
    def reports_item_failures(self) -> bool:
        """Whether the function answers with ``batchItemFailures``."""
        return FunctionResponseType.REPORT_BATCH_ITEM_FAILURES in self.function_response_types


def default_batch_size(kind: SourceKind) -> int:
    """Lambda's default batch size for the kind of source (1 for schedules)."""
    if kind is SourceKind.SCHEDULE:
        return 1
    if kind.value in STREAM_SOURCES:
        return 100
    return 10


# ------------------------------------------------------------------ status


class MappingState(enum.StrEnum):
    """Lambda's mapping states that apply to Kappa."""

    CREATING = "Creating"
    ENABLED = "Enabled"
    DISABLED = "Disabled"


class SourceStatus(KappaModel):
    """What the poller reports (it writes only this part of the status)."""

    connected: bool | None = Field(default=None, description="The poller reaches the source.")
    reason: str | None = Field(default=None, description="Why not, CamelCase.")
    message: str | None = Field(default=None, description="What is wrong and what to check.")
    backlog: int | None = Field(
        default=None, ge=0, description="Records waiting in the source (visible messages, lag)."
    )
    last_processing_result: str | None = Field(
        default=None,
        description="OK, PROBLEM: ... or No records processed, as Lambda's LastProcessingResult.",
    )
    last_poll_time: datetime | None = Field(
        default=None, strict=False, description="When the poller last reported."
    )
    records_processed: int | None = Field(
        default=None, ge=0, description="Records the poller finished since it started."
    )
    state: Annotated[dict[str, Annotated[str, Field(max_length=1024)]], Field(max_length=16)] = (
        Field(
            default_factory=dict,
            description="What a source keeps across poller restarts (the schedule's last fire).",
        )
    )


class EventSourceMappingStatus(KappaModel):
    """What Kappa observed of the mapping; written by the operator and the poller."""

    conditions: StatusConditions = Field(
        default=(),
        max_length=32,
        description="Ready, FunctionFound, SourceConnected, PollerReady.",
    )
    observed_generation: ObservedGeneration = None
    state: MappingState | None = Field(
        default=None, strict=False, description="Creating, Enabled or Disabled."
    )
    pollers: int | None = Field(default=None, ge=0, description="Poller pods ready.")
    source: SourceStatus | None = Field(default=None, description="What the poller reports.")
    uuid: str | None = Field(default=None, description="The mapping's UUID (its uid), as Lambda.")


_NAME_LENGTH_MESSAGE: Final = (
    f"metadata.name must be at most {DNS1123_LABEL_MAX_LENGTH - 4} characters: it names the "
    "poller Deployment (esm-<name>)"
)


class EventSourceMapping(KappaModel):
    """Feeds a Function with batches of records from a queue, a stream or a schedule."""

    rules: ClassVar = (
        Rule(
            cel=f"size(self.metadata.name) <= {DNS1123_LABEL_MAX_LENGTH - 4}",
            message=_NAME_LENGTH_MESSAGE,
            field_path=".metadata.name",
            problem=lambda m: (
                _NAME_LENGTH_MESSAGE
                if len(m.metadata.name) > DNS1123_LABEL_MAX_LENGTH - 4
                else None
            ),
        ),
    )

    api_version: ApiVersion = "kappa.dev/v1alpha1"
    kind: Literal["EventSourceMapping"] = Field(default=KIND, description="EventSourceMapping.")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: EventSourceMappingSpec = Field(description="Source, function and batching.")
    status: EventSourceMappingStatus | None = Field(
        default=None, description="What Kappa observed; written by the operator and the poller."
    )


def secret_refs(block: KappaModel) -> dict[str, SecretKeyRef]:
    """The credentials a source block names, by field name (nested blocks included).

    ``{"username": SecretKeyRef(...), "password": ...}`` for Kafka SASL, say:
    the poller receives each as ``KAPPA_ESM_SECRET_<FIELD>``.
    """
    found: dict[str, SecretKeyRef] = {}
    for name, info in type(block).model_fields.items():
        value = getattr(block, name)
        alias = info.alias or name
        if isinstance(value, SecretValue):
            found[alias] = value.secret_key_ref
        elif isinstance(value, KappaModel):
            found.update(secret_refs(value))
    return found
