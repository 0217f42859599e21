"""The Lambda API's event source mapping bodies: requests onto the resource and back."""

from typing import Any

import pytest

from kappa.api import event_source_mapping as esm
from kappa.gateway import esm_shapes
from kappa.invocation.errors import GatewayError

pytestmark = pytest.mark.unit

REGION = "us-east-1"
UID = "6d9c2f1e-0b7a-4c1d-9e3f-1a2b3c4d5e6f"


def refused(call: Any, *args: Any) -> str:
    with pytest.raises(GatewayError) as caught:
        call(*args)
    assert caught.value.status == 400
    return caught.value.message


def valid(spec: dict[str, Any]) -> esm.EventSourceMapping:
    """The spec as the API's model reads it: what the API server would be sent."""
    return esm.EventSourceMapping.model_validate(
        {"metadata": {"name": "m", "namespace": "team"}, "spec": spec}
    )


def test_an_sqs_arn_is_the_queue_at_its_regions_endpoint() -> None:
    wanted = esm_shapes.create_request(
        {
            "FunctionName": "team/orders",
            "EventSourceArn": "arn:aws:sqs:eu-west-1:123456789012:orders",
            "BatchSize": 50,
            "MaximumBatchingWindowInSeconds": 5,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": False,
        }
    )
    assert (wanted.function.namespace, wanted.function.name) == ("team", "orders")
    assert wanted.spec == {
        "sqs": {"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"},
        "batchSize": 50,
        "maximumBatchingWindowSeconds": 5,
        "functionResponseTypes": ["ReportBatchItemFailures"],
        "enabled": False,
        "functionRef": {"name": "orders"},
    }
    assert valid(wanted.spec).spec.effective_batch_size == 50


def test_a_queue_url_stands_for_the_arn_of_an_sqs_compatible_server() -> None:
    url = "http://10.0.0.5:9324/000000000000/orders"
    wanted = esm_shapes.create_request({"FunctionName": "orders", "EventSourceArn": url})
    assert wanted.spec["sqs"] == {"queueUrl": url}
    assert wanted.function.namespace == "default"


def test_self_managed_kafka_with_a_scram_secret() -> None:
    wanted = esm_shapes.create_request(
        {
            "FunctionName": "arn:aws:lambda:us-east-1:team:function:sink",
            "SelfManagedEventSource": {
                "Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["kafka-0:9092", "kafka-1:9092"]}
            },
            "Topics": ["orders"],
            "StartingPosition": "AT_TIMESTAMP",
            "StartingPositionTimestamp": 1_700_000_000,
            "SourceAccessConfigurations": [
                {
                    "Type": "SASL_SCRAM_512_AUTH",
                    "URI": "arn:aws:secretsmanager:us-east-1:1:secret:kafka-creds",
                }
            ],
            "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "sinks"},
        }
    )
    assert wanted.spec["kafka"] == {
        "bootstrapServers": ["kafka-0:9092", "kafka-1:9092"],
        "topic": "orders",
        "consumerGroupId": "sinks",
        "sasl": {
            "mechanism": "SCRAM-SHA-512",
            "username": {"secretKeyRef": {"name": "kafka-creds", "key": "username"}},
            "password": {"secretKeyRef": {"name": "kafka-creds", "key": "password"}},
        },
    }
    assert wanted.spec["startingPosition"] == "AT_TIMESTAMP"
    assert wanted.spec["startingPositionTimestamp"] == "2023-11-14T22:13:20Z"
    parsed = valid(wanted.spec).spec
    assert parsed.kind is esm.SourceKind.KAFKA
    assert parsed.starting_position_timestamp is not None


