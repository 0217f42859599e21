"""The Lambda API's event source mapping bodies, in and out. Pure: JSON and objects in.

Kappa's ``EventSourceMapping`` holds what Lambda's does, with the source spelt out; the
calls map Lambda's request fields onto it and back:

- ``EventSourceArn`` of an SQS queue (``arn:aws:sqs:REGION:ACCOUNT:QUEUE``) is the
  queue at ``https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE``; for an SQS-compatible
  server (ElasticMQ, LocalStack) the queue's URL itself is taken in its place;
- ``SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS`` with one of ``Topics``
  is a Kafka topic; ``SourceAccessConfigurations`` ``SASL_SCRAM_256_AUTH``,
  ``SASL_SCRAM_512_AUTH`` or ``BASIC_AUTH`` (PLAIN) name a Secret (its name, or the last
  part of a Secrets Manager ARN) whose ``username`` and ``password`` keys hold the
  credentials, as Lambda's secret does;
- the other sources (RabbitMQ, NATS, Redis Streams, schedules) have no Lambda spelling:
  they are applied as manifests and read back through these calls.

``DestinationConfig.OnFailure.Destination`` is a function's ARN (the Function of that
name in the mapping's namespace) or, for SQS, a queue's ARN or URL. A field Lambda has
but Kappa does not keep is refused with 400 naming it, never dropped unseen.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from kappa.api import event_source_mapping as esm
from kappa.base.arn import function_arn, parse_function_arn
from kappa.gateway.catalog import page_after
from kappa.gateway.control_shapes import text
from kappa.invocation.errors import invalid_parameter
from kappa.invocation.function_name import FunctionRef, parse_function_name

_SQS_ARN: Final = re.compile(r"arn:aws[a-z-]*:sqs:([a-z0-9-]+):([0-9]{12}|[a-z0-9-]{1,63}):(.+)")
_BOOTSTRAP: Final = "KAFKA_BOOTSTRAP_SERVERS"
_SASL: Final = {
    "SASL_SCRAM_256_AUTH": "SCRAM-SHA-256",
    "SASL_SCRAM_512_AUTH": "SCRAM-SHA-512",
    "BASIC_AUTH": "PLAIN",
}
_SECRET_ARN: Final = re.compile(r"arn:aws[a-z-]*:secretsmanager:[^:]*:[^:]*:secret:(.+)")
_SECRET_NAME: Final = re.compile(r"[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?")
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TEXT_MAX: Final = 2048
# The request fields that map onto the common part of the spec, and their spec names.
_NUMBERS: Final = {
    "BatchSize": "batchSize",
    "MaximumBatchingWindowInSeconds": "maximumBatchingWindowSeconds",
    "ParallelizationFactor": "parallelizationFactor",
    "MaximumRetryAttempts": "maximumRetryAttempts",
    "MaximumRecordAgeInSeconds": "maximumRecordAgeSeconds",
}
_COMMON: Final = frozenset(
    {
        *_NUMBERS,
        "FunctionName",
        "Enabled",
        "BisectBatchOnFunctionError",
        "FunctionResponseTypes",
        "FilterCriteria",
        "DestinationConfig",
    }
)
CREATE_FIELDS: Final = _COMMON | {
    "EventSourceArn",
    "StartingPosition",
    "StartingPositionTimestamp",
    "Topics",
    "SelfManagedEventSource",
    "SourceAccessConfigurations",
    "SelfManagedKafkaEventSourceConfig",
}
UPDATE_FIELDS: Final = _COMMON


def uuid(value: str) -> str:
    """A mapping's ``UUID`` from the path; 400 when it is not one."""
    if not _UUID.fullmatch(value):
        raise invalid_parameter(f"UUID {value[:64]!r} is not a UUID.")
    return value


def _known(body: Mapping[str, Any], fields: frozenset[str]) -> None:
    unknown = sorted(set(body) - fields)
    if unknown:
        raise invalid_parameter(
            f"{', '.join(unknown)}: not supported by Kappa's event source mappings "
            "(docs/lambda-compatibility.md); remove, or apply an EventSourceMapping manifest."
        )


def _string_list(body: Mapping[str, Any], field: str, *, most: int) -> list[str]:
    value = body.get(field)
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= most
        or not all(isinstance(v, str) and 0 < len(v) <= TEXT_MAX for v in value)
    ):
        raise invalid_parameter(f"{field} must be a list of 1 to {most} non-empty strings.")
    return list(value)


def function_ref(body: Mapping[str, Any]) -> FunctionRef:
    """The ``FunctionName`` a request names (required)."""
    name = text(body, "FunctionName", limit=TEXT_MAX)
    if not name:
        raise invalid_parameter("FunctionName is required.")
    return parse_function_name(name)


