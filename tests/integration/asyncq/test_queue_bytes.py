"""A namespace's own event stream, and its ConcurrencyQuota's ``maxQueuedBytes`` and
``maxQueuedEvents`` held exactly by the gateway (docs/internals/async.md, "Bounds on what
a namespace queues"): past a bound an Event invocation gets 429 TooManyRequestsException
(an event larger than the bytes bound by itself 413) and what was accepted stays; replicas
racing at the bound never pass it (``Nats-Expected-Last-Sequence``); events of the shared
stream of earlier versions still run; a namespace's stream comes back after nats-server
restarts on an empty store."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kappa.asyncq.envelope import REQUEST_ID, Event, Names
from kappa.asyncq.jetstream import _stream_config, connect
from kappa.asyncq.publisher import publish_event, queued_in, size_of
from kappa.asyncq.settings import AsyncSettings
from tests.integration.asyncq.conftest import FAST, Calls, StartAsyncGateway
from tests.integration.brokers import NatsServer
from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import Gateway, function_entry
from tests.integration.nats_harness import with_connection

EVENT = {"X-Amz-Invocation-Type": "Event"}
HANG_GUARD = 60.0


def invoke(namespace: str, name: str = "fn") -> str:
    return f"/2015-03-31/functions/{namespace}%2F{name}/invocations"


def stream_state(server: NatsServer, stream: str) -> tuple[int, int]:
    """(messages, bytes) of ``stream``."""

    async def read(nc: Any) -> tuple[int, int]:
        info = await nc.jetstream().stream_info(stream)
        return int(info.state.messages), int(info.state.bytes)

    return tuple(with_connection(server, read))  # type: ignore[return-value]


def request_ids_in(server: NatsServer, stream: str) -> set[str]:
    """The request ids of the events ``stream`` holds."""

    async def read(nc: Any) -> set[str]:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        found = set()
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(stream, seq)
            found.add(message.headers[REQUEST_ID])
        return found

    return set(with_connection(server, read))


def replicas(
    start_gateway: StartGateway, server: NatsServer, count: int, **bounds: dict[str, int]
) -> list[Gateway]:
    """``count`` enqueue-only gateways (no workers: nothing leaves the queue) on ``server``."""
    functions = [function_entry("fn", namespace="busy"), function_entry("fn", namespace="calm")]
    env = {"KAPPA_NATS_URL": server.url, "KAPPA_ASYNC_WORKERS": "0", **FAST}
    started = [start_gateway(functions, extra_env=env, **bounds) for _ in range(count)]
    for gateway in started:
        gateway.reader.wait_for("JetStream streams ready")
    return started


def test_past_the_bytes_bound_an_event_gets_429_and_what_was_accepted_stays(
    nats_server: NatsServer, start_gateway: StartGateway
) -> None:
    bound = 4000
    [gateway] = replicas(start_gateway, nats_server, 1, namespace_queued_bytes={"busy": bound})
    payload = json.dumps({"pad": "x" * 300}).encode()
    accepted: set[str] = set()
    while True:
        reply = gateway.request("POST", invoke("busy"), payload, EVENT)
        if reply.status != 202:
            break
        accepted.add(reply.headers["x-amzn-requestid"])
        assert len(accepted) < 100, "the bound never refused"
    assert reply.status == 429, reply.body
    assert reply.headers["x-amzn-errortype"] == "TooManyRequestsException"
    body = json.loads(reply.body)
    assert body["Reason"] == "ConcurrentInvocationLimitExceeded"
    messages, size = stream_state(nats_server, "kappa-events_busy")
    assert f"maxQueuedBytes ({bound})" in body["message"]
    assert f"{messages} asynchronous invocations ({size} bytes) queued" in body["message"]
    event_size = int(re.search(r"this event's (\d+) bytes", body["message"])[1])  # type: ignore[index]
    assert size <= bound < size + event_size  # never past it; this one would have been
    # Everything answered 202 is stored; nothing else is.
    assert messages == len(accepted)
    assert request_ids_in(nats_server, "kappa-events_busy") == accepted
    assert gateway.metric('kappa_async_enqueued_total{result="throttled"}') == 1
    # Another namespace is not held back.
    large = json.dumps({"pad": "x" * 12_000}).encode()
    assert gateway.request("POST", invoke("calm"), large, EVENT).status == 202

    async def take_one(nc: Any) -> None:  # as a worker's ack would
        await nc.jetstream().delete_msg("kappa-events_busy", 1)

    with_connection(nats_server, take_one)
    assert gateway.request("POST", invoke("busy"), payload, EVENT).status == 202


def test_an_event_larger_than_the_bytes_bound_by_itself_gets_413_saying_so(
    nats_server: NatsServer, start_gateway: StartGateway
) -> None:
    [gateway] = replicas(start_gateway, nats_server, 1, namespace_queued_bytes={"busy": 1000})
    huge = json.dumps({"pad": "x" * 500_000}).encode()
    reply = gateway.request("POST", invoke("busy"), huge, EVENT)
    assert reply.status == 413, reply.body
    assert reply.headers["x-amzn-errortype"] == "RequestTooLargeException"
    message = json.loads(reply.body)["message"]
    assert "maxQueuedBytes (1000)" in message
    assert "can never be queued" in message
    assert stream_state(nats_server, "kappa-events_busy") == (0, 0)
    assert gateway.metric('kappa_async_enqueued_total{result="too_large"}') == 1
    assert gateway.request("POST", invoke("busy"), b"{}", EVENT).status == 202


def race(gateways: list[Gateway], payload: Callable[[int], bytes], attempts: int) -> list[int]:
    """``attempts`` Event invocations of busy/fn, 16 at once, spread over ``gateways``."""

    def send(n: int) -> int:
        reply = gateways[n % len(gateways)].request("POST", invoke("busy"), payload(n), EVENT)
        assert reply.status in {202, 429}, reply.body
        return reply.status

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(send, range(attempts)))


def test_replicas_racing_at_the_events_bound_never_pass_it(
    nats_server: NatsServer, start_gateway: StartGateway
) -> None:
    gateways = replicas(start_gateway, nats_server, 3, namespace_queued_events={"busy": 25})
    statuses = race(gateways, lambda _: b"{}", 150)
    assert statuses.count(202) == 25
    assert stream_state(nats_server, "kappa-events_busy")[0] == 25


def test_replicas_racing_at_the_bytes_bound_never_pass_it(
    nats_server: NatsServer, start_gateway: StartGateway
) -> None:
    bound = 20_000
    gateways = replicas(start_gateway, nats_server, 3, namespace_queued_bytes={"busy": bound})
    # Sizes that differ: another replica's event in a chain's place would show.
    statuses = race(
        gateways, lambda n: json.dumps({"pad": "y" * (100 + 97 * (n % 13))}).encode(), 300
    )
    messages, size = stream_state(nats_server, "kappa-events_busy")
    assert messages == statuses.count(202) > 0
    assert size <= bound


def test_one_replicas_events_chained_at_the_bound_never_pass_it(
    nats_server: NatsServer, start_gateway: StartGateway
) -> None:
    # 16 at once to one replica: its enqueues of the namespace go in chains of
    # conditional publishes, each admitted against the read plus those before it.
    [gateway] = replicas(start_gateway, nats_server, 1, namespace_queued_events={"busy": 40})
    statuses = race([gateway], lambda _: b"{}", 200)
    assert statuses.count(202) == 40
    assert stream_state(nats_server, "kappa-events_busy")[0] == 40


def legacy_events(server: NatsServer, count: int, **options: str) -> set[str]:
    """Queue ``count`` events of default/ok in the shared stream, as an earlier version did.

    ``options``: the connection's credentials.
    """
    names = Names()

    async def publish(nc: Any) -> set[str]:
        js = nc.jetstream()
        await js.add_stream(_stream_config(
            names.legacy_stream, names.legacy_subjects, 86400, replicas=1, work_queue=True
        ))  # fmt: skip
        ids = set()
        for n in range(count):
            event = Event(namespace="default", name="ok", request_id=str(uuid.uuid4()),
                          payload=json.dumps({"n": n}).encode(),
                          enqueued_ms=int(time.time() * 1000))  # fmt: skip
            await js.publish(names.legacy_subject("default", "ok"), event.payload,
                             headers=event.headers(), stream=names.legacy_stream)  # fmt: skip
            ids.add(event.request_id)
        return ids

    return set(with_connection(server, publish, **options))


def test_events_queued_in_the_shared_stream_before_an_upgrade_still_run(
    nats_server: NatsServer, start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    calls: Calls,
) -> None:  # fmt: skip
    before = legacy_events(nats_server, 5)
    gateway = async_gateway([function_entry("ok", [start_agent("asyncfns.ok", name="ok")])])
    after = gateway.request("POST", "/2015-03-31/functions/ok/invocations", b'{"n": 5}', EVENT)
    assert after.status == 202, after.body
    ran = {c["requestId"] for c in calls("ok", 6, timeout=HANG_GUARD)}
    assert ran >= before | {after.headers["x-amzn-requestid"]}
    deadline = time.monotonic() + HANG_GUARD
    while (
        stream_state(nats_server, "kappa-async")[0]
        or stream_state(nats_server, "kappa-events_default")[0]
    ):  # every event acked, in both streams
        assert time.monotonic() < deadline, "events left in the queue"
        time.sleep(0.1)


def test_a_bounded_namespaces_stream_is_made_again_after_nats_restarts_on_an_empty_store(
    nats_server: NatsServer, start_gateway: StartGateway
) -> None:
    [gateway] = replicas(start_gateway, nats_server, 1, namespace_queued_events={"busy": 2})
    assert gateway.request("POST", invoke("busy"), b"{}", EVENT).status == 202
    nats_server.restart_empty()
    deadline = time.monotonic() + HANG_GUARD
    while (reply := gateway.request("POST", invoke("busy"), b"{}", EVENT)).status != 202:
        assert reply.status == 500, reply.body  # until the gateway is back on NATS
        assert time.monotonic() < deadline, "Event invocations never came back"
        time.sleep(0.1)
    # The new stream holds that event alone: the bound counts from it.
    assert stream_state(nats_server, "kappa-events_busy")[0] == 1
    assert gateway.request("POST", invoke("busy"), b"{}", EVENT).status == 202
    assert gateway.request("POST", invoke("busy"), b"{}", EVENT).status == 429


def test_a_chain_stops_at_its_first_refusal_even_when_another_event_took_that_place(
    nats_server: NatsServer,
) -> None:
    """Read at L; another replica stores X (L+1); the chain's first event (expecting L) is
    refused, and its second (expecting L+1 after the first) must be too: X took the
    first's place, and the second was decided on the first's size, not X's."""

    def event(n: int) -> Event:
        return Event(namespace="busy", name="fn", request_id=str(uuid.uuid4()),
                     payload=b'{"n": %d}' % n, enqueued_ms=int(time.time() * 1000))  # fmt: skip

    async def scenario() -> tuple[str, str, int]:
        queue = await connect(AsyncSettings(nats_url=nats_server.url), Names())
        try:
            read = await queued_in(queue, "busy")
            await publish_event(queue, event(0))  # another replica's, after the read
            first, second = event(1), event(2)
            outcomes = await asyncio.gather(
                publish_event(queue, first, after=read.last_sequence),
                publish_event(queue, second, after=read.last_sequence + 1, previous=first),
                return_exceptions=True,
            )
            return (*(type(o).__name__ for o in outcomes), (await queued_in(queue, "busy")).events)  # type: ignore[return-value]
        finally:
            await queue.close()

    assert asyncio.run(scenario()) == ("SequenceMovedError", "SequenceMovedError", 1)


