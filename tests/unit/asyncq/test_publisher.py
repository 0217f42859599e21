"""The publisher's patience with a busy JetStream: the wait for a new replicated stream's
leader, one making of a new namespace's stream for all its first events, and a create or
publish sent again when not answered in time (shell logic, with stand-in JetStreams: on
loopback servers the election window is too short and a late answer too rare to hit on
purpose, while on the e2e test's three-node cluster on two busy cores both were hit)."""

import asyncio
from typing import Any, cast

import nats.errors
from nats.js.api import ClusterInfo, PubAck, StreamInfo

from kappa.asyncq import publisher
from kappa.asyncq.envelope import Event, Names
from kappa.asyncq.jetstream import Queue
from kappa.asyncq.settings import AsyncSettings


class Elects:
    """stream_info: no responders twice, then no leader twice, then a leader."""

    def __init__(self) -> None:
        self.asked = 0

    async def stream_info(self, _name: str) -> StreamInfo:
        self.asked += 1
        if self.asked <= 2:
            raise nats.errors.NoRespondersError
        leader = "nats-1" if self.asked > 4 else None
        return cast("StreamInfo", type("Info", (), {"cluster": ClusterInfo(leader=leader)})())


class Connection:
    def __init__(self, connected: bool) -> None:  # noqa: FBT001
        self.is_connected = connected


def queue(js: Any, replicas: int, *, connected: bool = True) -> Queue:
    settings = AsyncSettings(nats_url="nats://unused:4222", replicas=replicas)
    return Queue(nc=cast("Any", Connection(connected)), js=js, progress=cast("Any", None),
                 names=Names(), settings=settings)  # fmt: skip


def test_a_new_replicated_stream_is_waited_for_until_it_has_a_leader() -> None:
    js = Elects()
    asyncio.run(publisher.await_leader(queue(js, replicas=3), "team"))
    assert js.asked == 5


def test_the_wait_is_bounded(monkeypatch: Any) -> None:
    class NeverLeads:
        asked = 0

        async def stream_info(self, _name: str) -> StreamInfo:
            self.asked += 1
            return cast("StreamInfo", type("Info", (), {"cluster": ClusterInfo(leader=None)})())

    monkeypatch.setattr(publisher, "_LEADER_WAIT_SECONDS", 0.2)
    js = NeverLeads()
    asyncio.run(
        publisher.await_leader(queue(js, replicas=3), "team")
    )  # returns: the publish decides
    assert js.asked >= 2


class Busy:
    """A JetStream that leaves the first ``late_creates`` creates and ``late_publishes``
    publishes unanswered (nats-py raises its TimeoutError), stores by message id."""

    def __init__(self, late_creates: int = 0, late_publishes: int = 0) -> None:
        self.late_creates = late_creates
        self.late_publishes = late_publishes
        self.creates = 0
        self.publishes = 0
        self.stored: dict[str, bytes] = {}

    async def add_stream(self, _config: Any) -> None:
        self.creates += 1
        await asyncio.sleep(0.01)  # the others come meanwhile
        if self.creates <= self.late_creates:
            raise nats.errors.TimeoutError

    async def publish(self, _subject: str, payload: bytes, **kwargs: Any) -> PubAck:
        self.publishes += 1
        msg_id = kwargs["headers"]["Nats-Msg-Id"]
        duplicate = msg_id in self.stored
        self.stored[msg_id] = payload  # stored, even when the answer is late
        if self.publishes <= self.late_publishes:
            raise nats.errors.TimeoutError
        stream = kwargs["headers"]["Nats-Expected-Stream"]
        return PubAck(stream=stream, seq=len(self.stored), duplicate=duplicate)


def event(n: int) -> Event:
    return Event(namespace="team", name="fn", request_id=f"req-{n}", payload=b"{}",
                 enqueued_ms=0, max_event_age_seconds=60, trace_id=None)  # fmt: skip


def publish_all(
    js: Busy, events: list[Event], *, connected: bool = True
) -> list[PubAck | BaseException]:
    async def main() -> list[PubAck | BaseException]:
        q = queue(js, replicas=1, connected=connected)
        return await asyncio.gather(
            *(publisher.publish_event(q, e) for e in events), return_exceptions=True
        )

    return asyncio.run(main())


def test_the_first_events_of_a_namespace_wait_for_one_making_of_its_stream() -> None:
    js = Busy()
    acks = publish_all(js, [event(n) for n in range(16)])
    assert all(isinstance(ack, PubAck) for ack in acks), acks
    assert js.creates == 1
    assert len(js.stored) == 16


def test_a_create_not_answered_in_time_is_sent_again() -> None:
    js = Busy(late_creates=publisher.ATTEMPTS - 1)
    acks = publish_all(js, [event(n) for n in range(4)])
    assert all(isinstance(ack, PubAck) for ack in acks), acks
    assert js.creates == publisher.ATTEMPTS


def test_a_publish_not_answered_in_time_is_sent_again_and_stored_once() -> None:
    js = Busy(late_publishes=publisher.ATTEMPTS - 1)
    [ack] = publish_all(js, [event(0)])
    assert isinstance(ack, PubAck)
    assert ack.duplicate  # the late first publish had stored it
    assert js.publishes == publisher.ATTEMPTS
    assert list(js.stored) == ["team.fn.req-0"]


def test_past_the_attempts_the_error_says_what_timed_out() -> None:
    js = Busy(late_creates=publisher.ATTEMPTS)
    errors = publish_all(js, [event(n) for n in range(3)])
    assert all(isinstance(e, publisher.EnqueueError) for e in errors), errors
    assert "making the stream of namespace team" in str(errors[0])
    assert js.publishes == 0
    # The next event tries again from the start.
    assert isinstance(publish_all(js, [event(9)])[0], PubAck)


def test_without_a_connection_a_late_answer_is_not_waited_for_again() -> None:
    # NATS down: the client times out each request; the caller gets its 500 after one.
    js = Busy(late_creates=1)
    [error] = publish_all(js, [event(0)], connected=False)
    assert isinstance(error, publisher.EnqueueError)
    assert js.creates == 1
