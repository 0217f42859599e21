"""Reaching Kappa's gateway from an author's machine, and invoking through it.

The gateway is ``--gateway URL`` or ``KAPPA_GATEWAY_URL`` when given; else its Service,
found in the cluster (``--kappa-namespace``, ``kappa-system``): its cluster address when
this machine reaches it (a node, a pod, a routed network), otherwise a ``kubectl
port-forward`` to the Service for as long as the command runs.

Callers authenticate as the gateway asks (docs/security.md): ``--token``, else what the
environment gives (``KAPPA_TOKEN``, ``KAPPA_TOKEN_FILE``, the AWS access-key variables),
else the kubeconfig user's own bearer token.
"""

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from kappa.asyncq.settings import caller_credentials, configured_gateway_url
from kappa.auth.credentials import Credentials
from kappa.cli.cluster import Cluster, ClusterError, GatewayService

PROBE_SECONDS: Final = 1.0
PORT_FORWARD_START_SECONDS: Final = 30
INVOKE_TIMEOUT_SECONDS: Final = 960  # Lambda's 900 s timeout, and a cold start
UPLOAD_TIMEOUT_SECONDS: Final = 600  # a 50 MB zip, as 70 MB of JSON, to the code store
MAX_RESPONSE_BYTES: Final = 6 * 1024 * 1024 + 1024  # Lambda's 6 MB answer


class GatewayError(Exception):
    """The gateway could not be reached or refused the call; the message says what to do."""


@dataclass(frozen=True)
class Invocation:
    """The gateway's answer to an Invoke."""

    status: int
    body: bytes
    function_error: str | None
    request_id: str | None


def credentials_for(token: str | None, cluster: Cluster | None) -> Credentials:
    """``token``, the environment's credentials, or the kubeconfig user's bearer token."""
    found = caller_credentials(token)
    if found.token or found.token_file or found.access_key_id:
        return found
    user_token = cluster.bearer_token() if cluster is not None else None
    if user_token is None:
        msg = (
            "no credentials for the gateway: the kubeconfig user has no bearer token (a "
            "client certificate, which the gateway cannot check). Pass --token "
            "$(kubectl create token SA --audience kappa) for a ServiceAccount bound to "
            "kappa-invoker, or export the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY that "
            "kappa access-key create prints"
        )
        raise GatewayError(msg)
    return Credentials(token=user_token)


def _reachable(url: str) -> bool:
    parsed = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 80), PROBE_SECONDS):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def port_forward(service: GatewayService, context: str | None) -> Iterator[str]:
    """A local URL forwarded to the gateway Service by ``kubectl port-forward``."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        msg = (
            f"the gateway's address {service.url} is not reachable from here, and a "
            "port-forward needs kubectl: install kubectl, or pass --gateway URL"
        )
        raise GatewayError(msg)
    command = [kubectl, "port-forward", "-n", service.namespace, f"svc/{service.name}",
               f":{service.port}", "--address", "127.0.0.1"]  # fmt: skip
    if context is not None:
        command += ["--context", context]
    process = subprocess.Popen(  # noqa: S603 - kubectl with fixed arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
        line = process.stdout.readline()  # "Forwarding from 127.0.0.1:PORT -> 8000"
        if "Forwarding from" not in line:
            error = (process.stderr.read() if process.stderr else "").strip()
            msg = f"kubectl port-forward to {service.namespace}/{service.name} failed: {error}"
            raise GatewayError(msg)
        address = line.split("Forwarding from", 1)[1].split("->", 1)[0].strip()
        yield f"http://{address}"
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


@contextlib.contextmanager
def gateway_base(
    explicit: str | None, cluster: Cluster | None, kappa_namespace: str, context: str | None
) -> Iterator[str]:
    """The gateway's base URL for as long as the block runs (a port-forward, when needed)."""
    given = explicit or configured_gateway_url()
    if given is not None:
        yield given.rstrip("/")
        return
    if cluster is None:
        raise GatewayError("no gateway: pass --gateway URL or run against a cluster")
    try:
        service = cluster.gateway(kappa_namespace)
    except ClusterError as error:
        raise GatewayError(str(error)) from error
    if service.url is not None and _reachable(service.url):
        yield service.url
        return
    with port_forward(service, context) as url:
        yield url


