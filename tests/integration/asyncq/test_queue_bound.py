"""A namespace's ConcurrencyQuota ``maxQueuedEvents`` bounds what it keeps in the shared
queue: past it an Event invocation gets 429 TooManyRequestsException (what boto3 retries
later), counted by JetStream across every replica, while another namespace still
enqueues; once events leave the queue, the namespace enqueues again."""

from __future__ import annotations

import json

from tests.integration.asyncq.conftest import FAST
from tests.integration.brokers import NatsServer
from tests.integration.gateway.conftest import StartGateway
from tests.integration.gateway.gateway_harness import function_entry
from tests.integration.nats_harness import with_connection

EVENT = {"X-Amz-Invocation-Type": "Event"}


def invoke(namespace: str) -> str:
    return f"/2015-03-31/functions/{namespace}%2Ffn/invocations"


def test_a_namespace_at_its_queued_events_bound_gets_429_and_others_do_not(
    nats_server: NatsServer, start_gateway: StartGateway
) -> None:
    functions = [function_entry("fn", namespace="busy"), function_entry("fn", namespace="calm")]
    # Two enqueue-only replicas (no workers: nothing leaves the queue) share one bound.
    env = {"KAPPA_NATS_URL": nats_server.url, "KAPPA_ASYNC_WORKERS": "0", **FAST}
    replicas = [
        start_gateway(functions, extra_env=env, namespace_queued_events={"busy": 5})
        for _ in range(2)
    ]
    for gateway in replicas:
        gateway.reader.wait_for("JetStream streams ready")
    statuses = [
        replicas[n % 2].request("POST", invoke("busy"), b"{}", EVENT).status for n in range(5)
    ]
    assert statuses == [202] * 5
    for gateway in replicas:
        refused = gateway.request("POST", invoke("busy"), b"{}", EVENT)
        assert refused.status == 429, refused.body
        body = json.loads(refused.body)
        assert refused.headers["x-amzn-errortype"] == "TooManyRequestsException"
        assert body["Reason"] == "ConcurrentInvocationLimitExceeded"
        assert "maxQueuedEvents (5)" in body["message"]
        assert gateway.metric('kappa_async_enqueued_total{result="throttled"}') == 1
    # Another namespace is not held back by this one's backlog.
    assert replicas[0].request("POST", invoke("calm"), b"{}", EVENT).status == 202

    async def take_one(nc: object) -> None:
        js = nc.jetstream()  # type: ignore[attr-defined]
        await js.delete_msg("kappa-events_busy", 1)

    with_connection(nats_server, take_one)
    assert replicas[1].request("POST", invoke("busy"), b"{}", EVENT).status == 202
