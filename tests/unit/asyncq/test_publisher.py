"""The publisher's wait for a new replicated stream's leader (shell logic, with a stand-in
JetStream: on a real cluster the window between the create's answer and the election is
too short to hit on purpose, while on the cluster of the e2e test it was hit every run)."""

import asyncio
from typing import Any, cast

import nats.errors
from nats.js.api import ClusterInfo, StreamInfo

from kappa.asyncq import publisher
from kappa.asyncq.envelope import Names
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


def queue(js: Any, replicas: int) -> Queue:
    settings = AsyncSettings(nats_url="nats://unused:4222", replicas=replicas)
    return Queue(nc=cast("Any", None), js=js, progress=cast("Any", None),
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
