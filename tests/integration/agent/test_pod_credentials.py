"""A durable Function's pod credential, end to end on loopback: the real agent serves it
from a token file, real botocore (in a process with exactly the runtime's environment)
finds it through its container provider and signs a Lambda Invoke with it, and Kappa's
own SigV4 verifier accepts the signature with the secret derived from the token, as does
the gateway's guard, which then names the pod's ServiceAccount.

The TokenReview the gateway adds needs a kube-apiserver, so it is stood in for here
(``TokenReviewStandIn``); e2e/test_auth.py has the real one.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kappa.auth import sigv4
from kappa.auth.access import Access
from kappa.auth.access_keys import AccessKey
from kappa.auth.guard import Guard
from kappa.auth.subject import POD_NAME_EXTRA, Subject
from kappa.base import pod_credential
from tests.integration.agent.agent_harness import (
    Agent,
    LaunchAgent,
    StartAgent,
    pod_environment,
    python_bootstrap,
)

pytestmark = pytest.mark.integration

ENV_HANDLER = "import os\n\n\ndef handler(event, context):\n    return dict(os.environ)\n"
# Run with exactly the runtime's environment (plus the endpoint the pod spec would give).
BOTOCORE = """
import json, sys
import botocore.session
session = botocore.session.get_session()
credentials = session.get_credentials()
client = session.create_client("lambda")
client.invoke(FunctionName="demo", Payload=b'{"hello": 1}')
frozen = credentials.get_frozen_credentials()
print(json.dumps({"method": credentials.method, "access_key": frozen.access_key,
                  "secret": frozen.secret_key, "token": frozen.token}))
"""


class Captured:
    """The requests a loopback server took, as the gateway would read them off the wire."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def capture() -> Iterator[tuple[str, Captured]]:
    captured = Captured()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = list(self.headers.items())
            captured.requests.append({"target": self.path, "headers": headers, "body": body})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", captured
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("eyJhbGciOiJSUzI1NiJ9.first-token.signature\n")
    return path


@pytest.fixture
def durable_agent(
    start_agent: StartAgent, task_root: Path, tmp_path: Path, token_file: Path
) -> Agent:
    (task_root / "envapp.py").write_text(ENV_HANDLER)
    return start_agent(
        handler="envapp.handler", bootstrap=python_bootstrap(tmp_path), pod_token_file=token_file
    )


def runtime_env(agent: Agent) -> dict[str, str]:
    reply = agent.invoke({})
    assert reply.status == 200, reply.body
    env = reply.json()
    assert isinstance(env, dict)
    return env


