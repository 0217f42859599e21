"""Every example in examples/, applied as its README says and invoked through the gateway:
hello-python, hello-nodejs, http-api (HTTP trigger routes), custom-runtime-go (a Go
`bootstrap` built with aws-lambda-go, served as a code URL), the boto3 / AWS CLI
invoke scripts, async-dlq (an Event that fails for good reaches its onFailure Function and
the dead-letter queue), sqs-mapping (ElasticMQ on the node's address feeding a Function,
with ReportBatchItemFailures) and scheduled-job (a 6-field cron schedule). All in one
namespace of this module's own, but durable-order: its run.sh, in a namespace where the e2e
caller may create Functions (its package goes to the code store), ends with SUCCEEDED.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.integration.eventsources.harness import free_port, run_elasticmq

from e2e.cluster import Cluster
from e2e.conftest import REPO, _kubectl, own_namespace
from e2e.pod_logs import PodLogs
from e2e.test_durable import make_author
from e2e.test_esm import NODE_ADDRESS, _wait
from e2e.test_gateway import Gateway

EXAMPLES = REPO / "examples"
VENV_BIN = Path(sys.executable).parent
# The address and port examples/sqs-mapping/mapping.yaml expects ElasticMQ at.
SQS_EXAMPLE_ENDPOINT = "http://10.88.0.1:9324"


@pytest.fixture(scope="module")
def ns(core: client.CoreV1Api, gateway: Gateway) -> Iterator[str]:
    with own_namespace(core, "helm-examples") as name:
        yield name


@pytest.fixture(scope="module")
def kubectl(cluster: Cluster, ns: str) -> list[str]:
    return [*_kubectl(cluster), "-n", ns]


def apply_and_wait(kubectl: list[str], gateway: Gateway, ns: str, path: Path, *names: str) -> None:
    """Apply the manifest and wait for its Functions `names` to be Ready and known."""
    subprocess.run([*kubectl, "apply", "-f", str(path)], check=True)
    subprocess.run(
        [*kubectl, "wait", "--for=condition=Ready", *(f"function/{n}" for n in names),
         "--timeout=180s"],
        check=True,
    )  # fmt: skip
    for name in names:
        Cluster.wait(partial(gateway.knows, ns, name), f"the gateway to see {name}", 30)


def invoke(gateway: Gateway, function: str, payload: object) -> object:
    answer = gateway.lambda_client().invoke(FunctionName=function, Payload=json.dumps(payload))
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def http(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict, object]:
    """(status, headers with lower-case names, JSON body) of one HTTP call, without
    credentials: the example's url.authType is NONE."""
    request = urllib.request.Request(url, method=method, data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, json.loads(e.read())


@pytest.fixture(scope="module")
def hello_python(kubectl: list[str], gateway: Gateway, ns: str) -> str:
    apply_and_wait(kubectl, gateway, ns, EXAMPLES / "hello-python/function.yaml", "hello-python")
    return f"{ns}/hello-python"


def test_hello_python(gateway: Gateway, hello_python: str) -> None:
    result = invoke(gateway, hello_python, {"name": "Kappa"})
    assert isinstance(result, dict)
    assert result["message"] == "Hello, Kappa!"
    assert result["function"] == "hello-python"


def test_hello_nodejs(kubectl: list[str], gateway: Gateway, ns: str) -> None:
    apply_and_wait(kubectl, gateway, ns, EXAMPLES / "hello-nodejs/function.yaml", "hello-nodejs")
    result = invoke(gateway, f"{ns}/hello-nodejs", {"name": "Kappa"})
    assert isinstance(result, dict)
    assert result["message"] == "Hello, Kappa!"
    assert result["function"] == "hello-nodejs"
    assert result["node"].startswith("v22.")


def test_http_api_routes(kubectl: list[str], gateway: Gateway, ns: str) -> None:
    apply_and_wait(kubectl, gateway, ns, EXAMPLES / "http-api/function.yaml", "http-api")
    base = f"{gateway.url}/fn/{ns}/http-api"
    assert http(f"{base}/hello?name=Kappa")[::2] == (200, {"message": "Hello, Kappa!"})
    status, headers, body = http(f"{base}/echo", "POST", b'{"id": 1}')
    assert (status, body, headers["location"]) == (201, {"received": {"id": 1}}, "/echo/1")
    status, _, body = http(f"{base}/whoami")
    assert status == 200
    assert isinstance(body, dict)
    assert (body["method"], body["path"]) == ("GET", "/whoami")
    assert http(f"{base}/nope")[::2] == (404, {"error": "no route for GET /nope"})
    assert http(f"{base}/echo", "POST", b"not json")[::2] == (
        400,
        {"error": "the body must be JSON"},
    )


def test_custom_runtime_go(cluster: Cluster, gateway: Gateway, ns: str) -> None:
    cache = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa"))
    env = {
        **os.environ,
        "KUBECTL": " ".join(_kubectl(cluster)),
        "GOMODCACHE": str(cache / "go/mod"),
        "GOCACHE": str(cache / "go/build"),
    }
    subprocess.run(
        [str(EXAMPLES / "custom-runtime-go/deploy.sh"), ns], env=env, check=True, timeout=600
    )
    kubectl = [*_kubectl(cluster), "-n", ns]
    subprocess.run(
        [*kubectl, "wait", "--for=condition=Ready", "function/hello-go", "--timeout=180s"],
        check=True,
    )
    Cluster.wait(lambda: gateway.knows(ns, "hello-go"), "the gateway to see hello-go", 30)
    result = invoke(gateway, f"{ns}/hello-go", {"name": "Gopher"})
    assert isinstance(result, dict)
    assert result["message"] == "Hello, Gopher!"
    assert result["function"] == "hello-go"
    assert result["go"].startswith("go1.")
    fn = json.loads(
        subprocess.run(
            [*kubectl, "get", "function/hello-go", "-o", "json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert fn["spec"]["runtime"] == "provided"
    assert fn["spec"]["code"]["url"]["url"].endswith(".zip")


def test_invoke_with_boto3_script(gateway: Gateway, hello_python: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "invoke/invoke_boto3.py"), gateway.url, hello_python,
         '{"name": "boto3"}'],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    sync, dry = (json.loads(line) for line in done.stdout.splitlines())
    assert sync["StatusCode"] == 200
    assert sync["FunctionError"] is None
    assert sync["Payload"]["message"] == "Hello, boto3!"
    assert "REPORT RequestId:" in sync["LogTail"]
    assert dry == {"DryRun": 204}


def test_invoke_with_aws_cli_script(gateway: Gateway, hello_python: str, tmp_path: Path) -> None:
    env = aws_cli_env(tmp_path, gateway)
    del env["AWS_DEFAULT_REGION"]  # the script's default
    done = subprocess.run(
        [str(EXAMPLES / "invoke/invoke_awscli.sh"), gateway.url, hello_python, '{"name": "cli"}'],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    answer_line, result_line = done.stdout.splitlines()
    answer = json.loads(answer_line)
    assert answer["StatusCode"] == 200
    assert "START RequestId:" in answer["LogResult"]
    assert json.loads(result_line)["message"] == "Hello, cli!"


def aws_cli_env(tmp_path: Path, gateway: Gateway | None = None) -> dict[str, str]:
    """The AWS CLI of the venv with no user configuration, and the e2e caller's access key
    (for the gateway) or dummy credentials (ElasticMQ checks none)."""
    identity = gateway.identity if gateway is not None else None
    return {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_ACCESS_KEY_ID": identity.access_key_id if identity else "x",
        "AWS_SECRET_ACCESS_KEY": identity.secret_access_key if identity else "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def explained(kubectl: list[str], *what: str) -> str:
    """`kubectl describe` and logs of the objects (for a failure message)."""
    lines = []
    for args in (["get", "function,esm,deploy,pods", "-o", "wide"], *([*w.split()] for w in what)):
        done = subprocess.run([*kubectl, *args], capture_output=True, text=True, check=False)
        lines.append(f"$ kubectl {' '.join(args)}\n{done.stdout}{done.stderr}")
    return "\n".join(lines)


@pytest.mark.timeout(420)
def test_async_dlq(kubectl: list[str], gateway: Gateway, ns: str, tmp_path: Path) -> None:
    apply_and_wait(
        kubectl, gateway, ns, EXAMPLES / "async-dlq/function.yaml", "orders-failures", "orders"
    )
    good = subprocess.run(
        ["aws", "lambda", "invoke", "--endpoint-url", gateway.url, "--function-name",
         f"{ns}/orders", "--invocation-type", "Event", "--payload",
         '{"id": "A-1", "quantity": 2}', "/dev/null"],
        check=True, capture_output=True, text=True, env=aws_cli_env(tmp_path, gateway),
    )  # fmt: skip
    assert json.loads(good.stdout)["StatusCode"] == 202
    logs = PodLogs(kubectl)

    def order_ids() -> list[str]:
        return [json.loads(line)["event"]["id"] for line in logs.after("orders", "ORDER ")]

    _wait(lambda: "A-1" in order_ids(), "order A-1 to run", 120, lambda: explained(kubectl))
    answer = gateway.lambda_client().invoke(
        FunctionName=f"{ns}/orders",
        InvocationType="Event",
        Payload=json.dumps({"id": "A-2", "quantity": 0}),
    )
    assert answer["StatusCode"] == 202
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    def records() -> list[dict[str, Any]]:
        order_ids()  # read `orders` too while its pods run: one may scale away before the end
        return [
            r for r in map(json.loads, logs.after("orders-failures", "FAILED-ORDER "))
            if r["requestContext"]["requestId"] == request_id
        ]  # fmt: skip

    _wait(  # one retry, about a minute after the first attempt
        records,
        "the failed order's record at orders-failures",
        240,
        lambda: (
            explained(kubectl, "logs -l kappa.dev/component=function --tail=40")
            + f"\ngateway:\n{gateway.logs()}"
        ),
    )
    [record] = records()
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"id": "A-2", "quantity": 0}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "order A-2 has no quantity"
    orders = [json.loads(line) for line in logs.after("orders", "ORDER ")]
    assert [o["event"]["id"] for o in orders].count("A-1") == 1  # succeeded at once
    assert [o["requestId"] for o in orders].count(request_id) == 2  # the attempt and the retry
    listing = subprocess.run(
        [sys.executable, "-m", "kappa", "dlq", "list", "-n", ns, "--function", "orders",
         "--gateway", gateway.url], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    [entry] = [line for line in listing.splitlines() if request_id in line]
    assert "RetriesExhausted" in entry
    assert "order A-2 has no quantity" in entry


@pytest.fixture
def elasticmq(tmp_path: Path) -> Iterator[str]:
    """ElasticMQ on the node's address (pods reach it) at a free port: its endpoint."""
    for server in run_elasticmq(tmp_path / "elasticmq.log", NODE_ADDRESS, free_port()):
        yield server.endpoint


@pytest.mark.timeout(420)
def test_sqs_mapping(
    kubectl: list[str], gateway: Gateway, ns: str, elasticmq: str, tmp_path: Path
) -> None:
    sqs = ["aws", "sqs", "--endpoint-url", elasticmq]
    env = aws_cli_env(tmp_path)

    def aws(*args: str) -> Any:
        done = subprocess.run([*sqs, *args], check=True, capture_output=True, text=True, env=env)
        return json.loads(done.stdout) if done.stdout.strip() else {}

    queue = aws("create-queue", "--queue-name", "orders")["QueueUrl"]
    dlq = aws("create-queue", "--queue-name", "orders-dlq")["QueueUrl"]
    # The mapping as the README has it, at the port this test's ElasticMQ got.
    mapping = (EXAMPLES / "sqs-mapping/mapping.yaml").read_text()
    assert f"{SQS_EXAMPLE_ENDPOINT}/000000000000/orders" in mapping
    (tmp_path / "mapping.yaml").write_text(mapping.replace(SQS_EXAMPLE_ENDPOINT, elasticmq))
    assert queue == f"{elasticmq}/000000000000/orders"
    apply_and_wait(kubectl, gateway, ns, EXAMPLES / "sqs-mapping/function.yaml", "order-worker")
    subprocess.run([*kubectl, "apply", "-f", str(tmp_path / "mapping.yaml")], check=True)
    for body in ('{"id": "A-1", "quantity": 2, "price": 5}',
                 '{"id": "A-2", "quantity": 1, "price": 7}', "not an order"):  # fmt: skip
        aws("send-message", "--queue-url", queue, "--message-body", body)

    logs = PodLogs(kubectl)

    def dead_lettered() -> list[str]:
        logs.lines("order-worker")  # read while its pods run: one may scale away before the end
        received = aws("receive-message", "--queue-url", dlq, "--wait-time-seconds", "1")
        return [m["Body"] for m in received.get("Messages", [])]

    bodies = _wait(
        dead_lettered,
        "the bad message in orders-dlq",
        180,
        lambda: explained(kubectl, "get esm orders -o yaml", "logs deploy/esm-orders"),
    )
    assert bodies == ["not an order"]
    processed = logs.after("order-worker", "processed order ")
    assert sorted(processed) == ["A-1: total 10", "A-2: total 7"]
    assert len(logs.after("order-worker", "rejected ")) == 2  # the receive and the retry
    ready = subprocess.run(
        [*kubectl, "wait", "--for=condition=Ready", "esm/orders", "--timeout=60s"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert "condition met" in ready.stdout


@pytest.mark.timeout(300)
def test_scheduled_job(kubectl: list[str], gateway: Gateway, ns: str) -> None:
    apply_and_wait(kubectl, gateway, ns, EXAMPLES / "scheduled-job/function.yaml", "cleanup-job")
    subprocess.run(
        [*kubectl, "apply", "-f", str(EXAMPLES / "scheduled-job/schedule.yaml")], check=True
    )

    logs = PodLogs(kubectl)

    def runs() -> list[dict[str, Any]]:
        found = [json.loads(line) for line in logs.after("cleanup-job", "JOB ")]
        return found if len(found) >= 2 else []

    fired = _wait(  # every 10 seconds, from the poller's start
        runs,
        "two runs of the scheduled job",
        180,
        lambda: explained(
            kubectl, "get esm nightly-cleanup -o yaml", "logs deploy/esm-nightly-cleanup"
        ),
    )
    assert all(run["event"] == {"job": "cleanup", "older_than_days": 30} for run in fired)
    assert len({run["at"] for run in fired}) == len(fired)  # one run per fire time
    mapping = json.loads(
        subprocess.run(
            [*kubectl, "get", "esm/nightly-cleanup", "-o", "json"],
            check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    assert mapping["status"]["state"] == "Enabled"
    assert mapping["status"]["source"]["state"]["lastFire"]


@pytest.mark.timeout(900)
def test_durable_order(
    cluster: Cluster, api: client.ApiClient, core: client.CoreV1Api, gateway: Gateway,
    tmp_path: Path,
) -> None:  # fmt: skip
    """examples/durable-order/run.sh: `kappa deploy` (the SDK vendored), a published version,
    an execution started with the AWS CLI and approved through its callback; its last line
    is the execution's final status."""
    with own_namespace(core, "durable-order") as namespace:
        make_author(cluster, api, namespace)
        env = {
            **os.environ,  # pip's settings, for the vendoring
            **aws_cli_env(tmp_path, gateway),
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "KUBECONFIG": str(cluster.kubeconfig),
            "PYTHONPATH": str(REPO / "operator"),
            "KAPPA": f"{sys.executable} -m kappa",
            "KUBECTL": " ".join(_kubectl(cluster)),
            "GATEWAY_URL": gateway.url,
        }
        done = subprocess.run(
            [str(EXAMPLES / "durable-order/run.sh"), namespace],
            env=env, capture_output=True, text=True, check=False, timeout=840,
        )  # fmt: skip
        said = f"{done.stdout}\n{done.stderr}\ngateway:\n{gateway.logs()}"
        assert done.returncode == 0, said
        assert done.stdout.splitlines()[-1] == "SUCCEEDED", said
        assert "started arn:aws:lambda:" in done.stderr, said
        result = json.loads(done.stderr.strip().splitlines()[-1])
        assert result["status"] == "shipped", said
        assert (result["total"], result["approvedBy"]) == (10, "run.sh"), said
