"""Asynchronous invocation (``InvocationType=Event``) on NATS JetStream.

Layer 2 (see ``[tool.importlinter]`` in pyproject.toml and docs/architecture.md):
beside ``kappa.gateway``, ``kappa.controller``, ``kappa.eventsources`` and
``kappa.agent``, and importing none of them; it builds on ``kappa.invocation``
(the registry, the call to an agent, invocation errors), ``kappa.api`` and
``kappa.base``. The gateway runs it: ``kappa.gateway.main`` alone imports it,
to wire ``service`` in, and hands it the dispatcher to invoke through.

Pure core: ``schedule`` (retry and requeue delays), ``decider`` (what to do
with an event, given its progress and ``now``), ``record`` (Lambda's
invocation record), ``envelope`` (subjects and headers of queued events) and
``progress`` (what is kept per request id so that a redelivery does not run a
handler twice). Shell: ``jetstream`` (connection, streams), ``publisher``,
``worker``, ``destinations``, ``dlq`` (dead-letter queue list/redrive),
``http_api`` and ``dlq_client`` (the HTTP endpoint and the CLI over it),
``service`` (the bundle the gateway wires in). See docs/internals/async.md.
"""
