"""A SAM function's ``Events`` as Kappa sees them: EventSourceMappings, or notes.

| SAM event type     | Kappa                                                          |
|--------------------|----------------------------------------------------------------|
| SQS                | a mapping with ``sqs`` (the queue's URL from its ARN or logical id) |
| Schedule           | a mapping with ``schedule`` (EventBridge's cron()/rate() as written) |
| ScheduleV2         | the same (``ScheduleExpressionTimezone`` → ``timeZone``)        |
| SelfManagedKafka   | a mapping with ``kafka``, one per topic                         |
| MQ                 | a mapping with ``rabbitmq`` when Broker resolves to an amqp(s):// URL |
| Api, HttpApi       | nothing to make: every Function has an HTTP trigger; notes say what differs |
| MSK, others        | notes: no Kappa source reads them                               |

Each mapping spec comes without ``functionRef`` (the caller names the Function). Pure.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kappa.cli.sam_intrinsics import Context, describe, is_intrinsic, resolve
from kappa.cli.sam_properties import Options, PropertyReader, Unmapped, kappa_name

_SQS_ARN: Final = re.compile(r"arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]+)")
_AWS_SQS_URL: Final = re.compile(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com/")
_COMMON: Final = {
    "BatchSize": "batchSize",
    "MaximumBatchingWindowInSeconds": "maximumBatchingWindowSeconds",
    "Enabled": "enabled",
    "FunctionResponseTypes": "functionResponseTypes",
    "StartingPosition": "startingPosition",
    "MaximumRetryAttempts": "maximumRetryAttempts",
    "MaximumRecordAgeInSeconds": "maximumRecordAgeSeconds",
    "BisectBatchOnFunctionError": "bisectBatchOnFunctionError",
    "ParallelizationFactor": "parallelizationFactor",
}
"""Properties every polled source names as Lambda's EventSourceMapping does."""
_REASONS: Final = {
    "SourceAccessConfigurations": "credentials in AWS Secrets Manager: put them in a "
    "Kubernetes Secret and name it in the mapping's source block",
    "ScalingConfig": "pollers are sized by parallelizationFactor; left out",
    "KmsKeyArn": "filter criteria are not encrypted by Kappa; left out",
    "MetricsConfig": "every poller serves its metrics on /metrics; left out",
    "DestinationConfig": "Kappa sends failed records to a Function or a queue of the same "
    "broker (spec.destinationConfig.onFailure), not to an ARN: set it on the mapping",
    "DeadLetterConfig": "no ARN destinations: set spec.destinationConfig.onFailure",
    "RetryPolicy": "a schedule fires once per time; its invocation retries as the Function's",
    "Name": "names the AWS rule; the mapping is named after the function and the event",
    "Description": "describes the AWS rule; left out",
    "FlexibleTimeWindow": "a schedule fires at its time; left out",
    "GroupName": "EventBridge Scheduler groups: left out",
    "StartDate": "a schedule runs while its mapping is enabled; left out",
    "EndDate": "a schedule runs while its mapping is enabled; left out",
    "PermissionsBoundary": "IAM: left out",
    "RoleArn": "IAM: left out",
    "OmitName": "left out",
    "DynamicPolicyName": "IAM: left out",
    "Auth": "the HTTP trigger authenticates as spec.url.authType says (KUBERNETES by "
    "default; NONE for a public endpoint)",
    "RestApiId": "every Function has its own HTTP trigger; no shared API",
    "ApiId": "every Function has its own HTTP trigger; no shared API",
    "RequestParameters": "the HTTP trigger passes every request on; left out",
    "RequestModel": "the HTTP trigger validates no body; left out",
    "TimeoutInMillis": "the Function's timeoutSeconds bounds the call",
    "PayloadFormatVersion": "the HTTP trigger sends payload format 2.0",
    "RouteSettings": "left out",
}


@dataclass(frozen=True)
class EventMapping:
    """An EventSourceMapping to make for one event of a function."""

    suffix: str
    """The mapping is named ``<function>-<suffix>``."""
    spec: dict[str, Any]
    """Its spec, without ``functionRef``."""


