"""The handler the broker pollers feed in the integration tests (run by awslambdaric).

It reads the broker event shapes (Kafka, RabbitMQ, NATS, Redis Streams, SQS),
writes what it received to broker_batches.jsonl in the task root, holds a batch
with a ``"hold": true`` payload until the test creates the file ``release`` in the
task root (25 s at most: a hang guard), raises when a payload has
``"raise": true`` (a function error for the whole batch), and reports records
whose payload has ``"fail": true`` in ``batchItemFailures``.
"""

import base64
import json
import os
import time
from pathlib import Path


def _records(event):
    if "Records" in event:  # SQS
        for r in event["Records"]:
            yield r["messageId"], "", r["body"].encode()
        return
    source = event["eventSource"]
    if source == "SelfManagedKafka":
        for key, records in event["records"].items():
            for r in records:
                yield f"{key}:{r['offset']}", key, base64.b64decode(r["value"])
    elif source == "aws:rmq":
        for key, messages in event["rmqMessagesByQueue"].items():
            for m in messages:
                yield m["basicProperties"]["messageId"], key, base64.b64decode(m["data"])
    elif source == "kappa:nats":
        for r in event["records"]:
            yield str(r["sequence"]), r["subject"], base64.b64decode(r["data"])
    elif source == "kappa:redis-streams":
        for r in event["records"]:
            yield r["id"], event["stream"], base64.b64decode(r["fields"]["payload"])


def record_batch(event, context):
    records = [{"id": i, "key": k, "payload": json.loads(p)} for i, k, p in _records(event)]
    raised = any(r["payload"].get("raise") for r in records)
    path = Path(os.environ["LAMBDA_TASK_ROOT"]) / "broker_batches.jsonl"
    with path.open("a", encoding="utf-8") as sink:
        source = event.get("eventSource") or event["Records"][0]["eventSource"]
        line = {"source": source, "records": records, "raised": raised}
        sink.write(json.dumps(line) + "\n")
    if any(r["payload"].get("hold") for r in records):
        release = Path(os.environ["LAMBDA_TASK_ROOT"]) / "release"
        deadline = time.monotonic() + 25  # a hang guard: within the function's 30 s timeout
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    if raised:
        raise RuntimeError("a record asked the handler to fail")
    return {
        "batchItemFailures": [
            {"itemIdentifier": r["id"]} for r in records if r["payload"].get("fail")
        ]
    }
