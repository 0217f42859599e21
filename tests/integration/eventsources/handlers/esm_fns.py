"""Handlers fed by the pollers in the event source integration tests (run by awslambdaric).

Each writes what it received to a JSON-lines file in the task root, which the
tests read. Message bodies steer them: ``fail...`` is reported in
``batchItemFailures``; ``boom-once...`` raises on its first delivery;
``sleep:N...`` sleeps N seconds first; ``hold...`` waits until the test creates the
file ``release`` in the task root (25 s at most: a hang guard).
"""

import json
import os
import time
from pathlib import Path


def _log(name, entry):
    path = Path(os.environ["LAMBDA_TASK_ROOT"]) / name
    with path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps(entry) + "\n")


def record_batch(event, context):
    records = event.get("Records", [])
    _log("started.jsonl", {"ids": [r["messageId"] for r in records]})
    for r in records:
        if r["body"].startswith("sleep:"):
            time.sleep(float(r["body"].split(":")[1]))
    if any(r["body"].startswith("hold") for r in records):
        release = Path(os.environ["LAMBDA_TASK_ROOT"]) / "release"
        deadline = time.monotonic() + 25
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    _log(
        "batches.jsonl",
        {
            "request_id": context.aws_request_id,
            "records": [
                {
                    "id": r["messageId"],
                    "body": r["body"],
                    "receive_count": int(r["attributes"]["ApproximateReceiveCount"]),
                    "source": r["eventSource"],
                    "arn": r["eventSourceARN"],
                    "attributes": r["messageAttributes"],
                    "at": time.time(),
                }
                for r in records
            ],
        },
    )
    for r in records:
        if r["body"].startswith("boom-once") and r["attributes"]["ApproximateReceiveCount"] == "1":
            raise RuntimeError("boom on the first delivery")
    return {
        "batchItemFailures": [
            {"itemIdentifier": r["messageId"]} for r in records if r["body"].startswith("fail")
        ]
    }


def dead_letters(event, context):
    _log("dead.jsonl", event)
    return {}


def scheduled(event, context):
    _log("scheduled.jsonl", {"event": event, "at": time.time()})
    return {}
