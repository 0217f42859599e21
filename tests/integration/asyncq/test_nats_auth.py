"""The chart's NATS users against a real nats-server and a real gateway: the gateway's user
runs the whole async path and nothing more, anonymous clients are refused.

The server runs the ``authorization`` block ``helm template`` renders for the chart
(nats_harness.chart_authorization), plus one user of the test's own, ``observer``, with no
restrictions, that reads what the gateway sent and plays the operator who purges.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from tests.integration.asyncq.conftest import FAST, Calls, with_async
from tests.integration.asyncq.test_async_invoke import send_event
from tests.integration.asyncq.test_dlq import DLQ, dead_letters
from tests.integration.asyncq.test_queue_bytes import legacy_events
from tests.integration.brokers import NatsServer, start_nats
from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import Gateway, arn, function_entry
from tests.integration.nats_harness import Subscriber, chart_authorization, with_connection

PASSWORD = "gateway-password-of-the-test"  # noqa: S105 - the test's own server
GATEWAY = {"user": "gateway", "password": PASSWORD}
OBSERVER = {"user": "observer", "password": "observer-password"}
INVOKE_F = "/2015-03-31/functions/f/invocations"


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """nats-server with the chart's users (and the test's observer)."""
    # Functions of `default` may send destination records to its subjects on this NATS.
    authorization = chart_authorization("nats.destinationNamespaces={default}")
    assert "users: [" in authorization
    with_observer = authorization.replace(
        "users: [", 'users: [\n    {user: observer, password: "observer-password"},', 1
    )
    server = start_nats(tmp_path / "nats", with_observer, {"KAPPA_NATS_GATEWAY_PASSWORD": PASSWORD})
    try:
        yield server
    finally:
        server.stop()


def gateway_on(
    start_gateway: StartGateway, server: NatsServer, functions: list[Any], workers: int = 32
) -> Gateway:
    """A gateway with async invocation on ``server`` as the chart's ``gateway`` user."""
    env = {"KAPPA_NATS_URL": server.url, "KAPPA_NATS_USER": "gateway",
           "KAPPA_NATS_PASSWORD": PASSWORD, "KAPPA_ASYNC_WORKERS": str(workers), **FAST}  # fmt: skip
    gateway = start_gateway(functions, extra_env=env)
    gateway.reader.wait_for("async workers started" if workers else "JetStream streams ready")
    return gateway


def test_the_gateway_user_runs_the_whole_async_path(
    secured_nats: NatsServer, start_agent: StartFunctionAgent, start_gateway: StartGateway,
    lambda_client: LambdaClient, calls: Calls,
) -> None:  # fmt: skip
    ok = with_async(function_entry("ok", [start_agent("asyncfns.ok", name="ok")]),
                    onSuccess={"natsSubject": "default.done"})  # fmt: skip
    job = with_async(function_entry("job", [start_agent("asyncfns.fail", name="job")]),
                     maximumRetryAttempts=0)  # fmt: skip
    done = Subscriber(secured_nats, "default.done", **OBSERVER)
    try:
        gateway = gateway_on(start_gateway, secured_nats, [ok, job])
        client = lambda_client(gateway)
        # Enqueue, a worker's invocation, the progress bucket, an onSuccess record.
        request_id = send_event(client, "ok", b'{"n": 1}')
        assert [c["requestId"] for c in calls("ok")] == [request_id]
        [record] = done.wait(1)
        assert record["data"]["requestContext"]["requestId"] == request_id
    finally:
        done.close()
    # A failure goes to the dead-letter queue; list, redrive (get, publish, delete).
    failed = send_event(client, "job", b'{"n": 2}')
    [entry] = dead_letters(gateway, 1)
    assert entry["requestId"] == failed
    body = json.dumps({"sequences": [entry["sequence"]]}).encode()
    redriven = gateway.request("POST", DLQ.format("default") + "/redrive", body)
    assert redriven.status == 200, redriven.body
    [again] = json.loads(redriven.body)["redriven"]
    assert len(calls("job", 2)) == 2
    [second] = dead_letters(gateway, 1)
    assert second["requestId"] == again["requestId"] != failed
    assert "permissions violation" not in gateway.output().lower()


