"""The Lambda Invoke API through real boto3 against the real gateway and real agents."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import arn, function_entry


def test_request_response_returns_the_result(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    agent = start_agent()
    gateway = start_gateway([function_entry("echo", [agent])])
    client = lambda_client(gateway)
    response = client.invoke(FunctionName="echo", Payload=json.dumps({"hello": "world"}))
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert "LogResult" not in response
    result = json.loads(response["Payload"].read())
    assert result["event"] == {"hello": "world"}
    assert result["function_arn"] == arn("echo")
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert result["request_id"] == request_id


def test_tail_log_result_holds_the_report_line(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    response = lambda_client(gateway).invoke(FunctionName="echo", LogType="Tail", Payload=b"{}")
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    log = base64.b64decode(response["LogResult"]).decode()
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "echo handler got {}" in log
    assert f"REPORT RequestId: {request_id}\tDuration: " in log


def test_function_error_is_200_with_function_error_unhandled(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("fail", [start_agent("fns.fail", name="fail")])])
    response = lambda_client(gateway).invoke(FunctionName="fail", Payload=b'{"why": "test"}')
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad thing: test"


def test_client_context_reaches_the_handler(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    context = {"custom": {"user": "ann"}, "env": {"locale": "en"}}
    response = lambda_client(gateway).invoke(
        FunctionName="echo",
        ClientContext=base64.b64encode(json.dumps(context).encode()).decode(),
        Payload=b"{}",
    )
    result = json.loads(response["Payload"].read())
    assert result["client_context"] == {"custom": {"user": "ann"}, "env": {"locale": "en"}}


@pytest.mark.parametrize(
    "function_name",
    [
        pytest.param("team-a/echo", id="namespace-slash-name"),
        pytest.param("arn:aws:lambda:us-east-1:team-a:function:echo", id="arn"),
        pytest.param("arn:aws:lambda:us-east-1:team-a:function:echo:$LATEST", id="arn-latest"),
        pytest.param("team-a:function:echo", id="partial-arn"),
    ],
)
def test_function_names_with_a_namespace(
    function_name: str,
    start_agent: StartFunctionAgent,
    start_gateway: StartGateway,
    lambda_client: LambdaClient,
) -> None:
    agent = start_agent(namespace="team-a")
    gateway = start_gateway([function_entry("echo", [agent], namespace="team-a")])
    response = lambda_client(gateway).invoke(FunctionName=function_name, Payload=b"{}")
    assert response["StatusCode"] == 200
    result = json.loads(response["Payload"].read())
    assert result["function_arn"] == arn("echo", "team-a")


def test_missing_function_version_and_alias_are_resource_not_found(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    client = lambda_client(gateway)
    with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
        client.invoke(FunctionName="nope", Payload=b"{}")
    assert missing.value.response["Error"]["Message"] == f"Function not found: {arn('nope')}"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    for qualifier in ("7", "live"):  # no version 7, no alias live: Lambda's qualified 404
        with pytest.raises(client.exceptions.ResourceNotFoundException) as qualified:
            client.invoke(FunctionName="echo", Qualifier=qualifier, Payload=b"{}")
        message = qualified.value.response["Error"]["Message"]
        assert message == f"Function not found: {arn('echo')}:{qualifier}"
    answer = client.invoke(FunctionName="echo", Qualifier="$LATEST")
    assert answer["StatusCode"] == 200
    assert answer["ExecutedVersion"] == "$LATEST"
    assert json.loads(answer["Payload"].read())["function_arn"] == arn("echo")  # and closed


def test_bad_function_name_is_invalid_parameter_value(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    client = lambda_client(gateway)
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.invoke(FunctionName="Not_A_Label", Payload=b"{}")


SYNC_LIMIT = 6 * 1024 * 1024  # LAMBDA-COMPAT.md: 6 MB synchronous (6,291,456 bytes)
ASYNC_LIMIT = 1024 * 1024  # and 1 MB asynchronous


def json_string_of(size: int) -> bytes:
    """A JSON string payload of exactly ``size`` bytes."""
    return b'"' + b"x" * (size - 2) + b'"'


def test_a_payload_of_exactly_6_mb_is_invoked(
    start_agent: StartFunctionAgent, start_gateway: StartGateway
) -> None:
    gateway = start_gateway([function_entry("length", [start_agent("fns.length", name="length")])])
    payload = json_string_of(SYNC_LIMIT)
    assert len(payload) == 6_291_456
    reply = gateway.request("POST", "/2015-03-31/functions/length/invocations", payload)
    assert reply.status == 200, reply.body[:500]
    assert reply.function_error is None
    assert reply.json() == {"length": SYNC_LIMIT - 2}  # the whole payload reached the handler


@pytest.mark.parametrize(
    ("size", "headers", "limit"),
    [
        pytest.param(SYNC_LIMIT + 1, {}, SYNC_LIMIT, id="sync-one-byte-over-6-mb"),
        pytest.param(
            ASYNC_LIMIT + 1, {"X-Amz-Invocation-Type": "Event"}, ASYNC_LIMIT,
            id="event-one-byte-over-1-mb",
        ),
    ],
)  # fmt: skip
def test_a_payload_one_byte_over_the_limit_is_request_too_large(
    start_agent: StartFunctionAgent,
    start_gateway: StartGateway,
    size: int,
    headers: dict[str, str],
    limit: int,
) -> None:
    agent = start_agent("fns.length", name="length")
    gateway = start_gateway([function_entry("length", [agent])])
    path = "/2015-03-31/functions/length/invocations"
    reply = gateway.request("POST", path, json_string_of(size), headers)
    assert reply.status == 413
    assert reply.headers["x-amzn-errortype"] == "RequestTooLargeException"
    assert reply.json() == {
        "Type": "User",
        "message": f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
    }
    # The gateway keeps serving, and the function's first call is that next one: the
    # payload over the limit was refused before any call.
    served = gateway.request("POST", path, b'"ok"')
    assert served.json() == {"length": 2}
    first_call = agent.wait_for(r"START RequestId: (\S+)").group(1)
    assert first_call == served.headers["x-amzn-requestid"]


def test_boto3_sees_request_too_large(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    client = lambda_client(gateway)
    with pytest.raises(client.exceptions.RequestTooLargeException) as refused:
        client.invoke(FunctionName="echo", Payload=json_string_of(SYNC_LIMIT + 1))
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_dry_run_checks_existence_and_admission(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    agent = start_agent()
    gateway = start_gateway(
        [function_entry("echo", [agent]), function_entry("off", [], reserved=0)]
    )
    client = lambda_client(gateway)
    assert client.invoke(FunctionName="echo", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="nope", InvocationType="DryRun")
    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName="off", InvocationType="DryRun")
    assert "echo handler got" not in agent.output()


def test_timeout_is_lambdas_sandbox_timedout_error(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    agent = start_agent("fns.interval", name="slow", timeout=1)
    gateway = start_gateway([function_entry("slow", [agent], timeout=1)])
    response = lambda_client(gateway).invoke(FunctionName="slow", Payload=b'{"seconds": 5}')
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]


def test_read_apis(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    agent = start_agent()
    gateway = start_gateway(
        [
            function_entry("echo", [agent], reserved=5),
            function_entry("alpha", [], namespace="team-a"),
            function_entry("beta", [], namespace="team-a"),
        ]
    )
    client = lambda_client(gateway)
    configuration = client.get_function(FunctionName="echo")["Configuration"]
    assert configuration["FunctionName"] == "echo"
    assert configuration["FunctionArn"] == arn("echo")
    assert configuration["Runtime"] == "python3.11"
    assert configuration["Handler"] == "fns.echo"
    assert configuration["MemorySize"] == 256
    assert configuration["Timeout"] == 3
    assert configuration["State"] == "Active"
    assert client.get_function(FunctionName="echo")["Concurrency"] == {
        "ReservedConcurrentExecutions": 5
    }
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="nope")
    first = client.list_functions(MaxItems=2)
    assert [f["FunctionName"] for f in first["Functions"]] == ["echo", "team-a/alpha"]
    second = client.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in second["Functions"]] == ["team-a/beta"]
    assert "NextMarker" not in second
    names = [
        f["FunctionArn"]
        for page in client.get_paginator("list_functions").paginate(
            PaginationConfig={"PageSize": 1}
        )
        for f in page["Functions"]
    ]
    assert names == [arn("echo"), arn("alpha", "team-a"), arn("beta", "team-a")]
    settings = client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 995
    assert settings["AccountUsage"]["FunctionCount"] == 3


def test_a_version_is_invoked_by_number_and_by_qualified_arn_on_its_own_pods(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    """The registry file's ``version`` entry is version 1 of echo, on an agent of its own."""
    # Version 1's agent says another ARN (its namespace "marker"): which agent answered.
    latest, first = start_agent(), start_agent(namespace="marker")
    version = {**function_entry("echo", [first]), "version": "1"}
    version["endpoints"][0]["pod"] = "echo.1-0"
    gateway = start_gateway([function_entry("echo", [latest]), version])
    client = lambda_client(gateway)
    for name, qualifier in (("echo", "1"), (f"{arn('echo')}:1", None), ("echo", None)):
        args: dict[str, Any] = {"FunctionName": name, "Payload": b"{}"}
        if qualifier is not None:
            args["Qualifier"] = qualifier
        answer = client.invoke(**args)
        ran = json.loads(answer["Payload"].read())["function_arn"]
        if name == "echo" and qualifier is None:
            assert (answer["ExecutedVersion"], ran) == ("$LATEST", arn("echo"))
        else:
            assert (answer["ExecutedVersion"], ran) == ("1", arn("echo", "marker"))
