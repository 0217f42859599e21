"""Putting events on the queue: 202 only once JetStream has stored them (shell)."""

import nats
from nats.js.api import PubAck

from kappa.asyncq.envelope import Event
from kappa.asyncq.jetstream import Queue


class EnqueueError(Exception):
    """JetStream did not confirm the event (unreachable, full, timed out, stream gone)."""

    def __init__(self, message: str, error: BaseException | None = None) -> None:
        super().__init__(message)
        self.error = error  # what the NATS client raised


async def publish_event(queue: Queue, event: Event) -> PubAck:
    """Store ``event`` in the event stream; return JetStream's ack (``duplicate`` for a repeat).

    The request id is the message id: a second publish of it within the stream's
    duplicate window is acknowledged but not stored again.
    """
    try:
        return await queue.js.publish(
            queue.names.invoke_subject(event.namespace, event.name),
            event.payload,
            headers=event.headers(),
            stream=queue.names.invoke_stream,
        )
    except (TimeoutError, nats.errors.Error) as exc:
        raise EnqueueError(f"{exc.__class__.__name__}: {exc}", exc) from None


async def queued_events(queue: Queue, namespace: str) -> int:
    """Events of ``namespace`` in the event stream now (waiting, retrying or running)."""
    names = queue.names
    try:
        info = await queue.js.stream_info(
            names.invoke_stream, subjects_filter=names.invoke_subject(namespace, "*")
        )
    except (TimeoutError, nats.errors.Error) as exc:
        raise EnqueueError(f"{exc.__class__.__name__}: {exc}", exc) from None
    return sum((info.state.subjects or {}).values())