def convert_event(
    where: str, event_id: str, event: Any, context: Context, options: Options
) -> tuple[list[EventMapping], list[Unmapped]]:
    """The mappings for one SAM event (``where``: ``Function.Events.Id``) and its notes."""
    if not isinstance(event, dict):
        return [], [Unmapped(where, "Type", "an event must be a mapping: left out")]
    kind = event.get("Type")
    reader = PropertyReader(where, event.get("Properties"), context)
    suffix = kappa_name(event_id, 30)
    convert = _CONVERTERS.get(str(kind))
    if convert is None:
        why = f"event type {kind} has no Kappa source (SQS, Schedule, ScheduleV2, "
        why += "SelfManagedKafka, MQ and Api/HttpApi map): left out"
        return [], [Unmapped(where, "Type", why)]
    specs = convert(reader, options)
    return [EventMapping(s, spec) for s, spec in _suffixed(suffix, specs)], reader.finish(_REASONS)


def _suffixed(suffix: str, specs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    if len(specs) == 1:
        return [(suffix, specs[0])]
    return [(f"{suffix}-{index}", spec) for index, spec in enumerate(specs, 1)]


def _common(reader: PropertyReader) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for sam, kappa in _COMMON.items():
        value = reader.get(sam)
        if value is not None:
            spec[kappa] = value
    timestamp = reader.get("StartingPositionTimestamp")
    if isinstance(timestamp, int | float):
        spec["startingPositionTimestamp"] = datetime.fromtimestamp(timestamp, UTC).isoformat()
    filters = reader.get("FilterCriteria")
    if isinstance(filters, dict) and isinstance(filters.get("Filters"), list):
        patterns = [f.get("Pattern") for f in filters["Filters"] if isinstance(f, dict)]
        spec["filterCriteria"] = {
            "filters": [
                {"pattern": p if isinstance(p, str) else json.dumps(p)}
                for p in patterns
                if p is not None
            ]
        }
    return spec


def queue_url(queue: str, options: Options, *, name_only: bool = False) -> str | None:
    """The URL of the queue an SQS ARN (or, ``name_only``, a queue name) names."""
    if queue.startswith(("http://", "https://")):
        return queue
    if name_only:
        region, account, name = options.region, options.account_id, queue
    else:
        match = _SQS_ARN.fullmatch(queue)
        if match is None:
            return None
        region, account, name = match.groups()
    base = options.sqs_endpoint or f"https://sqs.{region}.amazonaws.com"
    return f"{base.rstrip('/')}/{account}/{name}"


def _sqs(reader: PropertyReader, options: Options) -> list[dict[str, Any]]:
    url = _queue_of(reader, reader.raw("Queue"), options)
    if url is None:
        return []
    source: dict[str, Any] = {"queueUrl": url}
    aws = _AWS_SQS_URL.match(url)
    if aws is not None:
        source["region"] = aws.group(1)
    return [{"sqs": source, **_common(reader)}]


def resolve_or_none(value: Any, reader: PropertyReader) -> Any:
    """``value`` resolved, or None when it cannot be."""
    try:
        return resolve(value, reader.context)
    except ValueError:
        return None


def _queue_of(reader: PropertyReader, raw: Any, options: Options) -> str | None:
    """The queue's URL, from the ARN or URL the property resolves to."""
    if raw is None:
        reader.note("Queue", "required: the event is left out")
        return None
    value = resolve_or_none(raw, reader)
    url = queue_url(value, options) if isinstance(value, str) else None
    if url is None:
        shown = describe(raw) if is_intrinsic(raw) else repr(value)
        reader.note(
            "Queue",
            f"{shown} is no SQS queue ARN or URL this conversion can find (pass one with "
            "--parameter NAME=ARN): the event is left out",
        )
    return url


def _schedule(reader: PropertyReader, _: Options) -> list[dict[str, Any]]:
    expression = reader.get("Schedule") or reader.get("ScheduleExpression")
    if not isinstance(expression, str):
        reader.note("Schedule", "required (a cron() or rate() expression): the event is left out")
        return []
    if expression.startswith("at("):
        reader.note("Schedule", f"{expression}: one-time schedules are not supported: left out")
        return []
    schedule: dict[str, Any] = {"cron": expression}
    zone = reader.get("ScheduleExpressionTimezone")
    if zone is not None:
        schedule["timeZone"] = zone
    payload = reader.get("Input")
    if payload is not None:
        schedule["payload"] = payload if isinstance(payload, str) else json.dumps(payload)
    spec: dict[str, Any] = {"schedule": schedule}
    enabled = reader.get("Enabled")
    state = reader.get("State")
    if enabled is False or (isinstance(state, str) and state.upper() == "DISABLED"):
        spec["enabled"] = False
    return [spec]


def _kafka(reader: PropertyReader, _: Options) -> list[dict[str, Any]]:
    servers = reader.get("KafkaBootstrapServers")
    topics = reader.get("Topics")
    if not isinstance(servers, list) or not servers:
        reader.note("KafkaBootstrapServers", "required (host:port list): the event is left out")
        return []
    if not isinstance(topics, list) or not topics:
        reader.note("Topics", "required: the event is left out")
        return []
    kafka: dict[str, Any] = {"bootstrapServers": [str(s) for s in servers]}
    group = reader.get("ConsumerGroupId")
    config = reader.get("SelfManagedKafkaEventSourceConfig")
    if group is None and isinstance(config, dict):
        group = config.get("ConsumerGroupId")
    if group is not None:
        kafka["consumerGroupId"] = group
    common = _common(reader)
    return [{"kafka": {**kafka, "topic": str(topic)}, **common} for topic in topics]


def _msk(reader: PropertyReader, _: Options) -> list[dict[str, Any]]:
    reader.note(
        "Stream",
        "an MSK cluster ARN names no brokers: write a SelfManagedKafka event with "
        "KafkaBootstrapServers, or an EventSourceMapping with spec.kafka: the event is left out",
    )
    for name in ("Stream", "Topics", "StartingPosition", "ConsumerGroupId"):
        reader.raw(name)
    return []


def _mq(reader: PropertyReader, _options: Options) -> list[dict[str, Any]]:
    broker = reader.get("Broker")
    queues = reader.get("Queues")
    if not isinstance(broker, str) or not broker.startswith(("amqp://", "amqps://")):
        reader.note(
            "Broker",
            f"{broker!r} is no amqp:// URL: Kappa reads RabbitMQ queues from the broker's URL "
            "(make Broker a parameter and pass --parameter NAME=amqp://HOST:5672): "
            "the event is left out",
        )
        return []
    if not isinstance(queues, list) or not queues:
        reader.note("Queues", "required: the event is left out")
        return []
    scheme, _, rest = broker.partition("://")
    host, _, vhost = rest.partition("/")
    source: dict[str, Any] = {"url": f"{scheme}://{host}/"}
    if vhost:
        source["virtualHost"] = vhost
    common = _common(reader)
    return [{"rabbitmq": {**source, "queue": str(queue)}, **common} for queue in queues]


def _http(reader: PropertyReader, _: Options) -> list[dict[str, Any]]:
    for name in ("Path", "Method"):
        value = reader.get(name)
        if value is not None:
            reader.note(
                name,
                f"{value}: the Function's HTTP trigger /fn/<namespace>/<name>/ takes every "
                "path and method; the handler sees them in the event",
            )
    return []


def _rest_api(reader: PropertyReader, options: Options) -> list[dict[str, Any]]:
    reader.note(
        "Type",
        "Api (REST API, payload 1.0): the HTTP trigger sends API Gateway's HTTP API payload "
        "2.0 (rawPath, requestContext.http.method); a handler reading path or httpMethod "
        "needs changing",
    )
    return _http(reader, options)


_CONVERTERS: Final = {
    "SQS": _sqs,
    "Schedule": _schedule,
    "ScheduleV2": _schedule,
    "SelfManagedKafka": _kafka,
    "MSK": _msk,
    "MQ": _mq,
    "Api": _rest_api,
    "HttpApi": _http,
}
