"""Response streaming on the cluster: a Node.js Function whose handler is wrapped in
awslambda.streamifyResponse, read through the gateway's Service with boto3's
invoke_with_response_stream and through its HTTP trigger (url.invokeMode
RESPONSE_STREAM) as curl -N would.

"Before the handler ends" is shown by ordering, not timing: the streaming call
writes its first part, then waits for a file in its pod's /tmp that only a second
call (on the pod's other slot) creates; the test makes that call only after it has
read the first part. A buffered answer would never come (the read times out).
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.gateway import Gateway

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "functions"

STREAMER = r"""
const fs = require("node:fs");
const { setTimeout: sleep } = require("node:timers/promises");

// The caller's arguments: the event, or the JSON body of an HTTP trigger's event.
function args(event) {
  if (typeof event.body !== "string") return event;
  const text = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString() : event.body;
  return JSON.parse(text);
}

async function released(id) {
  while (!fs.existsSync(`/tmp/release-${id}`)) {
    await sleep(10);
  }
}

exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const input = args(event);
  if (input.release) {
    fs.writeFileSync(`/tmp/release-${input.release}`, "");
    responseStream.end("released");
    return;
  }
  let stream = responseStream;
  if (input.http) {
    stream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 202,
      headers: { "content-type": "text/plain", "x-streamed": "yes" },
    });
  } else {
    stream.setContentType("text/plain");
  }
  stream.write(input.fail ? "partial;" : "first;");
  await released(input.wait);
  if (input.fail) {
    throw new RangeError("broke mid-stream");
  }
  stream.write("second;");
  stream.end();
});
"""


def ready(functions: client.CustomObjectsApi, namespace: str, name: str) -> bool:
    fn = functions.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    conditions = (fn.get("status") or {}).get("conditions") or []
    return any(
        c["type"] == "Ready"
        and c["status"] == "True"
        and c.get("observedGeneration") == fn["metadata"]["generation"]
        for c in conditions
    )


@pytest.fixture(scope="module")
def streamer(
    core: client.CoreV1Api, api: client.ApiClient, gateway: Gateway
) -> Iterator[tuple[str, str]]:
    """A ready nodejs22 streaming Function with two slots in one pod: (namespace, name)."""
    namespace = f"e2e-stream-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        Cluster.wait(lambda: core.list_namespaced_service_account(namespace).items, "SA", 60)
        functions = client.CustomObjectsApi(api)
        manifest: dict[str, Any] = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Function",
            "metadata": {"name": "streamer"},
            "spec": {
                "runtime": "nodejs22",
                "handler": "index.handler",
                "code": {"inline": {"index.js": STREAMER}},
                "timeoutSeconds": 60,
                # Two slots, one pod: the release call finds the streaming call's /tmp.
                "concurrency": {"perPod": 2, "maxReplicas": 1, "provisioned": 1},
                "url": {"invokeMode": "RESPONSE_STREAM"},
            },
        }
        functions.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
        Cluster.wait(lambda: ready(functions, namespace, "streamer"), "streamer Ready", 240)
        Cluster.wait(lambda: gateway.knows(namespace, "streamer"), "the gateway to see it", 30)
        yield namespace, "streamer"
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")


def release(gateway: Gateway, function_name: str, token: str) -> None:
    response = gateway.lambda_client().invoke(
        FunctionName=function_name, Payload=json.dumps({"release": token})
    )
    assert "FunctionError" not in response, response["Payload"].read()
    assert response["Payload"].read() == b"released"


def test_boto3_reads_chunks_while_the_handler_runs(
    gateway: Gateway, streamer: tuple[str, str]
) -> None:
    name = "/".join(streamer)
    token = uuid.uuid4().hex
    response = gateway.lambda_client().invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps({"wait": token})
    )
    assert response["StatusCode"] == 200, gateway.logs()
    events = iter(response["EventStream"])
    assert next(events) == {"PayloadChunk": {"Payload": b"first;"}}
    release(gateway, name, token)  # only now may the handler go on
    rest = list(events)
    response["EventStream"].close()
    assert rest == [{"PayloadChunk": {"Payload": b"second;"}}, {"InvokeComplete": {}}]


def test_an_error_mid_stream_ends_with_its_error_code(
    gateway: Gateway, streamer: tuple[str, str]
) -> None:
    name = "/".join(streamer)
    token = uuid.uuid4().hex
    response = gateway.lambda_client().invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps({"wait": token, "fail": True})
    )
    events = iter(response["EventStream"])
    assert next(events) == {"PayloadChunk": {"Payload": b"partial;"}}
    release(gateway, name, token)
    (complete,) = list(events)
    response["EventStream"].close()
    assert complete["InvokeComplete"]["ErrorCode"] == "RangeError"
    assert complete["InvokeComplete"]["ErrorDetails"] == "broke mid-stream"


def test_the_http_trigger_streams_with_the_preludes_head(
    gateway: Gateway, streamer: tuple[str, str]
) -> None:
    namespace, name = streamer
    token = uuid.uuid4().hex
    request = urllib.request.Request(
        f"{gateway.url}/fn/{namespace}/{name}/",
        data=json.dumps({"wait": token, "http": True}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with gateway.open(request, timeout=60) as answer:
        assert answer.status == 202
        assert answer.headers["x-streamed"] == "yes"
        assert answer.headers["Transfer-Encoding"] == "chunked"
        assert answer.read1() == b"first;"  # what `curl -N` prints before the rest
        release(gateway, f"{namespace}/{name}", token)
        assert answer.read() == b"second;"
