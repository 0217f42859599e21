"""Who may call what, against the real API server: the gateway authenticates bearer tokens
with TokenReview and SigV4 access keys from Secrets, and authorises every call with a
SubjectAccessReview (docs/security.md). A ServiceAccount of namespace A, granted
kappa-invoker and kappa-viewer in A, is refused in namespace B until a RoleBinding there
allows it, and again once the binding is gone; boto3 and the AWS CLI sign with its access
key, and a wrong secret, an altered body or a stale date get Lambda's errors."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import _kubectl
from e2e.identity import NAMESPACE, access_key_secret, apply, make_token, new_key_id
from e2e.pod_security import restricted
from e2e.test_gateway import AWS, GROUP, PLURAL, VERSION, Gateway, manifest, ready

INVOKER_IN_B = "caller-from-a"
CACHE_SECONDS = 5  # the chart's gateway.auth.cacheSeconds


@dataclass(frozen=True)
class Tenants:
    a: str
    b: str
    subject: str  # the user name of A's ServiceAccount `caller`
    token: str
    key_id: str
    secret: str


def binding(namespace: str, name: str, role: str, subject_namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "caller",
                      "namespace": subject_namespace}],
    }  # fmt: skip


@pytest.fixture(scope="module")
def tenants(
    cluster: Cluster, core: client.CoreV1Api, api: client.ApiClient, gateway: Gateway
) -> Iterator[Tenants]:
    """Namespaces A and B with a Ready Function `f` each; A's ServiceAccount `caller` may
    invoke and view in A, with a token (audience kappa) and an access key."""
    kubectl = _kubectl(cluster)
    suffix = uuid.uuid4().hex[:8]
    a, b = f"auth-a-{suffix}", f"auth-b-{suffix}"
    key_id, secret = new_key_id(), secrets.token_urlsafe(30)
    key_name = f"auth-e2e-{suffix}"
    crd = client.CustomObjectsApi(api)
    try:
        for namespace in (a, b):
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            Cluster.wait(lambda n=namespace: core.list_namespaced_service_account(n).items,
                         "the default SA", 60)  # fmt: skip
            crd.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest("f"))
        apply(
            kubectl,
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "caller", "namespace": a}},
            binding(a, "caller-invoker", "kappa-invoker", a),
            binding(a, "caller-viewer", "kappa-viewer", a),
            access_key_secret(key_name, f"{a}/caller", key_id, secret),
        )  # fmt: skip
        for namespace in (a, b):
            Cluster.wait(lambda n=namespace: ready(crd, n, "f"), f"{namespace}/f Ready", 180)
            Cluster.wait(lambda n=namespace: gateway.knows(n, "f"), "the gateway to see f", 30)
        yield Tenants(a, b, f"system:serviceaccount:{a}:caller", make_token(kubectl, a, "caller"),
                      key_id, secret)  # fmt: skip
    finally:
        subprocess.run([*kubectl, "-n", NAMESPACE, "delete", "secret", key_name,
                        "--ignore-not-found"], check=False)  # fmt: skip
        for namespace in (a, b):
            core.delete_namespace(namespace, propagation_policy="Background")


def call(gateway: Gateway, path: str, *, token: str | None, method: str = "POST",
         body: bytes | None = b"{}") -> tuple[int, dict[str, str], Any]:  # fmt: skip
    """(status, lower-case headers, JSON body) of one call with ``token`` (None: without)."""
    request = urllib.request.Request(f"{gateway.url}{path}", method=method,
                                     data=body if method in ("POST", "PUT") else None)  # fmt: skip
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            raw, status, headers = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, status, headers = e.read(), e.code, e.headers
    return status, {k.lower(): v for k, v in headers.items()}, json.loads(raw) if raw else None


def invoke_path(namespace: str, name: str) -> str:
    return f"/2015-03-31/functions/{namespace}%2F{name}/invocations"


def denied(answer: tuple[int, dict[str, str], Any], *, verb: str, resource: str,
           namespace: str, subject: str) -> None:  # fmt: skip
    status, headers, body = answer
    assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException"), answer
    message = body["Message"]
    assert f"User {subject} is not allowed to {verb} {resource}" in message, message
    assert f'in namespace "{namespace}"' in message, message


def test_a_token_invokes_its_own_namespace_and_nothing_of_another(
    gateway: Gateway, tenants: Tenants
) -> None:
    a, b, token, who = tenants.a, tenants.b, tenants.token, tenants.subject
    status, _, body = call(gateway, invoke_path(a, "f"), token=token, body=b'"hi"')
    assert status == 200, body
    assert body["event"] == "hi"
    denied(call(gateway, invoke_path(b, "f"), token=token), verb="invoke",
           resource='functions "f"', namespace=b, subject=who)  # fmt: skip
    # A Function that does not exist is refused alike: a refusal says nothing of B.
    denied(call(gateway, invoke_path(b, "nothing-here"), token=token), verb="invoke",
           resource='functions "nothing-here"', namespace=b, subject=who)  # fmt: skip
    denied(call(gateway, f"/2015-03-31/functions/{b}%2Ff", token=token, method="GET"),
           verb="get", resource='functions "f"', namespace=b, subject=who)  # fmt: skip
    status, _, listing = call(gateway, "/2015-03-31/functions", token=token, method="GET")
    assert status == 200
    namespaces = {f["FunctionArn"].split(":")[4] for f in listing["Functions"]}
    assert namespaces == {a}, listing
    dead_letters = f"/kappa/v1/namespaces/{b}/dead-letters"
    for method, path, verb in (("GET", dead_letters, "list"),
                               ("GET", dead_letters + "/1", "get"),
                               ("POST", dead_letters + "/redrive", "redrive"),
                               ("DELETE", dead_letters + "/1", "delete")):  # fmt: skip
        denied(call(gateway, path, token=token, method=method, body=b'{"all": true}'),
               verb=verb, resource="functions/deadletters", namespace=b, subject=who)  # fmt: skip


def test_no_or_a_bad_token_gets_401_and_the_probes_stay_open(
    gateway: Gateway, tenants: Tenants
) -> None:
    for token in (None, "not-a-token", tenants.token[:-4] + "AAAA"):
        status, headers, body = call(gateway, invoke_path(tenants.a, "f"), token=token)
        assert (status, headers["x-amzn-errortype"]) == (401, "UnrecognizedClientException"), body
    status, _, body = call(gateway, f"/fn/{tenants.a}/f/", token=None, method="GET")
    assert (status, body) == (401, {"message": "Unauthorized"})
    # A token for the API server's audience is not one for the gateway's.
    status, _, _ = call(gateway, invoke_path(tenants.a, "f"), token=api_audience_token(gateway))
    assert status == 401
    for probe in ("/healthz", "/metrics"):
        with urllib.request.urlopen(f"{gateway.url}{probe}", timeout=10) as r:
            assert r.status == 200


def api_audience_token(gateway: Gateway) -> str:
    kubectl = [*gateway._kubectl[:-2]]  # noqa: SLF001 - the same kubectl, any namespace
    return subprocess.run([*kubectl, "-n", NAMESPACE, "create", "token", "kappa-e2e"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip


def test_a_rolebinding_grants_within_the_cache_time_and_its_deletion_revokes(
    cluster: Cluster, gateway: Gateway, tenants: Tenants
) -> None:
    kubectl = _kubectl(cluster)
    path = invoke_path(tenants.b, "f")
    assert call(gateway, path, token=tenants.token)[0] == 403
    apply(kubectl, binding(tenants.b, INVOKER_IN_B, "kappa-invoker", tenants.a))
    # Both gateway replicas may hold the refusal for the cache time; then it is allowed.
    Cluster.wait(lambda: all(call(gateway, path, token=tenants.token)[0] == 200
                             for _ in range(4)), "the binding to allow", 4 * CACHE_SECONDS)  # fmt: skip
    subprocess.run([*kubectl, "-n", tenants.b, "delete", "rolebinding", INVOKER_IN_B],
                   check=True)  # fmt: skip
    Cluster.wait(lambda: all(call(gateway, path, token=tenants.token)[0] == 403
                             for _ in range(4)), "the deletion to revoke", 4 * CACHE_SECONDS)  # fmt: skip


def lambda_client(gateway: Gateway, key_id: str, secret: str) -> Any:
    return boto3.client(
        "lambda", endpoint_url=gateway.url, region_name="us-east-1",
        aws_access_key_id=key_id, aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )  # fmt: skip


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_boto3_signs_with_an_access_key_bound_to_a(gateway: Gateway, tenants: Tenants) -> None:
    lam = lambda_client(gateway, tenants.key_id, tenants.secret)
    answer = lam.invoke(FunctionName=f"{tenants.a}/f", Payload=b'{"signed": true}')
    assert answer["StatusCode"] == 200
    assert json.loads(answer["Payload"].read())["event"] == {"signed": True}
    listed = lam.list_functions()["Functions"]
    assert {f["FunctionArn"].split(":")[4] for f in listed} == {tenants.a}
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName=f"{tenants.b}/f", Payload=b"{}")
    assert error_code(refused) == "AccessDeniedException"
    assert tenants.subject in str(refused.value)


def test_boto3_with_a_wrong_secret_an_unknown_key_an_altered_body_or_a_stale_date(
    gateway: Gateway, tenants: Tenants
) -> None:
    function = f"{tenants.a}/f"
    wrong = lambda_client(gateway, tenants.key_id, "not-the-secret-at-all-0000")
    with pytest.raises(ClientError) as refused:
        wrong.invoke(FunctionName=function, Payload=b"{}")
    assert error_code(refused) == "InvalidSignatureException"
    unknown = lambda_client(gateway, new_key_id(), tenants.secret)
    with pytest.raises(ClientError) as refused:
        unknown.invoke(FunctionName=function, Payload=b"{}")
    assert error_code(refused) == "UnrecognizedClientException"

    lam = lambda_client(gateway, tenants.key_id, tenants.secret)

    def tamper(request: Any, **_: Any) -> None:  # after signing, before sending
        request.body = b'{"amount": 1000}'
        request.headers["Content-Length"] = str(len(request.body))

    lam.meta.events.register("before-send.lambda.Invoke", tamper)
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName=function, Payload=b'{"amount": 1}')
    assert error_code(refused) == "InvalidSignatureException"

    stale = lambda_client(gateway, tenants.key_id, tenants.secret)
    ten_minutes_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=ten_minutes_ago), \
            pytest.raises(ClientError) as refused:  # fmt: skip
        stale.invoke(FunctionName=function, Payload=b"{}")
    assert error_code(refused) == "InvalidSignatureException"
    assert "expired" in str(refused.value)


def test_the_aws_cli_signs_with_the_access_key(
    gateway: Gateway, tenants: Tenants, tmp_path: Path
) -> None:
    def aws(function: str, secret: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": str(AWS.parent) + ":/usr/bin:/bin", "HOME": str(tmp_path),
               "AWS_ACCESS_KEY_ID": tenants.key_id, "AWS_SECRET_ACCESS_KEY": secret,
               "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
        return subprocess.run(
            [str(AWS), "lambda", "invoke", "--endpoint-url", gateway.url, "--function-name",
             function, "--payload", '"cli"', str(tmp_path / "out.json")],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip

    done = aws(f"{tenants.a}/f", tenants.secret)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text())["event"] == "cli"
    refused = aws(f"{tenants.b}/f", tenants.secret)
    assert refused.returncode != 0
    assert "AccessDeniedException" in refused.stderr
    wrong = aws(f"{tenants.a}/f", "not-the-secret-at-all-0000")
    assert "InvalidSignatureException" in wrong.stderr


def test_url_auth_type_none_opens_exactly_that_functions_http_trigger(
    api: client.ApiClient, gateway: Gateway, tenants: Tenants
) -> None:
    crd = client.CustomObjectsApi(api)
    crd.create_namespaced_custom_object(GROUP, VERSION, tenants.a, PLURAL,
                                        manifest("open", url={"authType": "NONE"}))  # fmt: skip
    crd.create_namespaced_custom_object(GROUP, VERSION, tenants.a, PLURAL,
                                        manifest("signed", url={"authType": "AWS_IAM"}))  # fmt: skip
    for name in ("open", "signed"):
        Cluster.wait(lambda n=name: ready(crd, tenants.a, n), f"{name} Ready", 180)
        Cluster.wait(lambda n=name: gateway.knows(tenants.a, n), f"the gateway to see {name}", 30)
    status, _, body = call(gateway, f"/fn/{tenants.a}/open/hello", token=None, method="GET")
    assert (status, body["path"]) == (201, "/hello"), body
    # Nothing else of it opens, and no other Function's trigger does.
    assert call(gateway, invoke_path(tenants.a, "open"), token=None)[0] == 401
    assert call(gateway, f"/2015-03-31/functions/{tenants.a}%2Fopen", token=None,
                method="GET")[0] == 401  # fmt: skip
    assert call(gateway, f"/fn/{tenants.a}/f/hello", token=None, method="GET")[0] == 401
    # AWS_IAM takes a signature only: the token is refused, the signed request served.
    assert call(gateway, f"/fn/{tenants.a}/signed/x", token=tenants.token, method="GET")[0] == 401
    url = f"{gateway.url}/fn/{tenants.a}/signed/x"
    request = AWSRequest("GET", url)
    SigV4Auth(Credentials(tenants.key_id, tenants.secret), "lambda", "us-east-1").add_auth(request)
    with urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers)),
                                timeout=30) as r:  # fmt: skip
        assert (r.status, json.loads(r.read())["path"]) == (201, "/x")


ROGUE = """
import http.server, json
class Capture(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        body = json.dumps({"captured": True}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = _answer
http.server.HTTPServer(("", 8080), Capture).serve_forever()
"""


def test_a_pod_labelled_as_a_functions_gets_none_of_its_calls(
    core: client.CoreV1Api, gateway: Gateway, tenants: Tenants
) -> None:
    """Anyone who may create pods can label one `kappa.dev/function=f` and say KAPPA_SLOTS
    is a million; the gateway routes only to pods the Function controls (its ownerReference
    with the Function's uid) and takes slots from the Function."""
    name = "rogue-f"
    container = client.V1Container(
        name="function", image="kappa.local/base:dev", image_pull_policy="Never",
        command=["python3", "-c", ROGUE],
        env=[client.V1EnvVar(name="KAPPA_SLOTS", value="1000000")],
        ports=[client.V1ContainerPort(name="invoke", container_port=8080)],
        readiness_probe=client.V1Probe(tcp_socket=client.V1TCPSocketAction(port=8080),
                                       period_seconds=1),
        security_context=restricted(run_as_user=1000),
    )  # fmt: skip
    core.create_namespaced_pod(tenants.a, client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={
            "kappa.dev/component": "function", "kappa.dev/function": "f"}),
        spec=client.V1PodSpec(containers=[container], automount_service_account_token=False),
    ))  # fmt: skip
    try:
        Cluster.wait(
            lambda: any(c.type == "Ready" and c.status == "True" for c in
                        (core.read_namespaced_pod(name, tenants.a).status.conditions or ())),
            "the rogue pod Ready", 120,
        )  # fmt: skip
        time.sleep(2)  # both gateway replicas have seen it
        for _ in range(20):
            status, _, body = call(gateway, invoke_path(tenants.a, "f"), token=tenants.token,
                                   body=b'"real"')  # fmt: skip
            assert status == 200, body
            assert body == {"event": "real", "function": "f",
                            "arn": body["arn"]}, body  # fmt: skip
        # Nor does the operator count it or delete it: the pod is still there, untouched.
        assert core.read_namespaced_pod(name, tenants.a).metadata.deletion_timestamp is None
    finally:
        with contextlib.suppress(client.ApiException):
            core.delete_namespaced_pod(name, tenants.a, grace_period_seconds=0)


DURABLE_CALLER = """
import json

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def call(target):
    # As the durable SDK makes its client: the endpoint and the credentials come from the
    # pod (AWS_ENDPOINT_URL_LAMBDA, the agent's container credentials).
    client = boto3.client("lambda", config=Config(
        connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 1}))
    try:
        answer = client.invoke(FunctionName=target, Payload=b'"from-durable"')
    except ClientError as exc:
        return {"status": exc.response["ResponseMetadata"]["HTTPStatusCode"],
                "error": exc.response["Error"]["Code"],
                "message": exc.response["Error"].get("Message", "")}
    return {"status": answer["StatusCode"], "payload": json.loads(answer["Payload"].read())}


def handler(event, context):
    # Invoking a durable Function starts an execution: the event is the service's (the
    # caller's payload is the EXECUTION operation's input) and the answer is the SDK's
    # envelope, written by hand here (the SDK is not in the image; the credential is
    # boto3's own doing).
    [execution] = [op for op in event["InitialExecutionState"]["Operations"]
                   if op["Type"] == "EXECUTION"]
    target = json.loads(execution["ExecutionDetails"]["InputPayload"])["target"]
    return {"Status": "SUCCEEDED", "Result": json.dumps(call(target))}
"""


def test_a_durable_functions_pod_credential_is_its_service_account(
    cluster: Cluster, api: client.ApiClient, core: client.CoreV1Api, gateway: Gateway
) -> None:
    """A durable Function's handler calls Invoke through boto3 with nothing configured: the
    pod's AWS_ENDPOINT_URL_LAMBDA and the agent's pod credential (a projected token the
    gateway reviews) make it the pod's ServiceAccount, refused until a RoleBinding allows it.
    Each synchronous Invoke of the durable Function is an execution, whose result is the
    handler's."""
    kubectl = _kubectl(cluster)
    namespace = f"auth-durable-{uuid.uuid4().hex[:8]}"
    crd = client.CustomObjectsApi(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        Cluster.wait(lambda: core.list_namespaced_service_account(namespace).items, "SA", 60)
        caller = manifest("caller", timeoutSeconds=60, durable={"executionTimeoutSeconds": 600})
        caller["spec"]["code"] = {"inline": {"app.py": DURABLE_CALLER}}
        for fn in (caller, manifest("target")):
            crd.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, fn)
        for name in ("caller", "target"):
            Cluster.wait(lambda n=name: ready(crd, namespace, n), f"{name} Ready", 180)
            Cluster.wait(lambda n=name: gateway.knows(namespace, n), f"the gateway sees {name}", 30)
        outer = gateway.lambda_client()

        def inner_call() -> dict[str, Any]:
            answer = outer.invoke(FunctionName=f"{namespace}/caller",
                                  Payload=json.dumps({"target": f"{namespace}/target"}))  # fmt: skip
            assert answer["StatusCode"] == 200
            assert "FunctionError" not in answer, answer["Payload"].read()
            result = json.loads(answer["Payload"].read())
            assert isinstance(result, dict)
            return result

        refused = inner_call()
        assert (refused["status"], refused["error"]) == (403, "AccessDeniedException"), refused
        assert f"system:serviceaccount:{namespace}:default" in refused["message"], refused
        apply(kubectl, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "durable-invoker", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "kappa-invoker"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}],
        })  # fmt: skip
        # Both gateway replicas may hold the refusal for the cache time.
        allowed = Cluster.wait(
            lambda: found if (found := inner_call())["status"] == 200 else None,
            "the RoleBinding to allow the pod credential",
            6 * CACHE_SECONDS,
        )
        assert allowed["payload"]["event"] == "from-durable", allowed
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")