def _common(body: Mapping[str, Any], namespace: str, source: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for field, key in _NUMBERS.items():
        value = body.get(field)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool):
                raise invalid_parameter(f"{field} must be a whole number.")
            spec[key] = value
    for field, key in (
        ("Enabled", "enabled"),
        ("BisectBatchOnFunctionError", "bisectBatchOnFunctionError"),
    ):
        value = body.get(field)
        if value is not None:
            if not isinstance(value, bool):
                raise invalid_parameter(f"{field} must be true or false.")
            spec[key] = value
    if "FunctionResponseTypes" in body:
        spec["functionResponseTypes"] = (
            _string_list(body, "FunctionResponseTypes", most=1)
            if body["FunctionResponseTypes"]
            else []
        )
    if "FilterCriteria" in body:
        spec["filterCriteria"] = _filters(body["FilterCriteria"])
    if "DestinationConfig" in body:
        spec["destinationConfig"] = _destination(body["DestinationConfig"], namespace, source)
    return spec


def _filters(value: object) -> dict[str, Any] | None:
    if value in ({}, None) or (isinstance(value, dict) and value.get("Filters") == []):
        return None  # Lambda removes the filters
    filters = value.get("Filters") if isinstance(value, dict) else None
    if (
        not isinstance(filters, list)
        or not all(isinstance(f, dict) and isinstance(f.get("Pattern"), str) for f in filters)
        or len(filters) > esm.FILTERS_MAX
    ):
        raise invalid_parameter(
            f'FilterCriteria must be {{"Filters": [{{"Pattern": "..."}}]}}, '
            f"at most {esm.FILTERS_MAX} filters."
        )
    return {"filters": [{"pattern": f["Pattern"]} for f in filters]}


def _destination(value: object, namespace: str, source: str | None) -> dict[str, Any] | None:
    if isinstance(value, dict) and set(value) - {"OnFailure"}:
        raise invalid_parameter("DestinationConfig takes OnFailure only in Kappa's mappings.")
    on_failure = value.get("OnFailure") if isinstance(value, dict) else None
    if value in ({}, None) or on_failure in ({}, None):
        return None
    destination = on_failure.get("Destination") if isinstance(on_failure, dict) else None
    if not isinstance(destination, str) or not 0 < len(destination) <= TEXT_MAX:
        raise invalid_parameter(
            'DestinationConfig must be {"OnFailure": {"Destination": ARN}}: a function\'s ARN, '
            "or for SQS a queue's ARN or URL."
        )
    if destination.startswith("arn:") and ":function:" in destination:
        target = parse_function_arn(destination)
        if target is None or target.namespace != namespace:
            raise invalid_parameter(
                f"DestinationConfig's function must be in namespace {namespace}, as the mapping."
            )
        return {"onFailure": {"function": {"name": target.name}}}
    if source == "sqs":
        return {"onFailure": {"target": _queue_url(destination, "DestinationConfig")}}
    raise invalid_parameter(
        "DestinationConfig.OnFailure.Destination must be a function's ARN (or, for SQS, a "
        "queue's); other targets need an EventSourceMapping manifest."
    )


def _queue_url(value: str, field: str) -> str:
    """An SQS queue's URL from its ARN, or the URL given in its place."""
    found = _SQS_ARN.fullmatch(value)
    if found is not None:
        region, account, queue = found.groups()
        return f"https://sqs.{region}.amazonaws.com/{account}/{queue}"
    parts = urlsplit(value)
    if parts.scheme in {"http", "https"} and parts.netloc and parts.path.strip("/"):
        return value
    raise invalid_parameter(
        f"{field} {value[:128]!r} is neither an SQS queue's ARN nor its URL; Kappa's "
        "mappings take SQS queues and self-managed Kafka through this call (others: apply "
        "an EventSourceMapping manifest)."
    )


def _kafka(body: Mapping[str, Any]) -> dict[str, Any]:
    managed = body.get("SelfManagedEventSource")
    endpoints = managed.get("Endpoints") if isinstance(managed, dict) else None
    if not isinstance(endpoints, dict) or set(endpoints) != {_BOOTSTRAP}:
        raise invalid_parameter(
            f'SelfManagedEventSource must be {{"Endpoints": {{"{_BOOTSTRAP}": ["host:port"]}}}}.'
        )
    servers = _string_list(endpoints, _BOOTSTRAP, most=esm.ADDRESS_MAX_ITEMS)
    topics = _string_list(body, "Topics", most=1)
    kafka: dict[str, Any] = {"bootstrapServers": servers, "topic": topics[0]}
    group = body.get("SelfManagedKafkaEventSourceConfig")
    if group is not None:
        found = group.get("ConsumerGroupId") if isinstance(group, dict) else None
        if not isinstance(found, str) or not 0 < len(found) <= esm.NAME_MAX_LENGTH:
            raise invalid_parameter(
                'SelfManagedKafkaEventSourceConfig must be {"ConsumerGroupId": "..."}.'
            )
        kafka["consumerGroupId"] = found
    sasl = _sasl(body.get("SourceAccessConfigurations"))
    if sasl is not None:
        kafka["sasl"] = sasl
    return kafka


