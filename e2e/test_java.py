"""The java17 runtime on the cluster: examples/hello-java deployed as its README says (a
jar built with javac, stored in a ConfigMap as the code archive), Ready, and invoked with
boto3 through the gateway; a call that throws answers with Lambda's Java error shape
(errorType the exception's class, errorMessage, stackTrace); a handler that is no
package.Class[::method] is refused at apply. Needs a JDK (javac, jar) and curl where
the tests run, and the runtime-java17 image built and imported (make up does both).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import REPO, _kubectl, own_namespace
from e2e.gateway import Gateway

EXAMPLE = REPO / "examples/hello-java"


@pytest.fixture(scope="module")
def ns(core: client.CoreV1Api, gateway: Gateway) -> Iterator[str]:
    with own_namespace(core, "java") as name:
        yield name


@pytest.fixture(scope="module")
def kubectl(cluster: Cluster, ns: str) -> list[str]:
    return [*_kubectl(cluster), "-n", ns]


@pytest.fixture(scope="module")
def hello_java(cluster: Cluster, kubectl: list[str], gateway: Gateway, ns: str) -> str:
    env = {**os.environ, "KUBECTL": " ".join(_kubectl(cluster))}
    subprocess.run([str(EXAMPLE / "deploy.sh"), ns], env=env, check=True, timeout=600)
    subprocess.run(
        [*kubectl, "wait", "--for=condition=Ready", "function/hello-java", "--timeout=240s"],
        check=True,
    )
    Cluster.wait(partial(gateway.knows, ns, "hello-java"), "the gateway to see hello-java", 30)
    return f"{ns}/hello-java"


def _invoke(gateway: Gateway, function: str, payload: object) -> tuple[dict[str, Any], Any]:
    answer = gateway.lambda_client().invoke(
        FunctionName=function, Payload=json.dumps(payload), LogType="Tail"
    )
    assert answer["StatusCode"] == 200
    return answer, json.loads(answer["Payload"].read())


def test_a_java_function_is_ready_and_answers_boto3(
    gateway: Gateway, hello_java: str, kubectl: list[str]
) -> None:
    answer, result = _invoke(gateway, hello_java, {"name": "Duke"})
    assert "FunctionError" not in answer, result
    assert result["message"] == "Hello, Duke!"
    assert result["function"] == "hello-java"
    assert result["java"].startswith("17.")
    assert result["requestId"] == answer["ResponseMetadata"]["RequestId"]
    # What the handler logged through the Context's logger, in the call's log tail.
    assert "greeting Duke" in base64.b64decode(answer["LogResult"]).decode()
    fn = json.loads(
        subprocess.run(
            [*kubectl, "get", "function/hello-java", "-o", "json"],
            check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    assert fn["spec"]["runtime"] == "java17"
    conditions = {c["type"]: c["status"] for c in fn["status"]["conditions"]}
    assert conditions["Ready"] == "True"
    assert conditions["CodeReady"] == "True"


def test_a_throwing_handler_answers_with_lambdas_error_shape(
    gateway: Gateway, hello_java: str
) -> None:
    answer, error = _invoke(gateway, hello_java, {})
    assert answer["FunctionError"] == "Unhandled"
    assert error["errorType"] == "java.lang.IllegalArgumentException"
    assert error["errorMessage"] == "the event has no name"
    trace = error["stackTrace"]
    assert isinstance(trace, list)
    assert trace
    assert all(isinstance(frame, str) for frame in trace)
    assert trace[0].startswith("example.Hello.handleRequest(Hello.java:")
    # The JVM lives on: the next call on the same environment answers.
    answer, result = _invoke(gateway, hello_java, {"name": "again"})
    assert "FunctionError" not in answer, result
    assert result["message"] == "Hello, again!"


def test_a_java_handler_that_is_no_class_is_refused_at_apply(kubectl: list[str]) -> None:
    body = {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "bad-java-handler"},
        "spec": {
            "runtime": "java17",
            "handler": "example/Hello.handleRequest",
            "code": {"configMap": {"name": "hello-java-code", "archive": "code.zip"}},
        },
    }
    done = subprocess.run(
        [*kubectl, "apply", "-f", "-"],
        input=json.dumps(body), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "spec.handler must be package.Class or package.Class::method" in done.stderr
