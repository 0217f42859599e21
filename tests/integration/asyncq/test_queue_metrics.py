"""The queue's depth, dead letters and oldest event per Function on the gateway's /metrics,
read from a real nats-server's JetStream streams."""

from __future__ import annotations

import time

from tests.integration.asyncq.conftest import FAST
from tests.integration.brokers import NatsServer
from tests.integration.gateway.conftest import StartGateway
from tests.integration.gateway.gateway_harness import Gateway, function_entry
from tests.integration.nats_harness import with_connection

EVENT = {"X-Amz-Invocation-Type": "Event"}


def invoke(namespace: str) -> str:
    return f"/2015-03-31/functions/{namespace}%2Ffn/invocations"


def wait_for_sample(
    gateway: Gateway, name: str, value: float, *, at_least: bool = False, **labels: str
) -> None:
    """Until ``name{labels}`` is ``value`` (or more, ``at_least``)."""
    deadline = time.monotonic() + 60  # the stats are read every 5 s; this only stops a hang
    while True:
        seen = gateway.sample(name, **labels)
        if seen == value or (at_least and seen > value):
            return
        assert time.monotonic() < deadline, f"{name}{labels} stayed {seen}, not {value}"
        time.sleep(0.5)


def test_queued_and_dead_lettered_events_are_shown_per_function(
    nats_server: NatsServer, start_gateway: StartGateway
) -> None:
    functions = [function_entry("fn", namespace="ns-a"), function_entry("fn", namespace="ns-b")]
    # No workers: what is queued stays queued.
    env = {"KAPPA_NATS_URL": nats_server.url, "KAPPA_ASYNC_WORKERS": "0", **FAST}
    gateway = start_gateway(functions, extra_env=env)
    gateway.reader.wait_for("JetStream streams ready")
    for namespace, count in (("ns-a", 3), ("ns-b", 1)):
        for _ in range(count):
            assert gateway.request("POST", invoke(namespace), b"{}", EVENT).status == 202

    async def dead_letter(nc: object) -> None:
        js = nc.jetstream()  # type: ignore[attr-defined]
        await js.publish("kappa.dlq.ns-b.fn", b"{}")

    with_connection(nats_server, dead_letter)
    a = {"namespace": "ns-a", "function": "fn"}
    b = {"namespace": "ns-b", "function": "fn"}
    wait_for_sample(gateway, "kappa_async_function_queue_depth", 3, **a)
    wait_for_sample(gateway, "kappa_async_function_queue_depth", 1, **b)
    wait_for_sample(gateway, "kappa_async_function_dead_letter_depth", 1, **b)
    assert gateway.sample("kappa_async_function_dead_letter_depth", **a) == 0
    # The age grows while the events wait.
    wait_for_sample(gateway, "kappa_async_function_oldest_event_age_seconds", 1, at_least=True, **a)
    assert gateway.sample("kappa_async_queue_depth") == 4
