"""Event source benchmark: events/s per source into a no-op function, and end-to-end latency.

Everything real, on 127.0.0.1: ElasticMQ (e2e/local/elasticmq.sh), the gateway
(`kappa gateway --registry`), one agent running a Python handler with
awslambdaric (4 slots), and `kappa poller --mapping`. Per source:

- SQS throughput: N messages queued first, then a poller starts; events/s =
  N / (poller start → queue empty), for batchSize 10 with
  parallelizationFactor 1 and 4.
- SQS latency at low load: one message every 100 ms; latency = the handler's
  clock when it runs - the message's SentTimestamp (same machine, same clock).
- schedule: a cron firing every second; latency = handler's clock - fire time.

Prints figures; asserts nothing.

    .venv/bin/python bench/eventsources.py [--messages 3000] [--low-load 50]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
from tests.integration.agent.agent_harness import (  # noqa: E402
    LISTENING,
    Agent,
    pod_environment,
    python_bootstrap,
)
from tests.integration.eventsources.harness import (  # noqa: E402
    queue_empty,
    read_jsonl,
    run_elasticmq,
    start_poller,
    wait_until,
)
from tests.integration.gateway.gateway_harness import arn, function_entry  # noqa: E402

HANDLER = """
import json, os, time

def noop(event, context):
    return {}

def stamp(event, context):
    now = time.time()
    path = os.path.join(os.environ["LAMBDA_TASK_ROOT"], "stamps.jsonl")
    with open(path, "a") as sink:
        if "Records" in event:
            for r in event["Records"]:
                sink.write(json.dumps({"sent": int(r["attributes"]["SentTimestamp"]) / 1000,
                                       "ran": now}) + "\\n")
        else:
            from datetime import datetime
            fired = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
            sink.write(json.dumps({"sent": fired, "ran": now}) + "\\n")
    return {}
"""


def _process(argv: list[str], env: dict[str, str], cwd: Path) -> Agent:
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=env, cwd=cwd,
    )  # fmt: skip
    reader = Agent(process, cwd / "unused")
    reader.start_reading()
    return reader


@contextlib.contextmanager
def function_stack(work: Path, handler: str) -> Iterator[str]:
    """An agent (4 slots) running `handler` behind a gateway; yields the gateway URL."""
    task = work / "task"
    task.mkdir(exist_ok=True)
    (task / "bench_fns.py").write_text(HANDLER)
    env = pod_environment(
        path=os.environ.get("PATH", "/usr/bin:/bin"), home=work, runtime="python3.11",
        handler=f"bench_fns.{handler}", task_root=task, bootstrap=python_bootstrap(work),
        settings={"slots": 4, "timeout_seconds": 30},
    )  # fmt: skip
    env["KAPPA_FUNCTION_ARN"] = arn("fn")
    env["KAPPA_TERMINATION_LOG"] = str(work / "termination-log")
    agent = _process([sys.executable, "-m", "kappa", "agent"], env, work)
    agent.port = int(agent.wait_for(LISTENING.pattern, 60).group(1))
    agent.wait_for("kappa-agent: ready", 60)
    registry = work / "registry.json"
    entry = function_entry("fn", [agent], handler=f"bench_fns.{handler}", slots=4, timeout=30)
    registry.write_text(json.dumps({"functions": [entry]}))
    gateway_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LANG": "C.UTF-8",
        "KAPPA_GATEWAY_HOST": "127.0.0.1", "KAPPA_GATEWAY_PORT": "0", "KAPPA_LOG_LEVEL": "INFO",
        "KAPPA_GATEWAY_AUTH": "none",  # no cluster to check callers against
    }  # fmt: skip
    gateway = _process(
        [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)], gateway_env, work
    )
    port = int(gateway.wait_for(LISTENING.pattern, 60).group(1))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        gateway.stop()
        agent.stop()


def _mapping(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "EventSourceMapping",
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {"functionRef": {"name": "fn"}, **spec},
    }


def _fill(sqs: Any, url: str, count: int) -> None:
    for start in range(0, count, 10):
        entries = [
            {"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(min(10, count - start))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"


def sqs_throughput(work: Path, sqs: Any, count: int, parallel: int) -> float:
    url = sqs.create_queue(QueueName=f"bench-{parallel}-{time.monotonic_ns()}")["QueueUrl"]
    _fill(sqs, url, count)
    with function_stack(work, "noop") as gateway:
        started = time.monotonic()
        poller = start_poller(
            work, _mapping(sqs={"queueUrl": url}, batchSize=10, parallelizationFactor=parallel),
            gateway,
        )  # fmt: skip
        try:
            wait_until(lambda: queue_empty(sqs, url), 600, "the queue to drain")
            elapsed = time.monotonic() - started
        finally:
            poller.stop()
    return count / elapsed


def sqs_latency(work: Path, sqs: Any, count: int) -> list[float]:
    url = sqs.create_queue(QueueName=f"bench-latency-{time.monotonic_ns()}")["QueueUrl"]
    with function_stack(work, "stamp") as gateway:
        poller = start_poller(work, _mapping(sqs={"queueUrl": url}, batchSize=10), gateway)
        try:
            time.sleep(3)  # the poller is connected and long-polling
            for i in range(count):
                sqs.send_message(QueueUrl=url, MessageBody=f"l{i}")
                time.sleep(0.1)
            stamps = work / "task" / "stamps.jsonl"
            wait_until(lambda: len(read_jsonl(stamps)) >= count, 60, "every message")
        finally:
            poller.stop()
    return [s["ran"] - s["sent"] for s in read_jsonl(work / "task" / "stamps.jsonl")]


def schedule_latency(work: Path, fires: int) -> list[float]:
    with function_stack(work, "stamp") as gateway:
        poller = start_poller(work, _mapping(schedule={"cron": "* * * * * *"}), gateway)
        try:
            stamps = work / "task" / "stamps.jsonl"
            wait_until(lambda: len(read_jsonl(stamps)) >= fires, fires + 30, "the fires")
        finally:
            poller.stop()
    return [s["ran"] - s["sent"] for s in read_jsonl(work / "task" / "stamps.jsonl")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--low-load", type=int, default=50)
    parser.add_argument("--fires", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        elasticmq = run_elasticmq(root / "elasticmq.log")
        endpoint = next(elasticmq).endpoint
        sqs = boto3.client(
            "sqs", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="bench", aws_secret_access_key="bench",  # noqa: S106 - ElasticMQ
        )  # fmt: skip
        try:
            for parallel in (1, 4):
                work = root / f"sqs-{parallel}"
                work.mkdir()
                rate = sqs_throughput(work, sqs, args.messages, parallel)
                print(f"sqs  throughput, {args.messages} messages, batchSize 10, "
                      f"parallelizationFactor {parallel}: {rate:,.0f} events/s")  # fmt: skip
            work = root / "sqs-latency"
            work.mkdir()
            latencies = sqs_latency(work, sqs, args.low_load)
            print(f"sqs  latency, 1 message / 100 ms: {_percentiles(latencies)}")
        finally:
            elasticmq.close()
    with tempfile.TemporaryDirectory() as scratch:
        latencies = schedule_latency(Path(scratch), args.fires)
        print(f"schedule latency, fire time -> handler, every second: {_percentiles(latencies)}")


if __name__ == "__main__":
    main()
