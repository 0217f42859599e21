"""InvokeWithResponseStream through real boto3 against the real gateway and real agents.

A handler that returns its result (not a streaming one) answers as Lambda's do: its
whole result in PayloadChunk events, then InvokeComplete. The streaming Node handlers
are tests/integration/nodejs/test_nodejs_streaming.py's.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from kappa.base import relay_frames
from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import function_entry

STREAM_PATH = "/2021-11-15/functions/{}/response-streaming-invocations"


def events_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    stream = response["EventStream"]
    try:
        return list(stream)
    finally:
        stream.close()


def test_a_result_arrives_as_payload_chunks_and_a_clean_end(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    response = lambda_client(gateway).invoke_with_response_stream(
        FunctionName="echo", Payload=json.dumps({"hello": "stream"})
    )
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    events = events_of(response)
    assert events[-1] == {"InvokeComplete": {}}
    payload = b"".join(event["PayloadChunk"]["Payload"] for event in events[:-1])
    result = json.loads(payload)
    assert result["event"] == {"hello": "stream"}
    assert result["request_id"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_a_function_error_ends_with_its_code_details_and_tail(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("fail", [start_agent("fns.fail", name="fail")])])
    response = lambda_client(gateway).invoke_with_response_stream(
        FunctionName="fail", Payload=b'{"why": "streamed"}', LogType="Tail"
    )
    assert response["StatusCode"] == 200
    (complete,) = events_of(response)
    end = complete["InvokeComplete"]
    assert end["ErrorCode"] == "ValueError"
    assert end["ErrorDetails"] == "bad thing: streamed"
    assert "about to fail" in base64.b64decode(end["LogResult"]).decode()


def test_dry_run_is_204_and_event_is_refused(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    client = lambda_client(gateway)
    dry = client.invoke_with_response_stream(FunctionName="echo", InvocationType="DryRun")
    dry["EventStream"].close()
    assert dry["StatusCode"] == 204
    # boto3 refuses InvocationType=Event itself; a raw caller gets Lambda's 400.
    reply = gateway.request(
        "POST", STREAM_PATH.format("echo"), b"{}", {"X-Amz-Invocation-Type": "Event"}
    )
    assert reply.status == 400
    assert reply.headers["x-amzn-errortype"] == "InvalidParameterValueException"


@pytest.mark.parametrize(
    ("function", "body", "headers", "status", "error_type"),
    [
        ("nope", b"{}", {}, 404, "ResourceNotFoundException"),
        ("echo", b"{not json", {}, 400, "InvalidRequestContentException"),
        ("echo", b"{}", {"X-Amz-Log-Type": "Everything"}, 400, "InvalidParameterValueException"),
        ("echo", b"{}", {"X-Amz-Client-Context": "!!"}, 400, "InvalidRequestContentException"),
        ("echo", b"[" + b" " * (6 * 1024 * 1024) + b"]", {}, 413, "RequestTooLargeException"),
    ],
)  # fmt: skip
def test_hostile_requests_get_lambdas_errors(
    start_agent: StartFunctionAgent,
    start_gateway: StartGateway,
    function: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    error_type: str,
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    reply = gateway.request("POST", STREAM_PATH.format(function), body, headers)
    assert reply.status == status, reply.body
    assert reply.headers["x-amzn-errortype"] == error_type


class _FakeAgent(http.server.BaseHTTPRequestHandler):
    """A pod's port answering a streamed /invoke with what the test sets: hostile frames."""

    answer = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("X-Kappa-Stream", "1")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(self.answer)
        self.wfile.flush()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def fake_agent() -> Iterator[tuple[type[_FakeAgent], int]]:
    handler = type("Handler", (_FakeAgent,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("answer", "error_code"),
    [
        pytest.param(relay_frames.data(b"abc")[0] + b"abc" + b"Z\x00\x00\x00\x01x",
                     "ServiceException", id="not frames"),
        pytest.param(b"".join(relay_frames.data(b"abc")), "ServiceException", id="no end"),
        pytest.param(b"".join(relay_frames.data(b"abc")) + b"E\x00\x00\x00\x02[]",
                     "ServiceException", id="bad end"),
    ],
)  # fmt: skip
def test_a_pod_that_streams_nonsense_ends_the_stream_with_an_error(
    fake_agent: tuple[type[_FakeAgent], int],
    start_gateway: StartGateway,
    lambda_client: LambdaClient,
    answer: bytes,
    error_code: str,
) -> None:
    handler, port = fake_agent
    handler.answer = answer
    gateway = start_gateway([function_entry("echo", [SimpleNamespace(port=port)])])  # type: ignore[list-item]
    response = lambda_client(gateway).invoke_with_response_stream(FunctionName="echo")
    events = events_of(response)
    assert events[0] == {"PayloadChunk": {"Payload": b"abc"}}
    assert events[-1]["InvokeComplete"]["ErrorCode"] == error_code
