"""Event source mappings through the Lambda API, as a Lambda team's scripts make them: the
AWS CLI creates an SQS mapping (refused until the caller holds kappa-author), the mapping
is an EventSourceMapping that `kubectl get esm` shows and that feeds the Function, boto3
reads, lists, disables and deletes it by its UUID.

ElasticMQ runs on the host, at the node's address, as in e2e/test_esm.py; its queue's URL
stands for the queue's ARN (docs/lambda-compatibility.md).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import own_namespace
from e2e.gateway import Gateway
from e2e.test_esm import NODE_ADDRESS, _function, _logged_bodies, elasticmq, sqs  # noqa: F401
from e2e.test_gateway import ready
from e2e.test_versions import AWS, grant

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "eventsourcemappings"


@pytest.fixture(scope="module")
def team(api: client.ApiClient, core: client.CoreV1Api, gateway: Gateway) -> Iterator[str]:
    """A namespace with the Function `worker` (it logs each record), Ready."""
    custom = client.CustomObjectsApi(api)
    with own_namespace(core, "e2e-esmapi") as namespace:
        Cluster.wait(lambda: core.list_namespaced_service_account(namespace).items, "SA", 60)
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "functions",
                                               _function("worker"))  # fmt: skip
        Cluster.wait(lambda: ready(custom, namespace, "worker"), "worker Ready", 240)
        yield namespace


def aws(gateway: Gateway, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # AWS CLI v1 fetches a parameter that starts with http:// unless told not to: the
    # queue's URL given as its ARN is then taken as it is (docs/event-sources.md).
    config = home / "config"
    config.write_text("[default]\ncli_follow_urlparam = false\n")
    env = {
        "PATH": str(AWS.parent), "HOME": str(home), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": gateway.identity.access_key_id,
        "AWS_SECRET_ACCESS_KEY": gateway.identity.secret_access_key,
        "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
        "AWS_MAX_ATTEMPTS": "1",
    }  # fmt: skip
    return subprocess.run(
        [str(AWS), "lambda", *args, "--endpoint-url", gateway.url, "--output", "json"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.timeout(900)
def test_a_mapping_made_through_the_lambda_api_feeds_the_function_and_goes(  # noqa: PLR0915
    api: client.ApiClient,
    core: client.CoreV1Api,
    gateway: Gateway,
    team: str,
    sqs: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    custom = client.CustomObjectsApi(api)
    lam = gateway.lambda_client()
    url = sqs.create_queue(QueueName=f"api-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    assert NODE_ADDRESS in url
    create = ["create-event-source-mapping", "--function-name", f"{team}/worker",
              "--event-source-arn", url, "--batch-size", "5",
              "--function-response-types", "ReportBatchItemFailures"]  # fmt: skip

    refused = aws(gateway, tmp_path, *create)
    assert refused.returncode != 0
    assert "AccessDeniedException" in refused.stderr
    assert "kappa-author" in refused.stderr
    assert not custom.list_namespaced_custom_object(GROUP, VERSION, team, PLURAL)["items"]
    grant(api, team, "kappa-author")
    grant(api, team, "kappa-viewer")

    def created() -> dict[str, Any] | None:
        done = aws(gateway, tmp_path, *create)
        if done.returncode != 0:  # each gateway replica caches a refusal a few seconds
            assert "AccessDeniedException" in done.stderr, done.stderr
            return None
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    made = Cluster.wait(created, "the AWS CLI creates the mapping", 60)
    mapping_id = made["UUID"]
    assert made["State"] == "Creating"
    assert made["FunctionArn"].endswith(f":{team}:function:worker")
    assert made["BatchSize"] == 5

    # The mapping is an EventSourceMapping, written by the Lambda API's field manager.
    [obj] = custom.list_namespaced_custom_object(GROUP, VERSION, team, PLURAL)["items"]
    assert obj["metadata"]["uid"] == mapping_id
    assert obj["spec"]["sqs"] == {"queueUrl": url}
    assert obj["spec"]["functionResponseTypes"] == ["ReportBatchItemFailures"]
    managers = {entry["manager"] for entry in obj["metadata"]["managedFields"]}
    assert "kappa-lambda-api" in managers

    bodies = {f"api-order-{i}" for i in range(6)}
    for body in sorted(bodies):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    Cluster.wait(lambda: _logged_bodies(core, team, "worker") >= bodies,
                 "every message in the function's log", 240)  # fmt: skip

    got = Cluster.wait(
        lambda: (m := lam.get_event_source_mapping(UUID=mapping_id))["State"] == "Enabled" and m,
        "the mapping Enabled",
        120,
    )
    assert got["EventSourceArn"].startswith("arn:aws:sqs:")
    listed = lam.list_event_source_mappings(FunctionName=f"{team}/worker")["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [mapping_id]
    by_queue = lam.list_event_source_mappings(EventSourceArn=url)["EventSourceMappings"]
    assert [m["UUID"] for m in by_queue] == [mapping_id]

    with pytest.raises(lam.exceptions.ClientError) as bad:
        lam.get_event_source_mapping(UUID="Z" * 36)  # botocore checks only the length
    assert bad.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_event_source_mapping(UUID=str(uuid.uuid4()))

    updated = lam.update_event_source_mapping(UUID=mapping_id, Enabled=False, BatchSize=3)
    assert updated["BatchSize"] == 3
    spec = custom.get_namespaced_custom_object(GROUP, VERSION, team, PLURAL,
                                               obj["metadata"]["name"])["spec"]  # fmt: skip
    assert (spec["enabled"], spec["batchSize"]) == (False, 3)
    Cluster.wait(
        lambda: lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Disabled",
        "the mapping Disabled",
        120,
    )

    gone = lam.delete_event_source_mapping(UUID=mapping_id)
    assert gone["State"] == "Deleting"
    Cluster.wait(
        lambda: not custom.list_namespaced_custom_object(GROUP, VERSION, team, PLURAL)["items"],
        "the EventSourceMapping deleted",
        60,
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_event_source_mapping(UUID=mapping_id)