def _sasl(value: object) -> dict[str, Any] | None:
    if value is None or value == []:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 1
        or not isinstance(value[0], dict)
        or value[0].get("Type") not in _SASL
        or not isinstance(value[0].get("URI"), str)
    ):
        raise invalid_parameter(
            "SourceAccessConfigurations must be one of "
            f"{', '.join(sorted(_SASL))} with the URI of a Secret holding username and password."
        )
    uri = value[0]["URI"]
    found = _SECRET_ARN.fullmatch(uri)
    secret = found.group(1) if found else uri
    if not _SECRET_NAME.fullmatch(secret):
        raise invalid_parameter(
            f"SourceAccessConfigurations URI {uri[:128]!r} must name a Secret of the "
            "mapping's namespace (its name, or an ARN ending in secret:NAME)."
        )
    return {
        "mechanism": _SASL[value[0]["Type"]],
        "username": {"secretKeyRef": {"name": secret, "key": "username"}},
        "password": {"secretKeyRef": {"name": secret, "key": "password"}},
    }


def _starting(body: Mapping[str, Any], spec: dict[str, Any]) -> None:
    position = body.get("StartingPosition")
    if position is None:
        return
    if position not in {p.value for p in esm.StartingPosition}:
        raise invalid_parameter("StartingPosition must be LATEST, TRIM_HORIZON or AT_TIMESTAMP.")
    spec["startingPosition"] = position
    stamp = body.get("StartingPositionTimestamp")
    if stamp is not None:
        if not isinstance(stamp, int | float) or isinstance(stamp, bool) or stamp < 0:
            raise invalid_parameter("StartingPositionTimestamp must be a time (seconds).")
        spec["startingPositionTimestamp"] = (
            datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")
        )


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """What CreateEventSourceMapping asks for: the Function and the mapping's spec."""

    function: FunctionRef
    spec: dict[str, Any]


def create_request(body: Mapping[str, Any]) -> CreateRequest:
    """CreateEventSourceMapping's body as a spec (400 naming the field to fix)."""
    _known(body, CREATE_FIELDS)
    ref = function_ref(body)
    arn = text(body, "EventSourceArn", limit=TEXT_MAX)
    if arn is not None and "SelfManagedEventSource" in body:
        raise invalid_parameter("Give EventSourceArn or SelfManagedEventSource, not both.")
    spec: dict[str, Any]
    if arn is not None:
        kafka_only = ("Topics", "SourceAccessConfigurations", "SelfManagedKafkaEventSourceConfig")
        if any(field in body for field in (*kafka_only, "StartingPosition")):
            raise invalid_parameter(
                "An SQS mapping takes no Topics, SourceAccessConfigurations, "
                "SelfManagedKafkaEventSourceConfig or StartingPosition."
            )
        spec = {"sqs": {"queueUrl": _queue_url(arn, "EventSourceArn")}}
        source = "sqs"
    elif "SelfManagedEventSource" in body:
        spec = {"kafka": _kafka(body)}
        _starting(body, spec)
        source = "kafka"
    else:
        raise invalid_parameter(
            "EventSourceArn (an SQS queue) or SelfManagedEventSource (Kafka) is required."
        )
    spec.update(_common(body, ref.namespace, source))
    spec["functionRef"] = {"name": ref.name}
    return CreateRequest(ref, {k: v for k, v in spec.items() if v is not None})


def update_patch(
    body: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], FunctionRef | None]:
    """UpdateEventSourceMapping's body as a merge patch of the spec (None removes a field).

    With ``FunctionName``, the Function it names (which must be in the mapping's
    namespace) is returned too.
    """
    _known(body, UPDATE_FIELDS)
    namespace = str((current.get("metadata") or {}).get("namespace") or "")
    spec = current.get("spec") or {}
    source = next((block for block in esm.SOURCE_BLOCKS if block in spec), None)
    patch = _common(body, namespace, source)
    ref = None
    if "FunctionName" in body:
        ref = function_ref(body)
        if ref.namespace != namespace:
            raise invalid_parameter(
                f"FunctionName must name a Function of namespace {namespace}, as the mapping."
            )
        patch["functionRef"] = {"name": ref.name}
    return patch, ref


# ------------------------------------------------------------------- answers


def _state(obj: Mapping[str, Any]) -> str:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Deleting"
    wanted = "Enabled" if spec.get("enabled", True) else "Disabled"
    seen = status.get("state")
    if seen == wanted:
        return wanted
    if seen is None or seen == "Creating":
        return "Creating" if wanted == "Enabled" else "Disabling"
    return "Enabling" if wanted == "Enabled" else "Disabling"


