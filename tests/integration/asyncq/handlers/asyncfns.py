"""Handlers for the async tests: each call appends a line to calls-<function>.jsonl beside the task root."""

import json
import os
import time
from pathlib import Path


def _record(event, context):
    calls = Path(os.environ["LAMBDA_TASK_ROOT"]).parent / f"calls-{context.function_name}.jsonl"
    line = {"requestId": context.aws_request_id, "event": event, "time": time.time()}
    with calls.open("a") as out:
        out.write(json.dumps(line) + "\n")


def ok(event, context):
    _record(event, context)
    return {"ok": True, "got": event}


def fail(event, context):
    _record(event, context)
    raise ValueError(f"always fails: {event!r}"[:200])


def noop(event, context):
    """The fault test's handler: the request id is all it records."""
    calls = Path(os.environ["LAMBDA_TASK_ROOT"]).parent / f"calls-{context.function_name}.jsonl"
    with calls.open("a") as out:
        out.write(context.aws_request_id + "\n")
