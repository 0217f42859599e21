"""EventSourceMapping manifests the API must refuse or accept: one table for the models and the API server.

tests/unit/api/test_event_source_mapping.py checks the pydantic models against it;
e2e/test_esm.py applies the same manifests (server-side dry run) to the real
API server with the generated CRD. ``says`` is a substring both give;
``apiserver_says``/``model_says`` where each words it its own way.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.api.function_cases import Refusal

QUEUE = "http://10.88.0.1:9324/000000000000/orders"
_DELETE = object()
DELETE = _DELETE

_BASE_SPEC: dict[str, Any] = {"functionRef": {"name": "worker"}, "sqs": {"queueUrl": QUEUE}}


def manifest(name: str = "orders", **spec: Any) -> dict[str, Any]:
    """A valid SQS mapping with `spec` fields replaced (`DELETE` drops one)."""
    body = copy.deepcopy(_BASE_SPEC)
    for key, value in spec.items():
        if value is _DELETE:
            body.pop(key, None)
        else:
            body[key] = value
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "EventSourceMapping",
        "metadata": {"name": name},
        "spec": body,
    }


def kafka(**spec: Any) -> dict[str, Any]:
    return manifest(sqs=DELETE, kafka={"bootstrapServers": ["10.0.0.5:9092"], "topic": "t"}, **spec)


def schedule(**spec: Any) -> dict[str, Any]:
    return manifest(sqs=DELETE, schedule={"cron": "*/5 * * * *"}, **spec)


def _refused(case_id: str, refusal: Refusal) -> Any:
    return pytest.param(refusal, id=case_id)


REFUSED = [
    _refused("no-source", Refusal(manifest(sqs=DELETE), "spec must set exactly one source")),
    _refused(
        "two-sources",
        Refusal(manifest(schedule={"cron": "* * * * *"}), "spec must set exactly one source"),
    ),
    _refused(
        "no-function-ref",
        Refusal(
            manifest(functionRef=DELETE),
            apiserver_says="spec.functionRef: Required value",
            model_says="functionRef\n  Field required",
        ),
    ),
    _refused(
        "function-name-not-dns",
        Refusal(manifest(functionRef={"name": "Worker_1"}), "must be the name of a Function"),
    ),
    _refused("batch-size-zero", Refusal(manifest(batchSize=0), "greater than or equal to 1")),
    _refused(
        "batch-size-above-10000",
        Refusal(kafka(batchSize=10001), "less than or equal to 10000"),
    ),
    _refused(
        "sqs-batch-over-10-without-window",
        Refusal(manifest(batchSize=100), "needs spec.maximumBatchingWindowSeconds of at least 1"),
    ),
    _refused(
        "window-above-300",
        Refusal(manifest(maximumBatchingWindowSeconds=301), "less than or equal to 300"),
    ),
    _refused(
        "parallelization-zero",
        Refusal(manifest(parallelizationFactor=0), "greater than or equal to 1"),
    ),
    _refused(
        "parallelization-above-10",
        Refusal(manifest(parallelizationFactor=11), "less than or equal to 10"),
    ),
    _refused(
        "retries-below-minus-one",
        Refusal(manifest(maximumRetryAttempts=-2), "greater than or equal to -1"),
    ),
    _refused(
        "retries-above-10000",
        Refusal(manifest(maximumRetryAttempts=10001), "less than or equal to 10000"),
    ),
    _refused(
        "record-age-between-limits",
        Refusal(manifest(maximumRecordAgeSeconds=30), "must be -1 (no limit) or 60-604800"),
    ),
    _refused(
        "starting-position-on-sqs",
        Refusal(manifest(startingPosition="LATEST"), "applies to stream sources only"),
    ),
    _refused(
        "starting-position-unknown",
        Refusal(
            kafka(startingPosition="EARLIEST"),
            apiserver_says='supported values: "LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"',
            model_says="Input should be 'LATEST', 'TRIM_HORIZON' or 'AT_TIMESTAMP'",
        ),
    ),
    _refused(
        "at-timestamp-without-timestamp",
        Refusal(kafka(startingPosition="AT_TIMESTAMP"), "needs spec.startingPositionTimestamp"),
    ),
    _refused(
        "bisect-on-sqs",
        Refusal(manifest(bisectBatchOnFunctionError=True), "applies to stream sources only"),
    ),
    _refused(
        "unknown-response-type",
        Refusal(
            manifest(functionResponseTypes=["ReportItems"]),
            apiserver_says='supported values: "ReportBatchItemFailures"',
            model_says="Input should be 'ReportBatchItemFailures'",
        ),
    ),
    _refused(
        "six-filters",
        Refusal(
            manifest(filterCriteria={"filters": [{"pattern": "{}"}] * 6}),
            apiserver_says="must have at most 5 items",
            model_says="at most 5 items",
        ),
    ),
    _refused(
        "on-failure-both",
        Refusal(
            manifest(
                destinationConfig={"onFailure": {"function": {"name": "dlq"}, "target": "dead"}}
            ),
            "must set exactly one of function, target",
        ),
    ),
    _refused(
        "on-failure-target-for-schedule",
        Refusal(
            schedule(destinationConfig={"onFailure": {"target": "dead"}}),
            "a schedule has none; use onFailure.function",
        ),
    ),
    _refused(
        "queue-url-not-a-url",
        Refusal(manifest(sqs={"queueUrl": "orders"}), "must be a URL"),
    ),
    _refused(
        "kafka-server-without-port",
        Refusal(
            manifest(sqs=DELETE, kafka={"bootstrapServers": ["kafka"], "topic": "t"}),
            "must be host:port",
        ),
    ),
    _refused(
        "cron-with-four-fields",
        Refusal(
            manifest(sqs=DELETE, schedule={"cron": "* * * *"}),
            "spec.schedule.cron must be cron(minute hour day-of-month month day-of-week year)",
        ),
    ),
    _refused(
        "cron-eventbridge-fields-bare",
        Refusal(
            manifest(sqs=DELETE, schedule={"cron": "0 12 * * ? *"}),
            "EventBridge syntax? write cron(...)",
        ),
    ),
    _refused(
        "cron-eventbridge-year-bare",
        Refusal(
            manifest(sqs=DELETE, schedule={"cron": "0 12 * * MON 2027"}),
            "EventBridge syntax? write cron(...)",
        ),
    ),
    _refused(
        "cron-eventbridge-five-fields-inside",
        Refusal(
            manifest(sqs=DELETE, schedule={"cron": "cron(0 12 * * ?)"}),
            "spec.schedule.cron must be cron(minute hour day-of-month month day-of-week year)",
        ),
    ),
    _refused(
        "rate-plural-for-one",
        Refusal(
            manifest(sqs=DELETE, schedule={"cron": "rate(1 minutes)"}),
            "singular for 1, plural above",
        ),
    ),
    _refused(
        "secret-without-key",
        Refusal(
            manifest(sqs={"queueUrl": QUEUE, "accessKeyId": {"secretKeyRef": {"name": "aws"}}}),
            apiserver_says="secretKeyRef.key: Required value",
            model_says="key\n  Field required",
        ),
    ),
    _refused(
        "credential-as-literal",
        Refusal(
            manifest(sqs={"queueUrl": QUEUE, "accessKeyId": "AKIA1234"}),
            apiserver_says="must be of type object",
            model_says="Input should be a valid dictionary or instance of SecretValue",
        ),
    ),
    _refused(
        "name-too-long",
        Refusal(manifest(name="a" * 60), "metadata.name must be at most 59 characters"),
    ),
    _refused(
        "service-account-bad-name",
        Refusal(manifest(serviceAccountName="Sqs_Reader"), "must be a Kubernetes object name"),
    ),
    _refused(
        "service-account-path",
        Refusal(
            manifest(serviceAccountName="../kube-system/admin"), "must be a Kubernetes object name"
        ),
    ),
    _refused(
        "service-account-namespaced",
        Refusal(
            manifest(serviceAccountName="system:serviceaccount:default:sa"),
            "must be a Kubernetes object name",
        ),
    ),
    _refused(
        "service-account-empty",
        Refusal(manifest(serviceAccountName=""), "must be a Kubernetes object name"),
    ),
    _refused(
        "service-account-trailing-dot",
        Refusal(manifest(serviceAccountName="sqs-reader."), "must be a Kubernetes object name"),
    ),
    _refused(
        "service-account-not-a-string",
        Refusal(
            manifest(serviceAccountName=["sqs-reader"]),
            apiserver_says="must be of type string",
            model_says="Input should be a valid string",
        ),
    ),
]

ACCEPTED = [
    pytest.param(manifest(), id="sqs-minimal"),
    pytest.param(
        manifest(
            batchSize=100,
            maximumBatchingWindowSeconds=2,
            parallelizationFactor=4,
            maximumRetryAttempts=3,
            maximumRecordAgeSeconds=3600,
            functionResponseTypes=["ReportBatchItemFailures"],
            filterCriteria={"filters": [{"pattern": '{"body": {"kind": ["order"]}}'}]},
            destinationConfig={"onFailure": {"target": "orders-dlq"}},
            enabled=False,
            serviceAccountName="sqs-reader.irsa",
            sqs={
                "queueUrl": QUEUE,
                "region": "eu-west-1",
                "visibilityTimeoutSeconds": 5,
                "accessKeyId": {"secretKeyRef": {"name": "aws", "key": "id"}},
                "secretAccessKey": {"secretKeyRef": {"name": "aws", "key": "secret"}},
            },
        ),
        id="sqs-everything",
    ),
    pytest.param(
        kafka(
            startingPosition="AT_TIMESTAMP",
            startingPositionTimestamp="2026-11-27T08:00:00Z",
            bisectBatchOnFunctionError=True,
        ),
        id="kafka-at-timestamp",
    ),
    pytest.param(
        schedule(destinationConfig={"onFailure": {"function": {"name": "alarm"}}}),
        id="schedule-to-function",
    ),
    pytest.param(
        manifest(
            sqs=DELETE,
            schedule={"cron": "0 9 * * MON-FRI", "timeZone": "Europe/Paris", "payload": '{"a": 1}'},
        ),
        id="schedule-with-payload",
    ),
    pytest.param(
        manifest(sqs=DELETE, schedule={"cron": "cron(0 12 * * ? *)"}),
        id="schedule-eventbridge-cron",
    ),
    pytest.param(
        manifest(sqs=DELETE, schedule={"cron": "cron(15 10 ? * 6L 2027-2029)"}),
        id="schedule-eventbridge-last-friday",
    ),
    pytest.param(manifest(sqs=DELETE, schedule={"cron": "rate(5 minutes)"}), id="schedule-rate"),
    pytest.param(manifest(sqs=DELETE, schedule={"cron": "@hourly"}), id="schedule-macro"),
    pytest.param(
        manifest(sqs=DELETE, schedule={"cron": "*/10 * * * * *"}), id="schedule-seconds-first"
    ),
    pytest.param(
        manifest(sqs=DELETE, nats={"servers": ["nats://10.0.0.5:4222"], "stream": "ORDERS"}),
        id="nats",
    ),
    pytest.param(
        manifest(sqs=DELETE, redisStreams={"url": "redis://10.0.0.5:6379", "stream": "s"}),
        id="redis-streams",
    ),
    pytest.param(
        manifest(sqs=DELETE, rabbitmq={"url": "amqp://10.0.0.5:5672", "queue": "q"}),
        id="rabbitmq",
    ),
]