def run_botocore(env: dict[str, str], endpoint: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", BOTOCORE],
        # The two the pod spec adds that the harness's pod has not (kappa.resources.pods).
        env={**env, "AWS_ENDPOINT_URL_LAMBDA": endpoint, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert isinstance(found, dict)
    return found


POD = Subject(
    "system:serviceaccount:default:demo",
    ("system:serviceaccounts", "system:authenticated"),
    extra=((POD_NAME_EXTRA, ("demo-pod",)),),
)


class TokenReviewStandIn:
    """What the API server's TokenReview answers for the pod's token (e2e has the real one)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, token: str) -> Subject | None:
        return POD if token == self._token else None

    async def access(self, subject: Subject, access: Access) -> bool:
        raise AssertionError(f"not asked here: {subject} {access}")

    async def key(self, access_key_id: str) -> AccessKey | None:
        raise AssertionError(f"a pod key is no Secret's: {access_key_id}")


def gateway_guard(token: str) -> Guard:
    return Guard(TokenReviewStandIn(token), region="us-east-1")


def as_signed(request: dict[str, Any]) -> sigv4.SignedRequest:
    raw_path, _, raw_query = request["target"].partition("?")
    body_sha256 = hashlib.sha256(request["body"]).hexdigest()
    return sigv4.SignedRequest("POST", raw_path, raw_query, request["headers"], body_sha256)


async def signed_request(request: dict[str, Any]) -> sigv4.SignedRequest:
    return as_signed(request)


def verify_with_kappa(request: dict[str, Any], token: str) -> sigv4.Authorization:
    """Kappa's verifier over the captured request, with the secret derived from ``token``."""
    authorization = sigv4.parse_authorization(dict(request["headers"])["Authorization"])
    sigv4.verify(as_signed(request), authorization, pod_credential.secret_access_key(token),
                 region="us-east-1", now=datetime.now(UTC))  # fmt: skip
    return authorization


def fetch(uri: str, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(uri)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", parts.path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_botocore_signs_with_the_pod_credential_and_kappa_verifies_it(
    durable_agent: Agent, token_file: Path, capture: tuple[str, Captured]
) -> None:
    endpoint, captured = capture
    env = runtime_env(durable_agent)
    uri = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    assert uri.startswith("http://127.0.0.1:")
    assert uri.endswith("/kappa/credentials")
    assert urlsplit(uri).port != durable_agent.port  # a slot's loopback port, not the pod's
    assert len(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) >= 32
    assert not any(name.startswith("KAPPA_") for name in env)

    found = run_botocore(env, endpoint)
    token = token_file.read_text().strip()
    assert found["method"] == "container-role"
    assert found["token"] == token
    assert found["access_key"] == pod_credential.access_key_id(token)
    assert found["access_key"].startswith("KAPPAPOD")
    (request,) = captured.requests
    assert dict(request["headers"])["X-Amz-Security-Token"] == token
    authorization = verify_with_kappa(request, token)
    assert authorization.access_key_id == found["access_key"]
    # The gateway's whole path for the KAPPAPOD key, TokenReview stood in for (it needs a
    # kube-apiserver: e2e/test_auth.py): the caller is the pod's ServiceAccount.
    caller = asyncio.run(gateway_guard(token).authenticate(
        dict(request["headers"])["Authorization"], lambda: signed_request(request),
        dict(request["headers"])["X-Amz-Security-Token"]))  # fmt: skip
    assert (caller.user, caller.pod) == (POD.user, "demo-pod")
    with pytest.raises(Exception, match="signature"):
        verify_with_kappa(request, token + "x")  # another token's secret does not verify


def test_a_rotated_token_file_gives_new_credentials(
    durable_agent: Agent, token_file: Path, capture: tuple[str, Captured]
) -> None:
    endpoint, captured = capture
    env = runtime_env(durable_agent)
    first = run_botocore(env, endpoint)
    rotated = "eyJhbGciOiJSUzI1NiJ9.rotated-token.signature"
    token_file.write_text(rotated)
    second = run_botocore(env, endpoint)
    assert second["token"] == rotated
    assert second["access_key"] != first["access_key"]
    verify_with_kappa(captured.requests[-1], second["token"])


def test_wrong_or_missing_authorization_is_refused_and_the_agent_keeps_serving(
    durable_agent: Agent, token_file: Path
) -> None:
    env = runtime_env(durable_agent)
    uri = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    good = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    assert fetch(uri, {})[0] == 401
    assert fetch(uri, {"Authorization": good[:-1]})[0] == 403
    assert fetch(uri, {"Authorization": "x" * 60_000})[0] == 403
    status, body = fetch(uri, {"Authorization": good})
    assert status == 200
    document = json.loads(body)
    assert document["Token"] == token_file.read_text().strip()
    assert document["SecretAccessKey"] == pod_credential.secret_access_key(document["Token"])
    assert datetime.fromisoformat(document["Expiration"]) > datetime.now(UTC)
    token_file.unlink()
    assert fetch(uri, {"Authorization": good})[0] == 503  # botocore tries again later
    assert runtime_env(durable_agent)  # still serving invocations


def test_a_function_with_its_own_container_credentials_gets_none_of_kappas(
    launch_agent: LaunchAgent, task_root: Path, tmp_path: Path, token_file: Path
) -> None:
    (task_root / "envapp.py").write_text(ENV_HANDLER)
    env = pod_environment(
        path=os.environ.get("PATH", "/usr/bin:/bin"),
        home=tmp_path,
        runtime="python3.11",
        handler="envapp.handler",
        task_root=task_root,
        bootstrap=python_bootstrap(tmp_path),
        settings={"pod_token_file": str(token_file)},
    )
    # The Function's env names its own provider: it wins, Kappa adds nothing.
    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:1/own"
    seen = runtime_env(launch_agent(env))
    assert seen["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://127.0.0.1:1/own"
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in seen
