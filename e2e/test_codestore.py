"""Packages of real size through the Lambda API and the code store, driven as a Lambda
team would: the AWS CLI creates a Function from a 20 MB zip (a small handler beside 20 MB
that does not compress), boto3 invokes it, updates its code with another 20 MB zip and
publishes; version 1 and $LATEST each run their own package, fetched by the pods from
the code store by the signed URL the Function names; a tampered URL reads nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import own_namespace
from e2e.gateway import Gateway

GROUP, VERSION = "kappa.dev", "v1alpha1"
AWS = Path(sys.executable).with_name("aws")
FILLER = 20 * 1024 * 1024

HANDLER = """
import hashlib, os

def handler(event, context):
    with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "data.bin"), "rb") as data:
        digest = hashlib.sha256(data.read()).hexdigest()
    return {"code": %r, "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
            "data": digest}
"""


def package(code: str) -> tuple[bytes, str]:
    """A zip of the handler answering ``code`` and 20 MB of random bytes; their sha256."""
    filler = os.urandom(FILLER)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", HANDLER % code)
        archive.writestr("data.bin", filler)
    return buffer.getvalue(), hashlib.sha256(filler).hexdigest()


def grant(api: client.ApiClient, namespace: str, role: str) -> None:
    """Bind the e2e caller to the ClusterRole ``role`` in ``namespace``."""
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(namespace, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": f"e2e-{role}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "kappa-e2e",
                      "namespace": "kappa-system"}],
    })  # fmt: skip


def lambda_client(gateway: Gateway) -> Any:
    """boto3 at the gateway, with time for a 27 MB body each way."""
    return boto3.client(
        "lambda", endpoint_url=gateway.url, region_name="us-east-1",
        aws_access_key_id=gateway.identity.access_key_id,
        aws_secret_access_key=gateway.identity.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=300),
    )  # fmt: skip


def call(lam: Any, name: str, qualifier: str | None = None) -> dict[str, Any] | None:
    """The answer of ``name`` (at ``qualifier``); None while it is not there yet."""
    args: dict[str, Any] = {"FunctionName": name, "Payload": b"{}"}
    if qualifier is not None:
        args["Qualifier"] = qualifier
    try:
        response = lam.invoke(**args)
    except lam.exceptions.ResourceNotFoundException:
        return None
    assert response["StatusCode"] == 200
    if "FunctionError" in response:
        return None  # the pod of the previous code, or the code not there yet
    answer: dict[str, Any] = json.loads(response["Payload"].read())
    return answer


@pytest.fixture
def author(api: client.ApiClient, core: client.CoreV1Api, gateway: Gateway) -> Iterator[str]:
    """A namespace where the e2e caller may create, update and publish Functions."""
    with own_namespace(core, "e2e-code") as namespace:
        Cluster.wait(lambda: core.list_namespaced_service_account(namespace).items, "SA", 60)
        grant(api, namespace, "kappa-author")
        grant(api, namespace, "kappa-releaser")
        yield namespace


def codestore_url(core: client.CoreV1Api) -> str:
    service = core.read_namespaced_service("kappa-codestore", "kappa-system")
    return f"http://{service.spec.cluster_ip}:8080"


def test_a_20_mb_function_created_updated_and_published_through_the_code_store(
    api: client.ApiClient,
    core: client.CoreV1Api,
    gateway: Gateway,
    author: str,
    tmp_path: Path,
) -> None:
    namespace = author
    name = f"{namespace}/big"
    custom = client.CustomObjectsApi(api)
    one, one_data = package("one")
    assert len(one) > FILLER  # random bytes do not compress
    (tmp_path / "one.zip").write_bytes(one)
    env = {
        "PATH": str(AWS.parent), "HOME": str(tmp_path), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": gateway.identity.access_key_id,
        "AWS_SECRET_ACCESS_KEY": gateway.identity.secret_access_key,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }  # fmt: skip

    def created() -> dict[str, Any] | None:
        done = subprocess.run(
            [str(AWS), "lambda", "create-function", "--endpoint-url", gateway.url,
             "--function-name", name, "--runtime", "python3.11", "--handler", "app.handler",
             "--role", "arn:aws:iam::1:role/none", "--memory-size", "512", "--timeout", "30",
             "--publish", "--cli-read-timeout", "300",
             "--zip-file", f"fileb://{tmp_path / 'one.zip'}"],
            capture_output=True, text=True, env=env, check=False, timeout=600,
        )  # fmt: skip
        if "AccessDeniedException" in done.stderr:
            return None  # a gateway replica's cached answer from before the RoleBinding
        assert done.returncode == 0, done.stderr + gateway.logs()
        return dict(json.loads(done.stdout))

    made = Cluster.wait(created, "CreateFunction allowed", 60)
    assert made is not None
    assert made["Version"] == "1"  # --publish: version 1 is this package
    held = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "big")
    url = held["spec"]["code"]["url"]
    assert set(held["spec"]["code"]) == {"url"}
    assert url["sha256"] == hashlib.sha256(one).hexdigest()
    assert url["url"].startswith(
        f"{codestore_url(core)}/v1/packages/{namespace}/{url['sha256']}?sig="
    )
    # The package is there for who holds the URL, and for nobody under another path.
    with urllib.request.urlopen(url["url"], timeout=120) as response:
        assert hashlib.sha256(response.read()).hexdigest() == url["sha256"]
    tampered = url["url"].replace(f"/{namespace}/", "/default/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=30)
    assert refused.value.code == 403

    lam = lambda_client(gateway)
    answer = Cluster.wait(lambda: call(lam, name), "the 20 MB function answers", 300)
    assert answer == {"code": "one", "version": "$LATEST", "data": one_data}

    two, two_data = package("two")
    updated = lam.update_function_code(FunctionName=name, ZipFile=two, Publish=True)
    assert updated["Version"] == "2"
    held = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "big")
    assert held["spec"]["code"]["url"]["sha256"] == hashlib.sha256(two).hexdigest()

    def latest_is_two() -> dict[str, Any] | None:
        found = call(lam, name)
        return found if found is not None and found["code"] == "two" else None

    assert Cluster.wait(latest_is_two, "$LATEST runs the new package", 300) == {
        "code": "two", "version": "$LATEST", "data": two_data,
    }  # fmt: skip
    # Each version runs its own package, fetched from the store by its own URL.
    assert Cluster.wait(lambda: call(lam, name, "1"), "version 1 answers", 300) == {
        "code": "one", "version": "1", "data": one_data,
    }  # fmt: skip
    assert Cluster.wait(lambda: call(lam, name, "2"), "version 2 answers", 300) == {
        "code": "two", "version": "2", "data": two_data,
    }  # fmt: skip
    assert call(lam, name) == {"code": "two", "version": "$LATEST", "data": two_data}

    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_configuration(FunctionName=name)


def kappa_cli(cluster: Cluster, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`kappa ARGS` against the cluster, as the e2e identity (its access key is in the
    environment: the `gateway` fixture's); asserts success."""
    from e2e.conftest import REPO, _kubectl  # noqa: PLC0415 - as e2e/test_cli.py uses them

    kubectl = Path(_kubectl(cluster)[0])
    path = os.environ.get("PATH", "")
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "PYTHONPATH": str(REPO / "operator"),
        "PATH": f"{kubectl.parent}{os.pathsep}{path}" if kubectl.is_absolute() else path,
    }
    done = subprocess.run(
        [sys.executable, "-m", "kappa", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, f"kappa {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def test_kappa_deploy_sends_a_large_package_to_the_code_store(
    cluster: Cluster, api: client.ApiClient, gateway: Gateway, author: str, tmp_path: Path
) -> None:
    """`kappa deploy` of a folder over a ConfigMap's size: CreateFunction, then (a second
    deploy) UpdateFunctionCode through the gateway; the rest of the Function applied."""
    namespace = author
    custom = client.CustomObjectsApi(api)
    folder = tmp_path / "big"
    kappa_cli(cluster, tmp_path, "init", "big", "--runtime", "python3.11")
    lam = lambda_client(gateway)
    for code in ("one", "two"):
        (folder / "app.py").write_text(HANDLER % code)
        (folder / "data.bin").write_bytes(os.urandom(5 * 1024 * 1024))
        data = hashlib.sha256((folder / "data.bin").read_bytes()).hexdigest()
        kappa_cli(cluster, tmp_path, "deploy", "big", "--namespace", namespace)
        held = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "big")
        assert set(held["spec"]["code"]) == {"url"}
        assert held["spec"]["handler"] == "app.handler"  # kappa.yaml's, applied after

        def answers(expected: str = code) -> dict[str, Any] | None:
            found = call(lam, f"{namespace}/big")
            return found if found is not None and found["code"] == expected else None

        answer = Cluster.wait(answers, f"big answers {code}", 300)
        assert answer == {"code": code, "version": "$LATEST", "data": data}
