"""Event invocations through the real gateway, a real nats-server and real awslambdaric handlers."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.asyncq.conftest import Calls, StartAsyncGateway, with_async
from tests.integration.brokers import NatsServer
from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import arn, function_entry
from tests.integration.nats_harness import Subscriber

INVOKE = "/2015-03-31/functions/{}/invocations"


def send_event(client: Any, name: str, payload: bytes) -> str:
    """Invoke ``name`` with InvocationType Event through boto3; the request id of the 202."""
    response = client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)
    assert response["StatusCode"] == 202
    return str(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])


EVENT = {"X-Amz-Invocation-Type": "Event"}


def test_event_returns_202_once_stored_and_runs_with_its_request_id(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, calls: Calls,
) -> None:  # fmt: skip
    gateway = async_gateway([function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])
    request_id = send_event(lambda_client(gateway), "ok", b'{"n": 1}')
    [call] = calls("ok")
    assert call == {"requestId": request_id, "event": {"n": 1}, "time": call["time"]}
    assert gateway.metric('kappa_async_enqueued_total{result="accepted"}') == 1


def test_an_event_to_a_version_runs_on_its_own_agent_and_its_failure_record_names_it(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, calls: Calls,
) -> None:  # fmt: skip
    """Version 1 of `flaky` (failing, no retry, failures to `sink`) beside its $LATEST: an
    Event to `flaky:1` runs on version 1's agent, and the record names the version's ARN."""
    latest = function_entry("flaky", [start_agent("asyncfns.ok", name="latest")])
    first = with_async(
        {**function_entry("flaky", [start_agent("asyncfns.fail", name="first")]), "version": "1"},
        maximumRetryAttempts=0, onFailure={"function": "sink"},
    )  # fmt: skip
    first["endpoints"][0]["pod"] = "flaky.1-0"
    sink = function_entry("sink", [start_agent("asyncfns.ok", name="sink")])
    gateway = async_gateway([latest, first, sink])
    response = lambda_client(gateway).invoke(
        FunctionName="flaky", Qualifier="1", InvocationType="Event", Payload=b'{"v": 1}'
    )
    assert response["StatusCode"] == 202
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    [delivered] = calls("sink")
    assert [c["requestId"] for c in calls("first")] == [request_id]
    context = delivered["event"]["requestContext"]
    assert context["functionArn"] == f"{arn('flaky')}:1"
    assert context["requestId"] == request_id


def test_a_retried_enqueue_with_the_same_sdk_invocation_id_runs_once(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway, calls: Calls
) -> None:
    gateway = async_gateway([function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])
    invocation_id = str(uuid.uuid4())
    headers = {**EVENT, "amz-sdk-invocation-id": invocation_id}
    first = gateway.request("POST", INVOKE.format("ok"), b'{"n": "once"}', headers)
    again = gateway.request("POST", INVOKE.format("ok"), b'{"n": "once"}', headers)
    assert (first.status, again.status) == (202, 202)
    assert first.headers["x-amzn-requestid"] == again.headers["x-amzn-requestid"] == invocation_id
    # A later event runs after the first; the duplicate was never stored, so never runs.
    gateway.request("POST", INVOKE.format("ok"), b'{"n": "later"}', EVENT)
    runs = calls("ok", 2)
    assert sorted(str(c["event"]["n"]) for c in runs) == ["later", "once"]
    assert gateway.metric('kappa_async_enqueued_total{result="duplicate"}') == 1


@pytest.mark.parametrize("retries", [pytest.param(0, id="no-retry"), pytest.param(1, id="one"),
                                     pytest.param(2, id="two")])  # fmt: skip
def test_function_errors_are_retried_exactly_then_the_failure_destination_gets_the_record(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, calls: Calls, retries: int,
) -> None:  # fmt: skip
    failing = with_async(
        function_entry("flaky", [start_agent("asyncfns.fail", name="flaky")]),
        maximumRetryAttempts=retries, onFailure={"function": "sink"},
    )  # fmt: skip
    sink = function_entry("sink", [start_agent("asyncfns.ok", name="sink")])
    gateway = async_gateway([failing, sink])
    request_id = send_event(lambda_client(gateway), "flaky", b'{"order": 66}')
    [delivered] = calls("sink")
    attempts = calls("flaky")
    assert [a["requestId"] for a in attempts] == [request_id] * (retries + 1)
    # Each retry waited at least its configured delay (0.3 s, then 0.6 s).
    gaps = [later["time"] - earlier["time"] for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= floor for gap, floor in zip(gaps, [0.3, 0.6][:retries], strict=True))
    record = delivered["event"]
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": arn("flaky") + ":$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": retries + 1,
    }
    assert record["requestPayload"] == {"order": 66}
    assert record["responseContext"] == {
        "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled",
    }  # fmt: skip
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "always fails: {'order': 66}"
    assert delivered["requestId"] != request_id  # the destination's own invocation
    assert calls("sink", 1) == [delivered]  # delivered once
    assert gateway.metric('kappa_async_retries_total{cause="function_error"}') == retries


def test_success_record_is_published_to_a_nats_subject(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, nats_server: NatsServer,
) -> None:  # fmt: skip
    subscriber = Subscriber(nats_server, "default.results.ok")
    try:
        entry = with_async(
            function_entry("ok", [start_agent("asyncfns.ok", name="ok")]),
            onSuccess={"natsSubject": "default.results.ok"},
        )
        gateway = async_gateway([entry])
        request_id = send_event(lambda_client(gateway), "ok", b'"hi"')
        [message] = subscriber.wait(1)
    finally:
        subscriber.close()
    record = message["data"]
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == "hi"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"ok": True, "got": "hi"}
    assert message["headers"]["Kappa-Request-Id"] == request_id


def test_events_older_than_their_maximum_age_are_dead_lettered_unrun(
    async_gateway: StartAsyncGateway, lambda_client: LambdaClient, calls: Calls,
    start_agent: StartFunctionAgent,
) -> None:  # fmt: skip
    # No pod ever serves "idle": each offer waits 0.2 s for capacity, is throttled and
    # requeued with the back-off, until the event is older than 2 s.
    idle = with_async(
        function_entry("idle", []), maximumEventAgeSeconds=2, onFailure={"function": "sink"}
    )
    sink = function_entry("sink", [start_agent("asyncfns.ok", name="sink")])
    gateway = async_gateway([idle, sink], queue_max_wait_seconds=0.2)
    request_id = send_event(lambda_client(gateway), "idle", b'{"late": true}')
    [delivered] = calls("sink")
    record = delivered["event"]
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": arn("idle") + ":$LATEST",
        "condition": "EventAgeExceeded",
        "approximateInvokeCount": 0,
    }
    assert "responseContext" not in record
    assert record["requestPayload"] == {"late": True}
    assert gateway.metric('kappa_async_retries_total{cause="throttled"}') >= 2
    assert gateway.metric('kappa_async_dead_lettered_total{condition="EventAgeExceeded"}') == 1


def test_reserved_concurrency_zero_sends_events_straight_to_failure_handling(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, calls: Calls, tmp_path: Path,
) -> None:  # fmt: skip
    off = with_async(
        function_entry("off", [start_agent("asyncfns.ok", name="off")], reserved=0),
        onFailure={"function": "sink"},
    )
    sink = function_entry("sink", [start_agent("asyncfns.ok", name="sink")])
    gateway = async_gateway([off, sink])
    send_event(lambda_client(gateway), "off", b"{}")
    [delivered] = calls("sink")
    context = delivered["event"]["requestContext"]
    assert (context["condition"], context["approximateInvokeCount"]) == ("RetriesExhausted", 0)
    assert not (tmp_path / "calls-off.jsonl").exists()
    assert gateway.metric('kappa_async_retries_total{cause="throttled"}') == 0


def test_a_missing_destination_function_keeps_the_event_waiting_until_it_exists(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, calls: Calls,
) -> None:  # fmt: skip
    ok = with_async(
        function_entry("ok", [start_agent("asyncfns.ok", name="ok")]),
        onSuccess={"function": "later"},
    )
    gateway = async_gateway([ok])
    request_id = send_event(lambda_client(gateway), "ok", b'{"wait": 1}')
    calls("ok")
    gateway.reader.wait_for(f"{request_id}: destination Function default/later does not exist")
    later = function_entry("later", [start_agent("asyncfns.ok", name="later")])
    gateway.set_functions([ok, later])
    [delivered] = calls("later")
    assert delivered["event"]["requestContext"]["requestId"] == request_id
    assert len(calls("ok")) == 1  # the handler did not run again while the event waited


def test_payload_over_1_mb_is_413_and_1_mb_is_queued(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, calls: Calls,
) -> None:  # fmt: skip
    gateway = async_gateway([function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])
    client = lambda_client(gateway)
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(FunctionName="ok", InvocationType="Event",
                      Payload=b'"' + b"x" * (1024 * 1024 - 1) + b'"')  # fmt: skip
    exactly = b'"' + b"y" * (1024 * 1024 - 2) + b'"'
    send_event(client, "ok", exactly)
    [call] = calls("ok")
    assert call["event"] == "y" * (1024 * 1024 - 2)


def test_without_nats_an_event_is_a_service_exception(
    start_agent: StartFunctionAgent, start_gateway: StartGateway
) -> None:
    gateway = start_gateway([function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])
    reply = gateway.request("POST", INVOKE.format("ok"), b"{}", EVENT)
    assert reply.status == 500
    assert reply.headers["x-amzn-errortype"] == "ServiceException"
    assert "KAPPA_NATS_URL" in json.loads(reply.body)["Message"]


def test_an_sdk_invocation_id_reused_for_another_function_or_namespace_is_another_event(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway, calls: Calls
) -> None:
    """Duplicates and progress are keyed by namespace and Function as well as by id: a
    caller's id that another tenant used first neither drops this event nor passes it off
    as finished."""
    gateway = async_gateway([
        function_entry("ok", [start_agent("asyncfns.ok", name="ok")]),
        function_entry("mine", [start_agent("asyncfns.ok", name="mine", namespace="team-b")],
                       namespace="team-b"),
    ])  # fmt: skip
    shared = str(uuid.uuid4())
    headers = {**EVENT, "amz-sdk-invocation-id": shared}
    for function in ("ok", "team-b%2Fmine"):
        answer = gateway.request("POST", INVOKE.format(function), b'{"n": "shared"}', headers)
        assert answer.status == 202
        assert answer.headers["x-amzn-requestid"] == shared
    [first], [second] = calls("ok"), calls("mine")
    assert first["requestId"] == second["requestId"] == shared
    assert gateway.metric('kappa_async_enqueued_total{result="duplicate"}') == 0
