# ruff: noqa: T201 - the measured start latencies are printed
"""One namespace's backlog does not hold up another's events.

Namespace ``tenant-a`` has 50,000 events queued for a Function with reserved
concurrency 1 (so all but one at a time are throttled and requeued, over and
over, with the test's short back-off); then 100 events are sent, one every 50 ms,
to a Function of ``tenant-b``. Each must start while A's backlog is still
there; the test prints the start latency (202 to handler start) p50/p99/max.

A's events are published straight into the event stream, with the headers the
gateway gives them (``kappa.asyncq.envelope``), which is what an enqueue does,
50,000 times faster than through HTTP.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

from kappa.asyncq.envelope import Event, Names
from kappa.asyncq.jetstream import ensure_stream
from kappa.asyncq.settings import AsyncSettings
from tests.integration.asyncq.conftest import Calls, StartAsyncGateway
from tests.integration.brokers import NatsServer
from tests.integration.gateway.conftest import StartFunctionAgent
from tests.integration.gateway.gateway_harness import arn, function_entry
from tests.integration.nats_harness import with_connection

BACKLOG = 50_000
PROBES = 100
EVENT = {"X-Amz-Invocation-Type": "Event"}


def flood(server: NatsServer, namespace: str, name: str, count: int) -> None:
    """Queue ``count`` events for ``namespace/name`` as the gateway would."""
    names = Names()

    async def publish(nc: Any) -> None:
        js = nc.jetstream(timeout=30)
        await ensure_stream(js, AsyncSettings(nats_url=server.url), names, namespace)
        batch = []
        for _ in range(count):
            event = Event(namespace=namespace, name=name, request_id=str(uuid.uuid4()),
                          payload=b"{}", enqueued_ms=int(time.time() * 1000))  # fmt: skip
            batch.append(js.publish(names.event_subject(namespace, name), event.payload,
                                    headers=event.headers(),
                                    stream=names.event_stream(namespace)))  # fmt: skip
            if len(batch) == 1000:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)

    with_connection(server, publish)


def queued(server: NatsServer, namespace: str) -> int:
    """Events of ``namespace`` still in the event stream."""

    async def count(nc: Any) -> int:
        names = Names()
        info = await nc.jetstream().stream_info(names.event_stream(namespace))
        return int(info.state.messages)

    return int(with_connection(server, count))


def test_a_namespaces_backlog_does_not_delay_another_namespaces_events(
    nats_server: NatsServer, start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    calls: Calls,
) -> None:  # fmt: skip
    throttled = function_entry("slow", [start_agent("asyncfns.ok", name="slow")],
                               namespace="tenant-a", reserved=1)  # fmt: skip
    other = function_entry("fast", [start_agent("asyncfns.ok", name="fast")], namespace="tenant-b")
    gateway = async_gateway([throttled, other])
    flood(nats_server, "tenant-a", "slow", BACKLOG)
    calls("slow", 1)  # A's backlog is being worked on
    while gateway.metric('kappa_async_invocations_total{result="throttled"}') < 1:
        time.sleep(0.05)

    sent: dict[str, float] = {}
    for n in range(PROBES):
        before = time.time()
        reply = gateway.request("POST", f"/2015-03-31/functions/{arn('fast', 'tenant-b')}/invocations",
                                f'{{"n": {n}}}'.encode(), EVENT)  # fmt: skip
        assert reply.status == 202, reply.body
        sent[reply.headers["x-amzn-requestid"]] = before
        time.sleep(0.05)
    started = {c["requestId"]: c["time"] for c in calls("fast", PROBES, timeout=120)}
    left = queued(nats_server, "tenant-a")

    latencies = sorted(started[request_id] - at for request_id, at in sent.items())
    p99 = latencies[int(0.99 * len(latencies)) - 1]
    print(f"\ntenant-b start latency over {PROBES} events while tenant-a had {BACKLOG:,} "
          f"queued (reserved concurrency 1): p50 {statistics.median(latencies):.3f}s, "
          f"p99 {p99:.3f}s, max {latencies[-1]:.3f}s; tenant-a events left {left:,}")  # fmt: skip
    assert set(started) == set(sent)
    # B's events ran while A's backlog was still there, not after it drained.
    assert left > BACKLOG // 2
