"""The SQS source against a real ElasticMQ, feeding real handlers through the real gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.eventsources.conftest import World, sqs_mapping
from tests.integration.eventsources.harness import queue_empty, read_jsonl
from tests.integration.waiting import wait_until


def _delivered(task_root: Path) -> list[dict[str, Any]]:
    return [r for batch in read_jsonl(task_root / "batches.jsonl") for r in batch["records"]]


def _send(sqs: Any, url: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])
        ]
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def _receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    answer = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )
    return list(answer.get("Messages", []))


def test_every_message_is_delivered_in_batches_of_at_most_batch_size(world: World) -> None:
    sqs, queue, task_root = world.sqs, world.queue, world.task_root
    url = queue("orders")
    bodies = [f"message-{i}" for i in range(37)]
    _send(sqs, url, bodies)
    poller = world.poller(
        sqs_mapping(url, batchSize=4, maximumBatchingWindowSeconds=1, parallelizationFactor=2)
    )
    wait_until(lambda: len(_delivered(task_root)) >= len(bodies), 60, "every message")
    batches = read_jsonl(task_root / "batches.jsonl")
    assert all(1 <= len(b["records"]) <= 4 for b in batches)
    assert sorted(r["body"] for r in _delivered(task_root)) == sorted(bodies)
    record = _delivered(task_root)[0]
    assert record["source"] == "aws:sqs"
    assert record["arn"] == f"arn:aws:sqs:us-east-1:000000000000:{url.rsplit('/', 1)[1]}"
    wait_until(lambda: queue_empty(sqs, url), 20, "the queue to be empty")
    status = wait_until(
        lambda: [s for s in poller.statuses() if s.get("recordsProcessed") == len(bodies)],
        10,
        "a status report of every record",
    )[-1]
    assert status["connected"] is True
    assert status["lastProcessingResult"] == "OK"
    metrics = poller.metrics()
    assert f'kappa_esm_records_total{{fate="succeeded"}} {len(bodies)}.0' in metrics
    assert 'kappa_esm_batches_total{verdict="Success"}' in metrics


def test_a_failing_record_is_retried_then_sent_to_the_failure_queue(world: World) -> None:
    sqs, queue, task_root = world.sqs, world.queue, world.task_root
    url = queue("orders")
    dlq = queue("orders-dlq")
    _send(sqs, url, ["ok-1", "fail-1", "ok-2"])
    world.poller(
        sqs_mapping(
            url,
            sqs={"queueUrl": url, "visibilityTimeoutSeconds": 1},
            functionResponseTypes=["ReportBatchItemFailures"],
            maximumRetryAttempts=2,
            destinationConfig={"onFailure": {"target": dlq.rsplit("/", 1)[1]}},
        )
    )
    dead = wait_until(lambda: _receive_all(sqs, dlq), 60, "the failed message in the DLQ")
    assert [m["Body"] for m in dead] == ["fail-1"]
    attributes = dead[0]["MessageAttributes"]
    assert attributes["kappa-condition"]["StringValue"] == "RetryAttemptsExhausted"
    delivered = _delivered(task_root)
    failing = [r for r in delivered if r["body"] == "fail-1"]
    # The first try and two retries, each after the visibility timeout.
    assert [r["receive_count"] for r in failing] == [1, 2, 3]
    assert sorted(r["body"] for r in delivered if r["body"] != "fail-1") == ["ok-1", "ok-2"]
    wait_until(lambda: queue_empty(sqs, url), 20, "the source queue to be empty")


def test_a_function_failure_destination_gets_the_invocation_record(world: World) -> None:
    sqs, queue, task_root = world.sqs, world.queue, world.task_root
    url = queue("orders")
    _send(sqs, url, ["fail-alone"])
    world.poller(
        sqs_mapping(
            url,
            sqs={"queueUrl": url, "visibilityTimeoutSeconds": 1},
            functionResponseTypes=["ReportBatchItemFailures"],
            maximumRetryAttempts=0,
            destinationConfig={"onFailure": {"function": {"name": "dlq"}}},
        )
    )
    dead = wait_until(lambda: read_jsonl(task_root / "dead.jsonl"), 30, "the failure record")
    record = dead[0]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["functionArn"].endswith(":default:function:worker")
    assert [r["body"] for r in record["requestPayload"]["Records"]] == ["fail-alone"]
    assert record["responsePayload"]["batchItemFailures"][0]["itemIdentifier"]
    wait_until(lambda: queue_empty(sqs, url), 20, "the source queue to be empty")


def test_a_poller_killed_between_invoke_and_delete_has_its_batch_redelivered(
    world: World,
) -> None:
    sqs, queue, task_root = world.sqs, world.queue, world.task_root
    url = queue("orders")
    bodies = ["hold", "b", "c"]
    _send(sqs, url, bodies)
    mapping = sqs_mapping(url, sqs={"queueUrl": url, "visibilityTimeoutSeconds": 2}, batchSize=10)
    first = world.poller(mapping)
    started = wait_until(lambda: read_jsonl(task_root / "started.jsonl"), 30, "a batch in flight")
    # The function holds the batch until `release` exists: its invoke has not returned,
    # so a poller that deletes only after the invoke has deleted nothing of it.
    first.kill()
    (task_root / "release").touch()
    world.poller(mapping)
    wait_until(
        lambda: {r["body"] for r in _delivered(task_root)} >= set(bodies), 60, "every message"
    )
    in_flight = set(started[0]["ids"])
    wait_until(
        lambda: in_flight <= {r["id"] for r in _delivered(task_root) if r["receive_count"] >= 2},
        60,
        "the batch in flight at the kill received again",
    )
    wait_until(lambda: queue_empty(sqs, url), 30, "the queue to be empty")


def test_a_function_error_makes_the_batch_visible_again_after_the_timeout(world: World) -> None:
    sqs, queue, task_root = world.sqs, world.queue, world.task_root
    url = queue("orders", VisibilityTimeout="2")
    _send(sqs, url, ["boom-once", "neighbour"])
    world.poller(sqs_mapping(url, batchSize=10, maximumBatchingWindowSeconds=1))
    wait_until(lambda: len(_delivered(task_root)) >= 4, 60, "both messages twice")
    delivered = _delivered(task_root)
    by_body = {
        body: [r for r in delivered if r["body"] == body] for body in ("boom-once", "neighbour")
    }
    for records in by_body.values():
        assert [r["receive_count"] for r in records] == [1, 2]
        # The retry came after the queue's visibility timeout, not at once.
        assert records[1]["at"] - records[0]["at"] >= 1.5
    wait_until(lambda: queue_empty(sqs, url), 20, "the queue to be empty")


def test_filtered_out_messages_are_deleted_without_an_invocation(world: World) -> None:
    sqs, queue, task_root = world.sqs, world.queue, world.task_root
    url = queue("orders")
    _send(sqs, url, ['{"kind": "order", "n": 1}', '{"kind": "refund", "n": 2}', "plain text"])
    world.poller(
        sqs_mapping(
            url,
            filterCriteria={"filters": [{"pattern": '{"body": {"kind": ["order"]}}'}]},
        )
    )
    wait_until(lambda: queue_empty(sqs, url), 30, "the queue to be empty")
    assert [r["body"] for r in _delivered(task_root)] == ['{"kind": "order", "n": 1}']
