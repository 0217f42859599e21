"""Malformed and hostile requests: each gets a clear 4xx in Lambda's shape; the next call works."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import socket
import threading
from types import SimpleNamespace

import pytest

from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import Gateway, function_entry

INVOKE = "/2015-03-31/functions/{}/invocations"
TOO_BIG_CONTEXT = base64.b64encode(json.dumps({"custom": {"k": "v" * 3000}}).encode()).decode()


CASES = [
    # (id, path, headers, body, status, error type)
    ("bad-json", INVOKE.format("echo"), {}, b"{not json", 400, "InvalidRequestContentException"),
    ("json-trailing-garbage", INVOKE.format("echo"), {}, b"{} x", 400,
     "InvalidRequestContentException"),
    ("not-utf8", INVOKE.format("echo"), {}, b"\xff\xfe", 400, "InvalidRequestContentException"),
    ("nested-too-deeply", INVOKE.format("echo"), {}, b"[" * 100_000 + b"]" * 100_000, 400,
     "InvalidRequestContentException"),
    ("nested-too-deeply-small", INVOKE.format("echo"), {}, b"[" * 5_000 + b"]" * 5_000, 400,
     "InvalidRequestContentException"),
    ("unknown-invocation-type", INVOKE.format("echo"), {"X-Amz-Invocation-Type": "Later"}, b"{}",
     400, "InvalidParameterValueException"),
    ("lowercase-invocation-type", INVOKE.format("echo"), {"X-Amz-Invocation-Type": "event"},
     b"{}", 400, "InvalidParameterValueException"),
    ("unknown-log-type", INVOKE.format("echo"), {"X-Amz-Log-Type": "All"}, b"{}", 400,
     "InvalidParameterValueException"),
    ("client-context-not-base64", INVOKE.format("echo"), {"X-Amz-Client-Context": "%%%"}, b"{}",
     400, "InvalidRequestContentException"),
    ("client-context-not-json", INVOKE.format("echo"),
     {"X-Amz-Client-Context": base64.b64encode(b"nope").decode()}, b"{}", 400,
     "InvalidRequestContentException"),
    ("client-context-not-object", INVOKE.format("echo"),
     {"X-Amz-Client-Context": base64.b64encode(b"[1]").decode()}, b"{}", 400,
     "InvalidRequestContentException"),
    ("client-context-too-big", INVOKE.format("echo"), {"X-Amz-Client-Context": TOO_BIG_CONTEXT},
     b"{}", 400, "InvalidRequestContentException"),
    ("uppercase-name", INVOKE.format("Echo"), {}, b"{}", 400, "InvalidParameterValueException"),
    ("underscore-name", INVOKE.format("my_fn"), {}, b"{}", 400, "InvalidParameterValueException"),
    ("name-too-long", INVOKE.format("a" * 300), {}, b"{}", 400, "InvalidParameterValueException"),
    ("encoded-double-slash", INVOKE.format("a%2Fb%2Fc"), {}, b"{}", 400,
     "InvalidParameterValueException"),
    ("other-service-arn", INVOKE.format("arn%3Aaws%3As3%3A%3A%3Abucket"), {}, b"{}", 400,
     "InvalidParameterValueException"),
    ("missing-function", INVOKE.format("nope"), {}, b"{}", 404, "ResourceNotFoundException"),
    ("missing-namespace", INVOKE.format("other%2Fecho"), {}, b"{}", 404,
     "ResourceNotFoundException"),
    ("version-qualifier", INVOKE.format("echo") + "?Qualifier=1", {}, b"{}", 404,
     "ResourceNotFoundException"),
    ("alias-in-name", INVOKE.format("echo%3Aprod"), {}, b"{}", 404, "ResourceNotFoundException"),
    ("bad-qualifier", INVOKE.format("echo") + "?Qualifier=a%20b", {}, b"{}", 400,
     "InvalidParameterValueException"),
    ("mismatched-qualifier", INVOKE.format("echo%3Av1") + "?Qualifier=v2", {}, b"{}", 400,
     "InvalidParameterValueException"),
    ("async-too-large", INVOKE.format("echo"), {"X-Amz-Invocation-Type": "Event"},
     b'"' + b"x" * (1024 * 1024) + b'"', 413, "RequestTooLargeException"),
    ("sync-too-large", INVOKE.format("echo"), {}, b'"' + b"x" * (6 * 1024 * 1024) + b'"', 413,
     "RequestTooLargeException"),
    ("dry-run-missing", INVOKE.format("nope"), {"X-Amz-Invocation-Type": "DryRun"}, b"", 404,
     "ResourceNotFoundException"),
    ("get-missing", "/2015-03-31/functions/nope", None, b"", 404, "ResourceNotFoundException"),
    ("get-bad-name", "/2015-03-31/functions/BAD", None, b"", 400,
     "InvalidParameterValueException"),
    ("list-bad-max-items", "/2015-03-31/functions?MaxItems=0", None, b"", 400,
     "InvalidParameterValueException"),
    ("list-bad-marker", "/2015-03-31/functions?Marker=x", None, b"", 400,
     "InvalidParameterValueException"),
    ("reserved-zero", INVOKE.format("off"), {}, b"{}", 429, "TooManyRequestsException"),
    ("reserved-zero-event", INVOKE.format("off"), {"X-Amz-Invocation-Type": "DryRun"}, b"", 429,
     "TooManyRequestsException"),
]  # fmt: skip


@pytest.fixture
def gateway(start_agent: StartFunctionAgent, start_gateway: StartGateway) -> Gateway:
    return start_gateway(
        [function_entry("echo", [start_agent()]), function_entry("off", [], reserved=0)]
    )


def test_each_malformed_request_gets_lambdas_error_and_the_gateway_keeps_serving(
    gateway: Gateway,
) -> None:
    for case_id, path, headers, body, status, error_type in CASES:
        method = "GET" if headers is None else "POST"
        reply = gateway.request(method, path, body, headers or {})
        assert reply.status == status, (case_id, reply.body[:300])
        assert reply.headers["x-amzn-errortype"] == error_type, case_id
        parsed = reply.json()
        assert isinstance(parsed, dict)
        assert parsed.get("message") or parsed.get("Message"), case_id
        assert reply.headers["x-amzn-requestid"], case_id
        ok = gateway.request("POST", INVOKE.format("echo"), b"{}")
        assert ok.status == 200, (case_id, ok.body)
    assert len(CASES) >= 30


def test_a_slow_sender_does_not_block_others(gateway: Gateway) -> None:
    slow = socket.create_connection(("127.0.0.1", gateway.port))
    try:
        slow.sendall(b"POST " + INVOKE.format("echo").encode() + b" HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 100\r\n\r\n{")  # fmt: skip
        assert gateway.request("POST", INVOKE.format("echo"), b"{}").status == 200
        # Served while the slow request is still unanswered and its connection still open.
        slow.settimeout(0)  # non-blocking: a read with nothing to read raises
        with pytest.raises(BlockingIOError):
            slow.recv(1)
    finally:
        slow.close()


def test_a_header_flood_is_refused_and_the_gateway_keeps_serving(gateway: Gateway) -> None:
    headers = {f"X-Flood-{index}": "y" * 100 for index in range(200)}
    headers["X-Huge"] = "z" * 20000
    connection = socket.create_connection(("127.0.0.1", gateway.port))
    try:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        connection.sendall(
            f"POST {INVOKE.format('echo')} HTTP/1.1\r\nHost: x\r\n{head}"
            "Content-Length: 2\r\n\r\n{}".encode()
        )
        connection.settimeout(10)
        answer = connection.recv(200)
        # aiohttp refuses it before any handler runs: a plain 400, not Lambda's JSON shape.
        assert answer.split(b" ", 2)[1].startswith(b"4"), answer
    finally:
        connection.close()
    assert gateway.request("POST", INVOKE.format("echo"), b"{}").status == 200


class _Flood(http.server.BaseHTTPRequestHandler):
    """What answers on a hostile pod's agent port: 7 MB, past any answer an agent gives."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'"' + b"x" * (7 * 1024 * 1024) + b'"'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the gateway hangs up once it has enough
            self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_an_answer_larger_than_any_agent_gives_is_a_502_and_not_held(
    start_agent: StartFunctionAgent, start_gateway: StartGateway
) -> None:
    # A stand-in for a hostile process on a pod's port (a real agent never answers this).
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flood)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        gateway = start_gateway([
            function_entry("flood", [SimpleNamespace(port=server.server_address[1])]),  # type: ignore[list-item]
            function_entry("echo", [start_agent()]),
        ])  # fmt: skip
        reply = gateway.request("POST", INVOKE.format("flood"), b"{}")
        assert reply.status == 502, reply.body[:200]
        assert reply.headers["x-amzn-errortype"] == "ServiceException"
        assert b"answered more than" in reply.body
        assert gateway.request("POST", INVOKE.format("echo"), b"{}").status == 200
    finally:
        server.shutdown()
        server.server_close()