def test_on_failure_to_a_function_of_the_same_namespace_or_a_queue() -> None:
    to_function = esm_shapes.create_request(
        {
            "FunctionName": "team/orders",
            "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders",
            "DestinationConfig": {
                "OnFailure": {"Destination": "arn:aws:lambda:us-east-1:team:function:failed"}
            },
        }
    )
    assert to_function.spec["destinationConfig"] == {"onFailure": {"function": {"name": "failed"}}}
    to_queue = esm_shapes.create_request(
        {
            "FunctionName": "team/orders",
            "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders",
            "DestinationConfig": {
                "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"}
            },
        }
    )
    assert to_queue.spec["destinationConfig"] == {
        "onFailure": {"target": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"}
    }
    valid(to_function.spec)
    valid(to_queue.spec)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q"}, "FunctionName is required"),
        ({"FunctionName": "f"}, "EventSourceArn (an SQS queue) or SelfManagedEventSource"),
        (
            {"FunctionName": "f", "EventSourceArn": "arn:aws:kinesis:us-east-1:1:stream/s"},
            "neither an SQS queue's ARN nor its URL",
        ),
        (
            {
                "FunctionName": "f",
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                "Topics": ["t"],
            },
            "An SQS mapping takes no Topics",
        ),
        (
            {
                "FunctionName": "f",
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                "ScalingConfig": {"MaximumConcurrency": 5},
                "KMSKeyArn": "k",
            },
            "KMSKeyArn, ScalingConfig: not supported",
        ),
        (
            {
                "FunctionName": "f",
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                "BatchSize": "10",
            },
            "BatchSize must be a whole number",
        ),
        (
            {
                "FunctionName": "f",
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                "Enabled": "yes",
            },
            "Enabled must be true or false",
        ),
        (
            {
                "FunctionName": "team/f",
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                "DestinationConfig": {
                    "OnFailure": {"Destination": "arn:aws:lambda:us-east-1:other:function:g"}
                },
            },
            "must be in namespace team",
        ),
        (
            {
                "FunctionName": "f",
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                "DestinationConfig": {"OnSuccess": {"Destination": "x"}},
            },
            "OnFailure only",
        ),
        (
            {
                "FunctionName": "f",
                "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["k:9092"]}},
                "Topics": ["a", "b"],
            },
            "Topics must be a list of 1 to 1",
        ),
        (
            {
                "FunctionName": "f",
                "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["k:9092"]}},
                "Topics": ["a"],
                "SourceAccessConfigurations": [{"Type": "VPC_SUBNET", "URI": "subnet:1"}],
            },
            "SourceAccessConfigurations must be one of",
        ),
        (
            {
                "FunctionName": "f",
                "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["k:9092"]}},
                "Topics": ["a"],
                "SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": "../etc/passwd"}],
            },
            "must name a Secret",
        ),
        (
            {
                "FunctionName": "f",
                "SelfManagedEventSource": {"Endpoints": {"OTHER": ["x"]}},
                "Topics": ["a"],
            },
            "SelfManagedEventSource must be",
        ),
        (
            {
                "FunctionName": "f",
                "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["k:9092"]}},
                "Topics": ["a"],
                "StartingPosition": "SOMEWHERE",
            },
            "StartingPosition must be",
        ),
        (
            {
                "FunctionName": "f",
                "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                "FilterCriteria": {"Filters": [{"Pattern": 5}]},
            },
            "FilterCriteria must be",
        ),
    ],
)
def test_a_request_kappa_cannot_keep_is_refused_naming_the_field(
    body: dict[str, Any], says: str
) -> None:
    assert says in refused(esm_shapes.create_request, body)


def test_hostile_uuids_are_refused_before_any_lookup() -> None:
    assert esm_shapes.uuid(UID) == UID
    for bad in ("", "../../x", UID.upper(), UID + "0", "x" * 10_000):
        assert "is not a UUID" in refused(esm_shapes.uuid, bad)


def mapping(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "orders-1a2b3c4d",
            "namespace": "team",
            "uid": UID,
            "creationTimestamp": "2026-12-04T08:00:00Z",
            "managedFields": [{"time": "2026-12-04T08:05:00Z"}],
        },
        "spec": {"functionRef": {"name": "orders"}, **spec},
        "status": status or {},
    }


def test_the_configuration_of_an_sqs_mapping_names_its_queue_by_arn() -> None:
    found = esm_shapes.configuration(
        mapping(
            {
                "sqs": {"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"},
                "filterCriteria": {"filters": [{"pattern": '{"body": {"a": [1]}}'}]},
                "destinationConfig": {"onFailure": {"function": {"name": "failed"}}},
            },
            {"state": "Enabled", "source": {"lastProcessingResult": "OK"}},
        ),
        REGION,
    )
    assert found == {
        "UUID": UID,
        "FunctionArn": "arn:aws:lambda:us-east-1:team:function:orders",
        "EventSourceArn": "arn:aws:sqs:eu-west-1:123456789012:orders",
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
        "ParallelizationFactor": 1,
        "MaximumRetryAttempts": -1,
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False,
        "FunctionResponseTypes": [],
        "State": "Enabled",
        "StateTransitionReason": "USER_INITIATED",
        "LastProcessingResult": "OK",
        "LastModified": 1796371500.0,
        "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"a": [1]}}'}]},
        "DestinationConfig": {
            "OnFailure": {"Destination": "arn:aws:lambda:us-east-1:team:function:failed"}
        },
    }


