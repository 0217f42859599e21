"""Making JetStream streams and buckets alike in every package that keeps state there (shell).

The async queue (``kappa.asyncq``) and durable functions (``kappa.durable``) both make
their streams and key-value buckets at start and again after every reconnect, from any
gateway replica, each replica applying the same configuration. What they share:

- ``ensure_stream``: create the stream, or bring an existing one up to date;
- ``ensure_bucket``: the same for a key-value bucket;
- ``shared_consumer``: the durable pull consumer every replica's workers share;
- ``kept_replicas``: neither ever lowers the copies a stream keeps. While a rollout
  raises ``nats.streamReplicas``, a gateway of the old setting that reconnects after the
  new ones would otherwise take the streams back down; lowering them is an operator's
  decision (``nats stream edit --replicas``).
"""

import dataclasses
from typing import Any, Final

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue


def kept_replicas(current: int | None, wanted: int | None) -> int:
    """The copies a stream keeps when a gateway asks for ``wanted``: never fewer than now."""
    return max(current or 1, wanted or 1)


async def ensure_stream(js: JetStreamContext, config: api.StreamConfig) -> None:
    """Create the stream of ``config``, or bring the one there up to date (copies kept)."""
    try:
        await js.add_stream(config)
    except BadRequestError:
        # Already there with another configuration (an older Kappa, other settings).
        current = (await js.stream_info(config.name or "")).config.num_replicas
        await js.update_stream(
            dataclasses.replace(config, num_replicas=kept_replicas(current, config.num_replicas))
        )


# A consumer unused this long is deleted by NATS; its messages stay in the stream.
CONSUMER_IDLE_SECONDS: Final = 3600.0


def shared_consumer(
    name: str, filter_subject: str, ack_wait_seconds: float, max_ack_pending: int
) -> api.ConsumerConfig:
    """A durable pull consumer shared by every worker of every replica.

    Explicit acks, unlimited deliveries (the caller bounds a message's life), every
    message of ``filter_subject`` from the first; deleted by NATS after an hour unused,
    made again by the workers on their next sight of it.
    """
    return api.ConsumerConfig(
        durable_name=name,
        name=name,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ack_wait_seconds,
        max_deliver=-1,
        max_ack_pending=max_ack_pending,
        filter_subject=filter_subject,
        deliver_policy=api.DeliverPolicy.ALL,
        inactive_threshold=CONSUMER_IDLE_SECONDS,
    )


async def ensure_bucket(
    js: JetStreamContext, bucket: str, replicas: int, **options: Any
) -> KeyValue:
    """Create the key-value ``bucket`` (``options``: ``create_key_value``'s), or open it.

    There already, perhaps made by a gateway of fewer replicas: its copies are raised,
    never lowered.
    """
    try:
        return await js.create_key_value(bucket=bucket, replicas=replicas, **options)
    except BadRequestError:
        info = await js.stream_info(f"KV_{bucket}")
        if info.config.num_replicas is not None and info.config.num_replicas < replicas:
            await js.update_stream(dataclasses.replace(info.config, num_replicas=replicas))
        return await js.key_value(bucket)
