"""Delivering invocation records to onSuccess/onFailure destinations (shell).

- a Function (same namespace): the record becomes an event of that Function,
  queued like any other, with a request id derived from the original event's
  and its condition, so a repeated delivery is a duplicate JetStream drops;
- a NATS subject: published with JetStream's ack when a stream captures the
  subject (message id likewise stable), else as a plain NATS message; only a
  subject of the Function's namespace (``Names.destination_allowed``), else
  ``REFUSED`` and nothing is sent.

A destination Function that does not exist is ``MISSING``: the worker keeps
the event and tries again later (see ``decider.destination_missing``).
"""

import json
from enum import StrEnum

import nats
from nats.js.errors import NotFoundError

from kappa.asyncq.envelope import MSG_ID, REQUEST_ID, Event, destination_request_id
from kappa.asyncq.jetstream import Queue
from kappa.asyncq.progress import Final
from kappa.asyncq.publisher import EnqueueError, publish_event
from kappa.invocation.registry import Destination, Registry


class Delivery(StrEnum):
    """What became of a record."""

    NONE = "none"  # no destination configured
    DELIVERED = "delivered"
    MISSING = "missing"
    REFUSED = "refused"  # a subject outside the Function's namespace


def kind(destination: Destination) -> str:
    """``function`` or ``nats`` (a metric label)."""
    return "function" if destination.function else "nats"


async def deliver(  # noqa: PLR0913 - the parts of a delivery
    queue: Queue,
    registry: Registry,
    *,
    destination: Destination | None,
    final: Final,
    event: Event,
    now_ms: int,
) -> Delivery:
    """Send ``final``'s record to ``destination``; EnqueueError when NATS did not take it."""
    if destination is None:
        return Delivery.NONE
    data = json.dumps(final.record, separators=(",", ":")).encode()
    request_id = destination_request_id(event.request_id, final.condition.value)
    if destination.function:
        target = registry.function((event.namespace, destination.function))
        if target is None:
            return Delivery.MISSING
        await publish_event(
            queue,
            Event(
                namespace=event.namespace,
                name=destination.function,
                request_id=request_id,
                payload=data,
                enqueued_ms=now_ms,
                max_event_age_seconds=target.async_config.maximum_event_age_seconds,
            ),
        )
        return Delivery.DELIVERED
    subject = destination.nats_subject or ""
    if not queue.names.destination_allowed(event.namespace, subject):
        return Delivery.REFUSED
    headers = {MSG_ID: f"{event.namespace}.{event.name}.{request_id}", REQUEST_ID: event.request_id}
    try:
        try:
            await queue.js.find_stream_name_by_subject(subject)
        except NotFoundError:
            # No stream captures the subject: a plain message, as SNS would fan it out.
            await queue.nc.publish(subject, data, headers=headers)
            await queue.nc.flush()
        else:
            await queue.js.publish(subject, data, headers=headers)
    except (TimeoutError, nats.errors.Error) as exc:
        raise EnqueueError(str(exc), exc) from None
    return Delivery.DELIVERED
