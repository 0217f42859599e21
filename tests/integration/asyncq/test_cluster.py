"""On the chart's three-node JetStream cluster (nats.replicas=3, nats.streamReplicas=3:
three real nats-servers running the cluster and authorization blocks ``helm template``
renders, routed to each other), the queue is replicated: a node killed while events wait
loses none of them, and Event invocations keep being accepted and run on the two left."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from kappa.asyncq.envelope import Names
from kappa.asyncq.jetstream import ensure, ensure_stream
from kappa.asyncq.settings import AsyncSettings
from tests.integration.asyncq.conftest import FAST, Calls
from tests.integration.brokers import NatsServer, free_port, start_nats
from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import function_entry
from tests.integration.nats_harness import chart_nats_files, with_connection

INVOKE = "/2015-03-31/functions/ok/invocations"
EVENT = {"X-Amz-Invocation-Type": "Event"}
HANG_GUARD = 90.0  # only guards against a hang
PASSWORD = "gateway-password-of-the-test"  # noqa: S105 - the test's own servers
GATEWAY = {"user": "gateway", "password": PASSWORD}
ROUTE_PASSWORD = "route-password-of-the-test"  # noqa: S105


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[NatsServer]]:
    """Three nats-servers with the chart's cluster.conf and authorization.conf.

    In a pod, KAPPA_NATS_ROUTE_<i> is built by Kubernetes from node i's Service address
    (its <NAME>_SERVICE_HOST variable) and the route password; here from node i's loopback
    port. The one change to the rendered text: each node listens for routes on a port of
    its own (pods each have their own address, processes here share one).
    """
    files = chart_nats_files("nats.replicas=3", "nats.streamReplicas=3")
    assert "include ./cluster.conf" in files["nats.conf"]
    cluster_conf = files["cluster.conf"]
    assert cluster_conf.count("listen: 0.0.0.0:6222") == 1
    ports = [free_port() for _ in range(3)]
    routes = {f"KAPPA_NATS_ROUTE_{i}": f"nats-route://route:{ROUTE_PASSWORD}@127.0.0.1:{port}"
              for i, port in enumerate(ports)}  # fmt: skip
    servers: list[NatsServer] = []
    try:
        for i, port in enumerate(ports):
            config = cluster_conf.replace("0.0.0.0:6222", f"127.0.0.1:{port}")
            env = {"KAPPA_NATS_SERVER_NAME": f"kappa-nats-{i}",
                   "KAPPA_NATS_ROUTE_PASSWORD": ROUTE_PASSWORD,
                   "KAPPA_NATS_GATEWAY_PASSWORD": PASSWORD, **routes}  # fmt: skip
            servers.append(start_nats(tmp_path / f"n{i}",
                                      f"{config}\n{files['authorization.conf']}", env))  # fmt: skip
        yield servers
    finally:
        for server in servers:
            server.stop()


def replicas_of(server: NatsServer, stream: str) -> int:
    async def read(nc: Any) -> int:
        info = await nc.jetstream().stream_info(stream)
        return int(info.config.num_replicas)

    return int(with_connection(server, read, **GATEWAY))


def test_a_node_lost_with_events_waiting_loses_none_and_the_queue_keeps_serving(
    cluster: list[NatsServer], start_gateway: StartGateway, start_agent: StartFunctionAgent,
    calls: Calls,
) -> None:  # fmt: skip
    urls = ",".join(server.url for server in cluster)
    # The function is slow to start with: events pile up in the stream before any runs.
    agent = start_agent("asyncfns.ok", name="ok")
    gateway = start_gateway(
        [function_entry("ok", [agent])],
        extra_env={"KAPPA_NATS_URL": urls, "KAPPA_NATS_USER": "gateway",
                   "KAPPA_NATS_PASSWORD": PASSWORD, "KAPPA_ASYNC_REPLICAS": "3",
                   "KAPPA_ASYNC_WORKERS": "4", **FAST},
    )  # fmt: skip
    deadline = time.monotonic() + HANG_GUARD
    gateway.reader.wait_for("async workers started", timeout=HANG_GUARD)
    assert replicas_of(cluster[0], "kappa-dlq") == 3

    def enqueue(numbers: range) -> None:
        for n in numbers:
            while (reply := gateway.request("POST", INVOKE, f'{{"n": {n}}}'.encode(), EVENT,
                                            timeout=10)).status != 202:  # fmt: skip
                # A publish that meets the election after a node's loss is answered 500 (the
                # caller retries, as boto3 does); never anything else.
                assert reply.status == 500, reply.body
                assert time.monotonic() < deadline, "Event invocations never came back"
                time.sleep(0.2)

    # The namespace's first event makes its stream of three copies: answered 202 at once,
    # not a 500 while the copies elect their leader.
    first = gateway.request("POST", INVOKE, b'{"n": 0}', EVENT, timeout=30)
    assert first.status == 202, first.body
    enqueue(range(1, 200))
    assert replicas_of(cluster[0], "kappa-events_default") == 3  # made on the first event
    # The stream's leader or a follower: either way two copies of every event remain.
    cluster[1].stop()
    enqueue(range(200, 400))
    # At least once: a redelivered event is a second line, so 400 lines can come before
    # the last distinct event has run. Wait (to the hang guard) for every one of them.
    deadline = time.monotonic() + HANG_GUARD
    while len(ran := {c["event"]["n"] for c in calls("ok", 400, timeout=HANG_GUARD)}) < 400:
        assert time.monotonic() < deadline, sorted(set(range(400)) - ran)[:20]
        time.sleep(0.2)
    assert ran == set(range(400)), sorted(set(range(400)) - ran)[:20]


def test_a_gateway_of_fewer_replicas_never_lowers_the_queues_copies(
    cluster: list[NatsServer],
) -> None:
    """A rollout that raises nats.streamReplicas runs old and new gateways side by side,
    each setting the queue up when it (re)connects, in either order: an old gateway's R1
    after a new one's R3 leaves three copies; a new one's R3 after an old one's R1 raises
    them, the progress bucket's too."""
    names = Names()
    streams = (names.event_stream("team"), names.dlq_stream, f"KV_{names.progress_bucket}")

    async def set_up(nc: Any, replicas: int) -> dict[str, int]:
        js = nc.jetstream()
        settings = AsyncSettings(nats_url=cluster[0].url, replicas=replicas)
        deadline = time.monotonic() + HANG_GUARD
        while True:  # a new cluster answers JetStream requests once it elected its leader
            try:
                await ensure(js, settings, names)
                await ensure_stream(js, settings, names, "team")
                break
            except (TimeoutError, nats.errors.Error):
                assert time.monotonic() < deadline, "JetStream never answered"
                await asyncio.sleep(0.5)
        return {s: int((await js.stream_info(s)).config.num_replicas) for s in streams}

    def gateway_of(replicas: int) -> dict[str, int]:
        return dict(with_connection(cluster[0], lambda nc: set_up(nc, replicas), **GATEWAY))

    assert gateway_of(1) == dict.fromkeys(streams, 1)  # the old setting, first
    assert gateway_of(3) == dict.fromkeys(streams, 3)  # the new one raises every copy count
    assert gateway_of(1) == dict.fromkeys(streams, 3)  # an old gateway reconnecting after