def test_the_size_an_event_is_decided_on_is_the_size_the_stream_stores(
    nats_server: NatsServer,
) -> None:
    """Every header counts, the stream expected among them: sizes decided one header short
    let a chain of events decided on one read pass the bound by that much per event (seen
    as 20,015 to 20,065 bytes stored against a 20,000 bound in the race above)."""
    names = Names()

    def event(n: int) -> Event:
        return Event(namespace="busy", name="fn", request_id=str(uuid.uuid4()),
                     payload=b'{"pad": "%s"}' % (b"y" * (50 * n)),
                     enqueued_ms=int(time.time() * 1000), trace_id="Root=1-abc" if n % 2 else None)  # fmt: skip

    async def scenario() -> tuple[list[int], list[int]]:
        queue = await connect(AsyncSettings(nats_url=nats_server.url), Names())
        try:
            decided, stored = [], []
            previous: Event | None = None
            for n in range(6):
                e = event(n)
                before = await queued_in(queue, "busy")
                # Plain, expecting a sequence, and expecting the previous event too.
                after = None if n < 2 else before.last_sequence
                prior = previous if n >= 4 else None
                decided.append(size_of(names, e, after, prior))
                await publish_event(queue, e, after=after, previous=prior)
                stored.append((await queued_in(queue, "busy")).bytes - before.bytes)
                previous = e
            return decided, stored
        finally:
            await queue.close()

    decided, stored = asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD))
    assert decided == stored