def trigger_url(explicit: str | None, cluster: Cluster, kappa_namespace: str) -> tuple[str, bool]:
    """The gateway's lasting base URL, and whether this machine reaches it."""
    given = explicit or configured_gateway_url()
    if given is not None:
        return given.rstrip("/"), True
    try:
        service = cluster.gateway(kappa_namespace)
    except ClusterError as error:
        raise GatewayError(str(error)) from error
    if service.url is None:
        raise GatewayError(f"the gateway Service {service.name} has no cluster address")
    return service.url, _reachable(service.url)


def function_name(namespace: str, name: str) -> str:
    """The Invoke API's FunctionName for ``namespace/name``, URL-encoded."""
    return urllib.parse.quote(f"{namespace}/{name}", safe="")


def invoke(
    base: str, credentials: Credentials, namespace: str, name: str, payload: bytes
) -> Invocation:
    """Invoke the Function synchronously through the Lambda Invoke API."""
    url = f"{base}/2015-03-31/functions/{function_name(namespace, name)}/invocations"
    headers = credentials.headers(
        "POST", url, [("Content-Type", "application/json")], payload, datetime.now(UTC)
    )
    request = urllib.request.Request(url, data=payload, headers=dict(headers), method="POST")  # noqa: S310 - the gateway's URL
    try:
        with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as response:  # noqa: S310
            return Invocation(
                response.status,
                response.read(MAX_RESPONSE_BYTES),
                response.headers.get("X-Amz-Function-Error"),
                response.headers.get("X-Amzn-RequestId"),
            )
    except urllib.error.HTTPError as error:
        body = error.read(64 * 1024).decode("utf-8", "replace")
        raise GatewayError(f"the gateway answered {error.code}: {_message(body)}") from error
    except OSError as error:
        raise GatewayError(f"the gateway at {base} could not be reached: {error}") from error


def put_code(  # noqa: PLR0913 - the call's parts, keyword-only
    base: str,
    credentials: Credentials,
    *,
    namespace: str,
    name: str,
    archive: bytes,
    create: tuple[str, str] | None,
) -> None:
    """Send ``archive`` through the Lambda API, which keeps it in the code store.

    ``create`` (runtime, handler): CreateFunction of a Function that does not exist yet;
    None: UpdateFunctionCode of the one there.
    """
    zipped = base64.b64encode(archive).decode()
    if create is None:
        method = "PUT"
        url = f"{base}/2015-03-31/functions/{function_name(namespace, name)}/code"
        document: dict[str, object] = {"ZipFile": zipped}
    else:
        method = "POST"
        url = f"{base}/2015-03-31/functions"
        runtime, handler = create
        document = {"FunctionName": f"{namespace}/{name}", "Runtime": runtime,
                    "Handler": handler, "Role": "kappa", "Code": {"ZipFile": zipped}}  # fmt: skip
    del zipped
    body = json.dumps(document).encode()
    del document
    headers = credentials.headers(
        method, url, [("Content-Type", "application/json")], body, datetime.now(UTC)
    )
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)  # noqa: S310 - the gateway's URL
    try:
        with urllib.request.urlopen(request, timeout=UPLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as error:
        answer = error.read(64 * 1024).decode("utf-8", "replace")
        raise GatewayError(f"the gateway answered {error.code}: {_message(answer)}") from error
    except OSError as error:
        raise GatewayError(f"the gateway at {base} could not be reached: {error}") from error


def _message(body: str) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.strip()[:500]
    if isinstance(parsed, dict):
        kind = parsed.get("Type") or parsed.get("__type") or ""
        text = parsed.get("Message") or parsed.get("message") or body
        return f"{kind} {text}".strip()
    return body[:500]
