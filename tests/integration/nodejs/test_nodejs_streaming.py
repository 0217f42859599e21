"""Response streaming end to end: Node's awslambda.streamifyResponse handlers under the
real agent, behind the real gateway, read by boto3's invoke_with_response_stream.

"Before the handler finishes" is shown by ordering: the handlers wait for a file the
test creates only after it has read the first chunk, so a buffered stream would hang
(and fail on the read timeout) instead of passing.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent.agent_harness import Agent, StartAgent
from tests.integration.gateway.conftest import LambdaClient, StartGateway
from tests.integration.gateway.gateway_harness import Gateway, arn, function_entry

pytestmark = pytest.mark.timeout(90, func_only=True)

STREAM_PATH = "/2021-11-15/functions/{}/response-streaming-invocations"


def streaming_function(
    start_agent: StartAgent, start_gateway: StartGateway, handler: str, **settings: Any
) -> tuple[Agent, Gateway]:
    agent = start_agent(handler, env={"KAPPA_FUNCTION_ARN": arn("streamer")}, timeout_seconds=20)
    gateway = start_gateway([function_entry("streamer", [agent], timeout=20)], **settings)
    return agent, gateway


def test_chunks_arrive_before_the_handler_ends(
    start_agent: StartAgent,
    start_gateway: StartGateway,
    lambda_client: LambdaClient,
    tmp_path: Path,
) -> None:
    _, gateway = streaming_function(start_agent, start_gateway, "streaming.twoParts")
    release = tmp_path / "release"
    response = lambda_client(gateway, read_timeout=20).invoke_with_response_stream(
        FunctionName="streamer", Payload=json.dumps({"release": str(release)})
    )
    assert response["StatusCode"] == 200
    events = iter(response["EventStream"])
    # The handler is still waiting for the release file: this chunk came while it ran.
    assert next(events) == {"PayloadChunk": {"Payload": b"first;"}}
    release.touch()
    rest = list(events)
    response["EventStream"].close()
    assert rest == [{"PayloadChunk": {"Payload": b"second;"}}, {"InvokeComplete": {}}]


def test_an_error_mid_stream_ends_with_its_error_code(
    start_agent: StartAgent,
    start_gateway: StartGateway,
    lambda_client: LambdaClient,
    tmp_path: Path,
) -> None:
    _, gateway = streaming_function(start_agent, start_gateway, "streaming.failsMidStream")
    release = tmp_path / "release"
    response = lambda_client(gateway, read_timeout=20).invoke_with_response_stream(
        FunctionName="streamer", Payload=json.dumps({"release": str(release)}), LogType="Tail"
    )
    events = iter(response["EventStream"])
    assert next(events) == {"PayloadChunk": {"Payload": b"partial;"}}
    release.touch()
    (complete,) = list(events)
    response["EventStream"].close()
    end = complete["InvokeComplete"]
    assert end["ErrorCode"] == "TypeError"
    assert end["ErrorDetails"] == "broke mid-stream"
    assert "LogResult" in end


def test_a_stream_past_the_bound_is_cut_with_an_error(
    start_agent: StartAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    _, gateway = streaming_function(start_agent, start_gateway, "streaming.tooMuch")
    response = lambda_client(gateway, read_timeout=20).invoke_with_response_stream(
        FunctionName="streamer", Payload=json.dumps({"megabytes": 25})
    )
    size = 0
    complete = None
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            size += len(event["PayloadChunk"]["Payload"])
        else:
            complete = event["InvokeComplete"]
    response["EventStream"].close()
    assert complete is not None
    assert complete["ErrorCode"] == "Function.ResponseSizeTooLarge"
    assert size <= 20 * 1024 * 1024


def test_a_silent_stream_is_cut_by_the_idle_timeout(
    start_agent: StartAgent,
    start_gateway: StartGateway,
    lambda_client: LambdaClient,
    tmp_path: Path,
) -> None:
    _, gateway = streaming_function(
        start_agent, start_gateway, "streaming.twoParts", stream_idle_timeout_seconds=0.5
    )
    response = lambda_client(gateway, read_timeout=20).invoke_with_response_stream(
        FunctionName="streamer", Payload=json.dumps({"release": str(tmp_path / "never")})
    )
    events = list(response["EventStream"])
    response["EventStream"].close()
    assert events[0] == {"PayloadChunk": {"Payload": b"first;"}}
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "Kappa.StreamIdleTimeout"


def test_a_caller_gone_mid_stream_breaks_nothing(
    start_agent: StartAgent,
    start_gateway: StartGateway,
    lambda_client: LambdaClient,
    tmp_path: Path,
) -> None:
    agent, gateway = streaming_function(start_agent, start_gateway, "streaming.twoParts")
    release = tmp_path / "release"
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=20)
    connection.request(
        "POST", STREAM_PATH.format("streamer"), body=json.dumps({"release": str(release)})
    )
    reply = connection.getresponse()
    assert reply.status == 200
    assert b"first;" in reply.read1()  # the first PayloadChunk, mid-stream
    connection.close()  # the caller goes away
    release.touch()
    agent.wait_for(r"END RequestId: ")  # the function still ran to its end
    # The slot came back, and the agent and gateway still serve.
    second = tmp_path / "second"
    second.touch()
    response = lambda_client(gateway, read_timeout=20).invoke_with_response_stream(
        FunctionName="streamer", Payload=json.dumps({"release": str(second)})
    )
    events = list(response["EventStream"])
    response["EventStream"].close()
    payload = b"".join(event["PayloadChunk"]["Payload"] for event in events[:-1])
    assert payload == b"first;second;"
    assert events[-1] == {"InvokeComplete": {}}


def test_a_plain_invoke_of_a_streaming_handler_gets_the_whole_body(
    start_agent: StartAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    _, gateway = streaming_function(start_agent, start_gateway, "streaming.whole")
    response = lambda_client(gateway).invoke(FunctionName="streamer", Payload=b'{"a": 1}')
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"streamed": {"a": 1}}


def url_function(
    start_agent: StartAgent, start_gateway: StartGateway, handler: str, mode: str
) -> Gateway:
    agent = start_agent(handler, env={"KAPPA_FUNCTION_ARN": arn("streamer")}, timeout_seconds=20)
    entry = function_entry("streamer", [agent], timeout=20)
    entry["urlInvokeMode"] = mode
    return start_gateway([entry])


def test_a_streaming_url_sends_bytes_before_the_handler_ends(
    start_agent: StartAgent, start_gateway: StartGateway, tmp_path: Path
) -> None:
    gateway = url_function(start_agent, start_gateway, "streaming.twoParts", "RESPONSE_STREAM")
    release = tmp_path / "release"
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=20)
    connection.request(
        "POST",
        "/fn/default/streamer",
        body=json.dumps({"release": str(release)}),
        headers={"Content-Type": "application/json"},
    )
    reply = connection.getresponse()
    assert reply.status == 200
    assert reply.getheader("Content-Type") == "text/plain"
    assert reply.getheader("Transfer-Encoding") == "chunked"
    assert reply.read1() == b"first;"  # the handler waits for the release file
    release.touch()
    assert reply.read() == b"second;"
    connection.close()


def test_a_streaming_url_takes_the_status_and_headers_of_the_prelude(
    start_agent: StartAgent, start_gateway: StartGateway
) -> None:
    gateway = url_function(start_agent, start_gateway, "streaming.http", "RESPONSE_STREAM")
    reply = gateway.request("GET", "/fn/default/streamer/any")
    assert reply.status == 201
    assert reply.headers["x-custom"] == "yes"
    assert reply.headers["content-type"] == "text/plain"
    assert reply.body == b"hello world"


def test_an_error_after_the_head_cuts_the_streamed_url_answer(
    start_agent: StartAgent, start_gateway: StartGateway, tmp_path: Path
) -> None:
    gateway = url_function(
        start_agent, start_gateway, "streaming.failsMidStream", "RESPONSE_STREAM"
    )
    release = tmp_path / "release"
    release.touch()
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=20)
    connection.request(
        "POST",
        "/fn/default/streamer",
        body=json.dumps({"release": str(release)}),
        headers={"Content-Type": "application/json"},
    )
    reply = connection.getresponse()
    assert reply.status == 200
    with pytest.raises(http.client.IncompleteRead) as cut:
        reply.read()
    assert cut.value.partial == b"partial;"
    connection.close()


def test_a_buffered_url_answers_a_streaming_handler_whole(
    start_agent: StartAgent, start_gateway: StartGateway
) -> None:
    gateway = url_function(start_agent, start_gateway, "streaming.whole", "BUFFERED")
    reply = gateway.request("POST", "/fn/default/streamer", b'{"a": 1}')
    assert reply.status == 200
    assert "transfer-encoding" not in reply.headers
    assert json.loads(reply.body)["streamed"]["requestContext"]["http"]["method"] == "POST"
