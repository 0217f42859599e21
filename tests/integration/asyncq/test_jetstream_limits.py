"""What JetStream itself does at a stream's limits, on the nats-server Kappa runs (Debian's
2.9): why the namespaces' queued-bytes and queued-events bounds are the gateway's check
with ``Nats-Expected-Last-Sequence`` and never a stream's ``max_bytes``/``max_msgs``
(docs/internals/async.md, "Bounds on what a namespace queues").

- ``max_bytes`` with ``discard: new`` refuses a publish by the payload and headers alone,
  then keeps the stored size (subject and record overhead too) under ``max_bytes`` by
  removing the OLDEST messages: near the bound, an event JetStream acknowledged is gone
  without anyone consuming it;
- lowering a stream's ``max_bytes`` or ``max_msgs`` below what it holds removes stored
  messages at once (a quota lowered while a namespace has a backlog would drop accepted
  events);
- ``Nats-Expected-Last-Sequence`` refuses a publish when anything was stored since the
  sequence the publisher read (0 included: a stream that was empty), and a repeated
  message id is still acknowledged as a duplicate: the check-then-publish of the bound
  is atomic across gateway replicas.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from nats.js import api
from nats.js.errors import BadRequestError

from tests.integration.brokers import NatsServer
from tests.integration.nats_harness import with_connection

WRONG_LAST_SEQUENCE = 10071


def work_queue(name: str, **limits: Any) -> api.StreamConfig:
    return api.StreamConfig(
        name=name, subjects=[f"{name}.*"], retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE, **limits,
    )  # fmt: skip


def test_max_bytes_with_discard_new_drops_an_acknowledged_message(nats_server: NatsServer) -> None:
    async def fill(nc: Any) -> tuple[list[int], int, int]:
        js = nc.jetstream()
        await js.add_stream(work_queue("full", max_bytes=1000, discard=api.DiscardPolicy.NEW))
        acked = []
        for n in range(8):
            # 100 bytes of payload, stored as 167: five fit, the sixth passes the check.
            ack = await js.publish("full.f", b"x" * 100, headers={"Nats-Msg-Id": str(n)})
            acked.append(ack.seq)
        state = (await js.stream_info("full")).state
        return acked, state.messages, state.first_seq

    acked, kept, first = with_connection(nats_server, fill)
    assert acked == [1, 2, 3, 4, 5, 6, 7, 8]  # every publish acknowledged…
    assert (kept, first) == (5, 4)  # …and the first three are gone, never delivered


@pytest.mark.parametrize(
    ("limit", "room", "lowered"), [("max_bytes", 10_000, 300), ("max_msgs", 10, 1)]
)
def test_lowering_a_limit_removes_stored_messages(
    nats_server: NatsServer, limit: str, room: int, lowered: int
) -> None:
    async def lower(nc: Any) -> int:
        js = nc.jetstream()
        await js.add_stream(work_queue("kept", discard=api.DiscardPolicy.NEW, **{limit: room}))
        for n in range(5):
            await js.publish("kept.f", b"x" * 100, headers={"Nats-Msg-Id": str(n)})
        config = (await js.stream_info("kept")).config
        await js.update_stream(dataclasses.replace(config, **{limit: lowered}))
        return (await js.stream_info("kept")).state.messages

    assert with_connection(nats_server, lower) == 1


def test_expected_last_sequence_refuses_a_publish_after_another(nats_server: NatsServer) -> None:
    async def race(nc: Any) -> list[str]:
        js = nc.jetstream()
        await js.add_stream(work_queue("bound"))
        seen = []
        for msg_id, expected in (("a", 0), ("b", 0), ("c", 1), ("a", 0)):
            headers = {"Nats-Msg-Id": msg_id, "Nats-Expected-Last-Sequence": str(expected)}
            try:
                ack = await js.publish("bound.f", b"{}", headers=headers)
            except BadRequestError as exc:
                seen.append(f"{msg_id}: refused {exc.err_code}")
            else:
                seen.append(f"{msg_id}: {ack.seq}{' duplicate' if ack.duplicate else ''}")
        return seen

    assert with_connection(nats_server, race) == [
        "a: 1",
        f"b: refused {WRONG_LAST_SEQUENCE}",
        "c: 2",
        "a: 1 duplicate",
    ]


pytestmark = pytest.mark.timeout(60)
