"""Durable functions: executions that checkpoint, wait and replay (docs/internals/durable.md).

Layer 2 (see ``[tool.importlinter]`` in pyproject.toml and docs/architecture.md):
beside ``kappa.gateway`` and ``kappa.asyncq``, importing neither; it builds on
``kappa.api``, ``kappa.base`` and ``kappa.invocation`` (the JetStream stream and
bucket making it shares with the event queue). The gateway's routes will call it through a
``Protocol`` of their own, and ``kappa.gateway.main`` wire it in, as for the event queue.

Built so far, the pure core: ``fields`` (reading wire JSON strictly, field by field),
``model`` (the API's shapes: operations, updates, errors, their enums), ``arns``
(execution ARNs), ``tokens`` (checkpoint tokens and callback ids, by their mac), the
decider, the state's fold, pages and ``summary`` (the executions bucket's record); and
the shells ``store`` (the log, the buckets and the folded-state cache in JetStream,
with ``settings``) and ``timers``. History, the runner and the service are the design's
later steps.
"""
