"""What a per-namespace bound costs an enqueue, measured on JetStream alone (no gateway).

Real nats-server (Debian's) on 127.0.0.1, one work-queue stream on file storage, events
of Kappa's shape (a 10-byte payload and Kappa's headers). Each line publishes N events
and prints the publishes acknowledged per second:

- plain: today's enqueue of a namespace without a bound (one publish; 16 at once, as the
  gateway's 16 connections in bench/async_events.py);
- count: today's maxQueuedEvents check (stream info filtered to the namespace's subjects,
  then the publish; 16 at once);
- expected xP: the design of docs/internals/async.md ("Bounds on what a namespace queues"):
  stream info of the namespace's own stream (its messages and bytes), then a publish with
  ``Nats-Expected-Last-Sequence`` of what the info said; refused (another publish came
  first): read and try again. One at a time per replica (a lock per namespace), P replicas
  (connections) publishing to the same namespace at once; prints the tries per event;
- chained xP: the same check with up to 16 conditional publishes in flight per replica
  (expecting L, L+1, ...: JetStream stores one connection's publishes in order), one
  stream info per chain; a refusal ends the chain.

Prints figures; asserts nothing.

    .venv/bin/python bench/queue_bound_cost.py [-n 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import nats
from async_events import nats_servers
from gateway import stop_all
from nats.js import api
from nats.js.errors import BadRequestError

CONCURRENT = 16
WRONG_LAST_SEQUENCE = 10071
SUBJECT = "kappa.async.team.fn"


def headers() -> dict[str, str]:
    request_id = str(uuid.uuid4())
    return {"Nats-Msg-Id": f"team.fn.{request_id}", "Kappa-Request-Id": request_id,
            "Kappa-Enqueued-Ms": str(int(time.time() * 1000)), "Kappa-Max-Event-Age": "21600"}  # fmt: skip


async def stream(js: nats.js.JetStreamContext, name: str) -> None:
    await js.add_stream(api.StreamConfig(
        name=name, subjects=["kappa.async.>"], retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE, duplicate_window=120,
    ))  # fmt: skip


async def plain(url: str, count: int, *, counted: bool) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    name = f"s{uuid.uuid4().hex[:8]}"
    await stream(js, name)

    async def lane(index: int) -> None:
        for _ in range(index, count, CONCURRENT):
            if counted:
                await js.stream_info(name, subjects_filter="kappa.async.team.*")
            await js.publish(SUBJECT, b'{"k": "v"}', headers=headers(), stream=name)

    began = time.monotonic()
    await asyncio.gather(*(lane(i) for i in range(CONCURRENT)))
    elapsed = time.monotonic() - began
    await js.delete_stream(name)
    await nc.close()
    return count / elapsed


async def expected(url: str, count: int, replicas: int) -> tuple[float, float]:
    connections = [await nats.connect(url) for _ in range(replicas)]
    name = f"s{uuid.uuid4().hex[:8]}"
    await stream(connections[0].jetstream(), name)
    tries = 0

    async def replica(nc: nats.NATS, share: int) -> None:
        nonlocal tries
        js = nc.jetstream()
        for _ in range(share):
            while True:
                tries += 1
                state = (await js.stream_info(name)).state
                event = headers()
                event["Nats-Expected-Last-Sequence"] = str(state.last_seq)
                try:
                    await js.publish(SUBJECT, b'{"k": "v"}', headers=event, stream=name)
                except BadRequestError as exc:
                    if exc.err_code != WRONG_LAST_SEQUENCE:
                        raise
                    continue
                break

    began = time.monotonic()
    await asyncio.gather(*(replica(nc, count // replicas) for nc in connections))
    elapsed = time.monotonic() - began
    done = count // replicas * replicas
    await connections[0].jetstream().delete_stream(name)
    for nc in connections:
        await nc.close()
    return done / elapsed, tries / done


async def chained(url: str, count: int, replicas: int) -> tuple[float, float]:
    """As ``expected``, but each replica keeps up to 16 publishes in flight: one info, then
    publishes expecting L, L+1, ..., each admitted only once the one before it was
    (JetStream stores one connection's publishes in order); a refusal (another replica
    came first) ends the chain: read again and go on."""
    connections = [await nats.connect(url) for _ in range(replicas)]
    name = f"s{uuid.uuid4().hex[:8]}"
    await stream(connections[0].jetstream(), name)
    tries = 0

    async def replica(nc: nats.NATS, share: int) -> None:
        nonlocal tries
        js = nc.jetstream()
        left = share
        while left:
            last = (await js.stream_info(name)).state.last_seq
            batch = min(left, CONCURRENT)
            tries += batch
            sends = []
            for k in range(batch):
                event = headers()
                event["Nats-Expected-Last-Sequence"] = str(last + k)
                sends.append(js.publish(SUBJECT, b'{"k": "v"}', headers=event, stream=name))
            for result in await asyncio.gather(*sends, return_exceptions=True):
                if isinstance(result, BadRequestError) and result.err_code == WRONG_LAST_SEQUENCE:
                    continue
                if isinstance(result, BaseException):
                    raise result
                left -= 1

    began = time.monotonic()
    await asyncio.gather(*(replica(nc, count // replicas) for nc in connections))
    elapsed = time.monotonic() - began
    done = count // replicas * replicas
    await connections[0].jetstream().delete_stream(name)
    for nc in connections:
        await nc.close()
    return done / elapsed, tries / done


async def main(url: str, count: int) -> None:
    print(f"{count} events per line; publishes acknowledged per second")
    print(
        f"  plain (no bound, {CONCURRENT} at once)          {await plain(url, count, counted=False):8,.0f}/s"
    )
    print(
        f"  count (maxQueuedEvents today, {CONCURRENT} at once) {await plain(url, count, counted=True):8,.0f}/s"
    )
    for replicas in (1, 2, 4):
        rate, tries = await expected(url, count, replicas)
        print(
            f"  expected x{replicas} (info + conditional publish)   {rate:8,.0f}/s   {tries:.2f} tries per event"
        )
    for replicas in (1, 2, 4):
        rate, tries = await chained(url, count, replicas)
        print(
            f"  chained x{replicas} (16 conditional in flight)      {rate:8,.0f}/s   {tries:.2f} tries per event"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000, help="events per line")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        servers, url = nats_servers(Path(root))
        try:
            asyncio.run(main(url, options.n))
        finally:
            stop_all(servers)