def test_the_configuration_of_kafka_and_of_kappas_own_sources() -> None:
    kafka = esm_shapes.configuration(
        mapping({"kafka": {"bootstrapServers": ["k:9092"], "topic": "t"}, "batchSize": 7}),
        REGION,
    )
    assert kafka["SelfManagedEventSource"] == {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["k:9092"]}}
    assert kafka["Topics"] == ["t"]
    assert kafka["BatchSize"] == 7
    assert "EventSourceArn" not in kafka
    nats = esm_shapes.configuration(
        mapping({"nats": {"servers": ["nats://n:4222"], "stream": "s"}}), REGION
    )
    assert nats["Queues"] == ["s"]
    assert nats["BatchSize"] == 100
    schedule = esm_shapes.configuration(mapping({"schedule": {"cron": "rate(1 minute)"}}), REGION)
    assert schedule["BatchSize"] == 1
    assert "Queues" not in schedule


@pytest.mark.parametrize(
    ("enabled", "seen", "deleting", "state"),
    [
        (True, None, False, "Creating"),
        (True, "Creating", False, "Creating"),
        (True, "Enabled", False, "Enabled"),
        (True, "Disabled", False, "Enabling"),
        (False, "Disabled", False, "Disabled"),
        (False, "Enabled", False, "Disabling"),
        (False, None, False, "Disabling"),
        (True, "Enabled", True, "Deleting"),
    ],
)
def test_the_state_follows_what_is_asked_and_what_the_operator_saw(
    enabled: bool,  # noqa: FBT001 - a parameter of the table
    seen: str | None,
    deleting: bool,  # noqa: FBT001 - a parameter of the table
    state: str,
) -> None:
    obj = mapping({"sqs": {"queueUrl": "http://q:9324/0/q"}, "enabled": enabled},
                  {"state": seen} if seen else {})  # fmt: skip
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2026-12-04T09:00:00Z"
    assert esm_shapes.configuration(obj, REGION)["State"] == state


def test_an_update_is_a_merge_patch_that_can_remove_filters_and_move_the_function() -> None:
    current = mapping({"sqs": {"queueUrl": "http://q:9324/0/q"}, "batchSize": 5})
    patch, ref = esm_shapes.update_patch(
        {
            "BatchSize": 9,
            "FilterCriteria": {},
            "DestinationConfig": {},
            "FunctionName": "team/other",
        },
        current,
    )
    assert patch == {
        "batchSize": 9,
        "filterCriteria": None,
        "destinationConfig": None,
        "functionRef": {"name": "other"},
    }
    assert ref is not None
    assert ref.name == "other"
    patch, ref = esm_shapes.update_patch({"Enabled": False}, current)
    assert (patch, ref) == ({"enabled": False}, None)


def test_an_update_cannot_move_a_mapping_to_another_namespace_or_its_source() -> None:
    current = mapping({"sqs": {"queueUrl": "http://q:9324/0/q"}})
    assert "namespace team" in refused(
        esm_shapes.update_patch, {"FunctionName": "other/orders"}, current
    )
    assert "EventSourceArn: not supported" in refused(
        esm_shapes.update_patch, {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:x"}, current
    )


def test_pages_follow_namespace_and_name_and_survive_deletions() -> None:
    items = [
        {"metadata": {"namespace": ns, "name": name}}
        for ns, name in (("a", "x"), ("a", "y"), ("b", "x"))
    ]
    first, marker = esm_shapes.page(items, None, 2)
    assert [i["metadata"]["name"] for i in first] == ["x", "y"]
    assert marker == "a/y"
    rest, end = esm_shapes.page(items[:1] + items[2:], marker, 2)  # a/y deleted meanwhile
    assert rest == [items[2]]
    assert end is None
    assert "Invalid Marker" in refused(esm_shapes.page, items, "no-slash", 2)