def test_the_gateway_user_may_not_purge_or_delete_the_queue(
    secured_nats: NatsServer, start_gateway: StartGateway
) -> None:
    gateway = gateway_on(start_gateway, secured_nats, [function_entry("f")], workers=0)
    # Its first event makes the namespace's stream.
    reply = gateway.request("POST", INVOKE_F, b"{}", {"X-Amz-Invocation-Type": "Event"})
    assert reply.status == 202, reply.body

    async def attempts(nc: Any) -> list[str]:
        js = nc.jetstream(timeout=2)
        for attempt in (
            js.purge_stream("kappa-events_default"),
            js.delete_stream("kappa-events_default"),
            js.delete_stream("kappa-dlq"),
            js.delete_consumer("kappa-events_default", "ns-default"),
            js.delete_msg("kappa-events_default", 1),
        ):
            with pytest.raises(nats.errors.TimeoutError):  # the server drops the request
                await attempt
        # Nor may it publish where neither Kappa nor a destination namespace reads.
        await nc.publish("team-b.orders", b"{}")
        await nc.flush()
        # The server's error for the publish comes after the flush: wait for it.
        deadline = asyncio.get_running_loop().time() + 30  # a hang guard
        while not any('"team-b.orders"' in str(error) for error in errors):
            assert asyncio.get_running_loop().time() < deadline, "no error for the publish"
            await asyncio.sleep(0.02)
        return [str(error) for error in errors]

    errors: list[Exception] = []

    async def collect(error: Exception) -> None:
        errors.append(error)

    refused = with_connection(secured_nats, attempts, error_cb=collect, **GATEWAY)
    for subject in ("$js.api.stream.purge.kappa-events_default",
                    "$js.api.stream.delete.kappa-events_default", "$js.api.stream.delete.kappa-dlq",
                    "$js.api.consumer.delete.kappa-events_default.ns-default",
                    "$js.api.stream.msg.delete.kappa-events_default", '"team-b.orders"'):  # fmt: skip
        assert any("permissions violation" in e and subject in e for e in refused), subject

    async def still_there(nc: Any) -> int:
        info = await nc.jetstream().stream_info("kappa-events_default")
        return int(info.state.messages)

    assert with_connection(secured_nats, still_there, **OBSERVER) == 1


@pytest.mark.parametrize(
    "options",
    [pytest.param({}, id="anonymous"),
     pytest.param({"user": "gateway", "password": "guessed"}, id="wrong-password")],
)  # fmt: skip
def test_a_client_without_the_password_is_refused(
    secured_nats: NatsServer, options: dict[str, str]
) -> None:
    async def connect() -> None:
        client = Client()
        try:
            await client.connect(secured_nats.url, allow_reconnect=False, connect_timeout=2,
                                 **options)  # fmt: skip
        finally:
            await client.close()  # a refused client's socket too

    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        asyncio.run(connect())


def test_a_destination_outside_the_functions_namespace_is_not_sent(
    secured_nats: NatsServer, start_agent: StartFunctionAgent, start_gateway: StartGateway,
    lambda_client: LambdaClient, calls: Calls,
) -> None:  # fmt: skip
    # A namespace named like the prefix passes the webhook's "<namespace>." check with a
    # subject of the queue's own: another namespace's dead-letter subject, which the
    # gateway's NATS user may publish to. The worker sends it nowhere.
    hostile = with_async(
        function_entry("f", [start_agent("asyncfns.ok", name="f", namespace="kappa")],
                       namespace="kappa"),
        onSuccess={"natsSubject": "kappa.dlq.default.victim"},
    )  # fmt: skip
    gateway = gateway_on(start_gateway, secured_nats, [hostile])
    request_id = send_event(lambda_client(gateway), arn("f", "kappa"), b"{}")
    assert [c["requestId"] for c in calls("f")] == [request_id]
    gateway.reader.wait_for("not its namespace's own")
    metric = 'kappa_async_destination_records_total{kind="nats",result="refused"}'
    assert gateway.metric(metric) == 1
    assert json.loads(gateway.request("GET", DLQ.format("default")).body)["deadLetters"] == []


def test_the_gateway_user_runs_events_left_in_the_shared_stream_of_earlier_versions(
    secured_nats: NatsServer, start_agent: StartFunctionAgent, start_gateway: StartGateway,
    calls: Calls,
) -> None:  # fmt: skip
    before = legacy_events(secured_nats, 3, **OBSERVER)  # an earlier version's, queued
    gateway = gateway_on(start_gateway, secured_nats,
                         [function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])  # fmt: skip
    assert {c["requestId"] for c in calls("ok", 3)} == before
    assert "permissions violation" not in gateway.output().lower()
