"""A real SAM template, converted by `kappa sam convert` and applied with kubectl: AWS's SQS
sample (tests/unit/cli/sam_templates/nodejs20.x-sqs.yaml, as `sam init` renders it) with
a Schedule event added to its function. A message sent to its queue (ElasticMQ on the
node's address, given as --sqs-endpoint) and the schedule (EventBridge's rate(1 minute))
both fire the function. The package ConfigMap the conversion wrote is adopted by the
Function once applied, and goes with it when the Function is deleted."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from kubernetes import client
from tests.integration.eventsources.harness import ElasticMq, free_port, run_elasticmq

from e2e.cluster import Cluster
from e2e.conftest import REPO, _kubectl
from e2e.gateway import Gateway
from e2e.pod_logs import PodLogs
from e2e.test_esm import NODE_ADDRESS

TEMPLATE = REPO / "tests/unit/cli/sam_templates/nodejs20.x-sqs.yaml"
# The sample's function has one event, its queue; a schedule is added beside it.
SQS_EVENT = "            Queue: !GetAtt SimpleQueue.Arn\n"
SCHEDULE_EVENT = """\
        EveryMinute:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
"""
# The handler the template names (src/handlers/sqs-payload-logger.sqsPayloadLoggerHandler),
# written here: one line per record, one per scheduled event.
HANDLER = """\
exports.sqsPayloadLoggerHandler = async (event) => {
  if (event.Records) {
    for (const record of event.Records) console.info("got-sqs " + record.body);
  } else if (event["detail-type"] === "Scheduled Event") {
    console.info("got-schedule " + event.time);
  }
};
"""
FUNCTION = "sqs-payload-logger"


@pytest.fixture
def elasticmq(tmp_path: Path) -> Iterator[ElasticMq]:
    yield from run_elasticmq(tmp_path / "elasticmq.log", host=NODE_ADDRESS, port=free_port())


def sam_app(folder: Path) -> Path:
    text = TEMPLATE.read_text()
    assert SQS_EVENT in text
    (folder / "template.yaml").write_text(text.replace(SQS_EVENT, SQS_EVENT + SCHEDULE_EVENT))
    handlers = folder / "src/handlers"
    handlers.mkdir(parents=True)
    (handlers / "sqs-payload-logger.js").write_text(HANDLER)
    return folder / "template.yaml"


def convert(template: Path, namespace: str, endpoint: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kappa", "sam", "convert", str(template), "-n", namespace,
         "--sqs-endpoint", endpoint],
        cwd=template.parent, capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO / "operator")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # The queue is the template's, which Kappa does not create: said on stderr.
    assert "SimpleQueue: Type: Kappa does not create queues" in done.stderr
    return done.stdout


@pytest.mark.timeout(600)
def test_a_converted_sam_template_is_fired_by_its_queue_and_its_schedule(
    cluster: Cluster,
    core: client.CoreV1Api,
    gateway: Gateway,
    namespace: str,
    elasticmq: ElasticMq,
    tmp_path: Path,
) -> None:
    kubectl = [*_kubectl(cluster), "-n", namespace]
    manifests = convert(sam_app(tmp_path), namespace, elasticmq.endpoint)
    kinds = [(d["kind"], d["metadata"]["name"]) for d in _documents(manifests)]
    assert kinds == [
        ("ConfigMap", f"{FUNCTION}-package"), ("Function", FUNCTION),
        ("EventSourceMapping", f"{FUNCTION}-sqs-queue-event"),
        ("EventSourceMapping", f"{FUNCTION}-every-minute"),
    ]  # fmt: skip
    sqs = boto3.client(
        "sqs",
        endpoint_url=elasticmq.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - ElasticMQ takes any
    )
    queue = sqs.create_queue(QueueName="SimpleQueue")["QueueUrl"]
    assert queue == f"{elasticmq.endpoint}/000000000000/SimpleQueue"
    subprocess.run([*kubectl, "apply", "-f", "-"], input=manifests, text=True, check=True)
    subprocess.run(
        [*kubectl, "wait", "--for=condition=Ready", f"function/{FUNCTION}", "--timeout=240s"],
        check=True,
    )
    body = f"order-{uuid.uuid4().hex[:8]}"
    sqs.send_message(QueueUrl=queue, MessageBody=body)

    logs = PodLogs(kubectl)

    def fired() -> bool:
        lines = logs.lines(FUNCTION)
        return any(f"got-sqs {body}" in line for line in lines) and any(
            "got-schedule " in line for line in lines
        )

    try:
        Cluster.wait(fired, "the queue's message and a scheduled event in the logs", 300, 3)
    except TimeoutError as error:
        shown = subprocess.run([*kubectl, "get", "esm,fn,pods", "-o", "wide"],
                               capture_output=True, text=True, check=False)  # fmt: skip
        raise AssertionError(f"{error}\n{shown.stdout}{shown.stderr}\n{logs.errors}") from None

    # The package the conversion wrote is the Function's now, and goes with it.
    function = client.CustomObjectsApi(core.api_client).get_namespaced_custom_object(
        "kappa.dev", "v1alpha1", namespace, "functions", FUNCTION
    )
    uid = function["metadata"]["uid"]

    def adopted() -> bool:
        package = core.read_namespaced_config_map(f"{FUNCTION}-package", namespace)
        return any(o.uid == uid for o in package.metadata.owner_references or [])

    Cluster.wait(adopted, "the package ConfigMap owned by the Function", 60)
    subprocess.run([*kubectl, "delete", f"function/{FUNCTION}", "--wait=true"], check=True)

    def collected() -> bool:
        names = {m.metadata.name for m in core.list_namespaced_config_map(namespace).items}
        return f"{FUNCTION}-package" not in names

    Cluster.wait(collected, "the package ConfigMap deleted with its Function", 60)


def _documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]