def _last_modified(obj: Mapping[str, Any]) -> float | None:
    stamps = [
        str(entry.get("time"))
        for entry in (obj.get("metadata") or {}).get("managedFields") or []
        if isinstance(entry, dict) and entry.get("time")
    ]
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    stamps.extend([str(created)] if created else [])
    times = [_seconds(stamp) for stamp in stamps]
    found = [t for t in times if t is not None]
    return max(found) if found else None


def _seconds(stamp: str) -> float | None:
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


def _source_fields(spec: Mapping[str, Any], region: str) -> dict[str, Any]:
    if "sqs" in spec:
        url = str((spec["sqs"] or {}).get("queueUrl") or "")
        parts = urlsplit(url)
        path = [p for p in parts.path.split("/") if p]
        host = parts.hostname or ""
        queue_region = host.split(".")[1] if host.startswith("sqs.") and "." in host else region
        arn = f"arn:aws:sqs:{queue_region}:{path[0]}:{path[-1]}" if len(path) >= 2 else url  # noqa: PLR2004
        return {"EventSourceArn": arn}
    if "kafka" in spec:
        kafka = spec["kafka"] or {}
        found: dict[str, Any] = {
            "SelfManagedEventSource": {
                "Endpoints": {_BOOTSTRAP: list(kafka.get("bootstrapServers") or [])}
            },
            "Topics": [kafka.get("topic")],
        }
        if kafka.get("consumerGroupId"):
            found["SelfManagedKafkaEventSourceConfig"] = {
                "ConsumerGroupId": kafka["consumerGroupId"]
            }
        return found
    for block, field in (("rabbitmq", "queue"), ("nats", "stream"), ("redisStreams", "stream")):
        if block in spec:
            return {"Queues": [(spec[block] or {}).get(field)]}
    return {}


def configuration(obj: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Lambda's ``EventSourceMappingConfiguration`` of an EventSourceMapping object."""
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    namespace = str(metadata.get("namespace") or "")
    function = str((spec.get("functionRef") or {}).get("name") or "")
    kind = next((esm.SourceKind(b) for b in esm.SOURCE_BLOCKS if b in spec), None)
    batch = spec.get("batchSize") or (esm.default_batch_size(kind) if kind else None)
    answer: dict[str, Any] = {
        "UUID": metadata.get("uid"),
        "FunctionArn": function_arn(region, namespace, function),
        "BatchSize": batch,
        "MaximumBatchingWindowInSeconds": spec.get("maximumBatchingWindowSeconds", 0),
        "ParallelizationFactor": spec.get("parallelizationFactor", 1),
        "MaximumRetryAttempts": spec.get("maximumRetryAttempts", -1),
        "MaximumRecordAgeInSeconds": spec.get("maximumRecordAgeSeconds", -1),
        "BisectBatchOnFunctionError": spec.get("bisectBatchOnFunctionError", False),
        "FunctionResponseTypes": list(spec.get("functionResponseTypes") or []),
        "State": _state(obj),
        "StateTransitionReason": "USER_INITIATED",
        "LastProcessingResult": (status.get("source") or {}).get("lastProcessingResult")
        or "No records processed",
        **_source_fields(spec, region),
    }
    modified = _last_modified(obj)
    if modified is not None:
        answer["LastModified"] = modified
    optional = {
        "StartingPosition": spec.get("startingPosition"),
        "StartingPositionTimestamp": _stamp(spec.get("startingPositionTimestamp")),
        "FilterCriteria": _filters_out(spec.get("filterCriteria")),
        "DestinationConfig": _destination_out(spec, region, namespace),
    }
    answer.update({key: value for key, value in optional.items() if value is not None})
    return answer


def _stamp(value: object) -> float | None:
    return _seconds(value) if isinstance(value, str) else None


def _filters_out(value: object) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {"Filters": [{"Pattern": f.get("pattern")} for f in value.get("filters") or []]}


def _destination_out(spec: Mapping[str, Any], region: str, namespace: str) -> Any:
    on_failure = (spec.get("destinationConfig") or {}).get("onFailure") or {}
    if on_failure.get("function"):
        name = str(on_failure["function"].get("name") or "")
        return {"OnFailure": {"Destination": function_arn(region, namespace, name)}}
    if on_failure.get("target"):
        return {"OnFailure": {"Destination": on_failure["target"]}}
    return None


def page(
    items: Sequence[Mapping[str, Any]], marker: str | None, most: int
) -> tuple[list[Mapping[str, Any]], str | None]:
    """The page of mappings after ``marker`` (``catalog.page_after``), by namespace and name."""
    return page_after(items, _key, marker, most)


def _key(item: Mapping[str, Any]) -> tuple[str, str]:
    metadata = item.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
