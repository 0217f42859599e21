"""Putting events on the queue: 202 only once JetStream has stored them (shell).

Each namespace's events go to its own stream (``jetstream.ensure_stream``), made
the first time this process publishes for the namespace, and made again on the
publish after one that found no stream (a nats-server back on an empty store, its
caller told ``upkeep`` meanwhile), and by ``upkeep`` after a repair. The first events
of a new namespace wait for one making of its stream, not one each.

A create or publish JetStream does not answer in time while the connection is up (a busy
cluster) is sent again, ``ATTEMPTS`` in all: both are idempotent (the same configuration;
the same message id), so an event whose first publish was stored after all is not stored
twice.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import nats
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from kappa.asyncq.bound import Queued, stored_size
from kappa.asyncq.envelope import Event, Names
from kappa.asyncq.jetstream import Queue, ensure_stream

log = logging.getLogger("kappa.gateway.asyncq")
_T = TypeVar("_T")

EXPECTED_STREAM: Final = "Nats-Expected-Stream"
EXPECTED_LAST_SEQUENCE: Final = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_MSG_ID: Final = "Nats-Expected-Last-Msg-Id"
# JetStream: something else was stored since the read (the last sequence, or the last
# message id, is not the one expected).
_MOVED: Final = frozenset({10071, 10070})
# A stream of several copies takes publishes once they have elected a leader: how long a
# new one is waited for (then the publish goes ahead and its error says what is wrong).
_LEADER_WAIT_SECONDS: Final = 10.0
_LEADER_POLL_SECONDS: Final = 0.05
# How many times a stream's create or an event's publish is sent when JetStream did not
# answer in time (a busy cluster; the create may well have been made, the event stored:
# a create of the same configuration is answered as made, and a publish again under the
# same message id is acknowledged as a duplicate, not stored twice).
ATTEMPTS: Final = 3


class EnqueueError(Exception):
    """JetStream did not confirm the event (unreachable, full, timed out, stream gone)."""

    def __init__(self, message: str, error: BaseException | None = None) -> None:
        super().__init__(message)
        self.error = error  # what the NATS client raised


class SequenceMovedError(EnqueueError):
    """A conditional publish refused: another event was stored since the stream was read."""


def _failed(exc: BaseException, doing: str) -> EnqueueError:
    if isinstance(exc, APIError) and exc.err_code in _MOVED:
        return SequenceMovedError(f"{doing}: {exc.__class__.__name__}: {exc}", exc)
    return EnqueueError(f"{doing}: {exc.__class__.__name__}: {exc}", exc)


def headers_of(
    names: Names, event: Event, after: int | None, previous: Event | None = None
) -> dict[str, str]:
    """The headers ``event`` is published with, every one of them (JetStream stores them).

    The stream expected (the namespace's: a publish no other stream takes); ``after``:
    the stream's expected last sequence; ``previous``: the event expected to be the last
    stored (its message id), so that a chain of publishes stops at its first refusal even
    if another replica's event took that one's place.
    """
    headers = event.headers()
    headers[EXPECTED_STREAM] = names.event_stream(event.namespace)
    if after is not None:
        headers[EXPECTED_LAST_SEQUENCE] = str(after)
    if previous is not None:
        headers[EXPECTED_LAST_MSG_ID] = previous.dedupe_key
    return headers


def size_of(names: Names, event: Event, after: int | None, previous: Event | None = None) -> int:
    """The bytes ``event`` adds to its namespace's stream, published as ``headers_of`` says."""
    subject = names.event_subject(event.namespace, event.name)
    return stored_size(subject, headers_of(names, event, after, previous), event.payload)


async def _patiently(queue: Queue, send: Callable[[], Awaitable[_T]], doing: str) -> _T:
    """``send()``, sent again (ATTEMPTS in all) while JetStream does not answer in time.

    Only while connected: without a connection, once (the queue's health says why).
    """
    for attempt in range(1, ATTEMPTS):
        try:
            return await send()
        except TimeoutError as exc:  # nats.errors.TimeoutError too
            if not queue.nc.is_connected:
                raise _failed(exc, doing) from None
            log.warning("%s: no answer in time (attempt %d of %d)", doing, attempt, ATTEMPTS)
        except nats.errors.Error as exc:
            raise _failed(exc, doing) from None
    try:
        return await send()
    except (TimeoutError, nats.errors.Error) as exc:
        raise _failed(exc, doing) from None


async def _made(queue: Queue, namespace: str) -> None:
    """``namespace``'s stream made, once per process and setup.

    Callers that come while it is being made wait for that making and share its outcome
    (a caller that goes away does not stop it for the others).
    """
    if namespace in queue.streams:
        return
    making = queue.making.get(namespace)
    if making is None:
        making = asyncio.ensure_future(_make(queue, namespace))
        queue.making[namespace] = making

        def done(task: asyncio.Future[None]) -> None:
            queue.making.pop(namespace, None)  # after a failure, the next event tries again
            if not task.cancelled():
                task.exception()  # retrieved: its callers may all have gone

        making.add_done_callback(done)
    await asyncio.shield(making)


async def _make(queue: Queue, namespace: str) -> None:
    await _patiently(
        queue,
        lambda: ensure_stream(queue.js, queue.settings, queue.names, namespace),
        f"making the stream of namespace {namespace}",
    )
    if queue.settings.replicas > 1:
        await await_leader(queue, namespace)
    queue.streams.add(namespace)


async def await_leader(queue: Queue, namespace: str) -> None:
    """Wait (bounded) until ``namespace``'s new replicated stream has a leader.

    On a JetStream cluster the create is answered before the stream's copies have elected
    one; a publish in between finds no stream to answer it (NoStreamResponseError), and the
    first event of every new namespace would get a 500.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _LEADER_WAIT_SECONDS
    name = queue.names.event_stream(namespace)
    while loop.time() < deadline:
        try:
            info = await queue.js.stream_info(name)
        except (TimeoutError, nats.errors.Error):
            info = None
        if info is not None and info.cluster is not None and info.cluster.leader:
            return
        await asyncio.sleep(_LEADER_POLL_SECONDS)


async def publish_event(
    queue: Queue, event: Event, *, after: int | None = None, previous: Event | None = None
) -> PubAck:
    """Store ``event`` in its namespace's stream; JetStream's ack (``duplicate``: a repeat).

    The request id is the message id: a second publish of it within the stream's
    duplicate window is acknowledged but not stored again (JetStream checks this
    before ``after``). With ``after``, the publish is stored only if the stream's last
    sequence is still ``after`` (and, with ``previous``, its last message that event);
    else SequenceMovedError. No stream for the subject (the
    server lost it, an empty store): EnqueueError, and the next publish makes it again.
    """
    await _made(queue, event.namespace)
    try:
        return await _publish(queue, event, after, previous)
    except EnqueueError as exc:
        if isinstance(exc.error, NoStreamResponseError):
            queue.streams.discard(event.namespace)
        raise


async def _publish(queue: Queue, event: Event, after: int | None, previous: Event | None) -> PubAck:
    names = queue.names
    return await _patiently(
        queue,
        lambda: queue.js.publish(
            names.event_subject(event.namespace, event.name),
            event.payload,
            headers=headers_of(names, event, after, previous),  # the stream expected too
        ),
        f"storing event {event.request_id}",
    )


async def queued_in(queue: Queue, namespace: str) -> Queued:
    """What ``namespace``'s stream holds now (waiting, retrying or running), and its last sequence.

    Events still in the shared stream of earlier versions are not counted: they only drain.
    """
    await _made(queue, namespace)
    try:
        info = await queue.js.stream_info(queue.names.event_stream(namespace))
    except NotFoundError as exc:  # the server lost it (an empty store): made again next time
        queue.streams.discard(namespace)
        raise _failed(exc, "reading the namespace's stream") from None
    except (TimeoutError, nats.errors.Error) as exc:
        raise _failed(exc, "reading the namespace's stream") from None
    state = info.state
    return Queued(events=state.messages, bytes=state.bytes, last_sequence=state.last_seq)
