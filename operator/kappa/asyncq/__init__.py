"""Asynchronous invocation (``InvocationType=Event``) on NATS JetStream.

Pure core: ``schedule`` (retry and requeue delays), ``decider`` (what to do
with an event, given its progress and ``now``), ``record`` (Lambda's
invocation record), ``envelope`` (subjects and headers of queued events) and
``progress`` (what is kept per request id so that a redelivery does not run a
handler twice). Shell: ``jetstream`` (connection, streams), ``publisher``,
``worker``, ``destinations``, ``dlq`` (dead-letter queue list/redrive),
``http_api`` and ``dlq_client`` (the HTTP endpoint and the CLI over it),
``service`` (the bundle the gateway wires in). See docs/internals/async.md.
"""
