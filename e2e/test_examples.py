"""Every example in examples/, applied as its README says and invoked through the gateway:
hello-python, hello-nodejs, http-api (HTTP trigger routes), custom-runtime-go (a Go
`bootstrap` built with aws-lambda-go, served as a code URL) and the boto3 / AWS CLI
invoke scripts. All in one namespace of this module's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import REPO, _kubectl, own_namespace
from e2e.test_gateway import Gateway, gateway

__all__ = ["gateway"]  # the fixture, shared with test_gateway

EXAMPLES = REPO / "examples"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def ns(core: client.CoreV1Api, gateway: Gateway) -> Iterator[str]:
    with own_namespace(core, "helm-examples") as name:
        yield name


@pytest.fixture(scope="module")
def kubectl(cluster: Cluster, ns: str) -> list[str]:
    return [*_kubectl(cluster), "-n", ns]


def apply_and_wait(kubectl: list[str], gateway: Gateway, ns: str, path: Path, name: str) -> None:
    subprocess.run([*kubectl, "apply", "-f", str(path)], check=True)
    subprocess.run(
        [*kubectl, "wait", "--for=condition=Ready", f"function/{name}", "--timeout=180s"],
        check=True,
    )
    Cluster.wait(lambda: gateway.knows(ns, name), f"the gateway to see {name}", 30)


def invoke(gateway: Gateway, function: str, payload: object) -> object:
    answer = gateway.lambda_client().invoke(FunctionName=function, Payload=json.dumps(payload))
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def http(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict, object]:
    """(status, headers with lower-case names, JSON body) of one HTTP call."""
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
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    done = subprocess.run(
        [str(EXAMPLES / "invoke/invoke_awscli.sh"), gateway.url, hello_python, '{"name": "cli"}'],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    answer_line, result_line = done.stdout.splitlines()
    answer = json.loads(answer_line)
    assert answer["StatusCode"] == 200
    assert "START RequestId:" in answer["LogResult"]
    assert json.loads(result_line)["message"] == "Hello, cli!"