READY = "/kappa/v1/agent-ready"
PUSH_UID = "fafb9981-7e77-4bd4-9135-8179bd8e1d35"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(b"{not json", 400, id="not-json"),
        pytest.param(b'{"namespace":"default","pod":"p"}', 400, id="no-uid"),
        pytest.param(b'{"namespace":"default","pod":"p","uid":"u","ip":"10.0.0.1"}', 400,
                     id="an-address-of-its-choosing"),
        pytest.param(b"x" * 4096, 413, id="too-large"),
        pytest.param(json.dumps({"namespace": "default", "pod": "echo-abc", "uid": PUSH_UID})
                     .encode(), 404, id="a-pod-the-gateway-does-not-wait-for"),
    ],
)  # fmt: skip
def test_a_readiness_push_that_proves_nothing_is_refused_and_the_gateway_keeps_serving(
    gateway: Gateway, body: bytes, status: int
) -> None:
    reply = gateway.request("POST", READY, body, {"Content-Type": "application/json"})
    assert reply.status == status, reply.body[:300]
    assert reply.headers["x-amzn-requestid"]
    assert gateway.request("POST", INVOKE.format("echo"), b"{}").status == 200
    metrics = gateway.request("GET", "/metrics", b"", {}).body.decode()
    outcome = "unknown" if status == 404 else "malformed"
    assert f'kappa_gateway_agent_ready_pushes_total{{outcome="{outcome}"}} 1.0' in metrics
