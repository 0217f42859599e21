"""Durable functions: executions that checkpoint, wait and replay (docs/internals/durable.md).

Layer 2 (see ``[tool.importlinter]`` in pyproject.toml and docs/architecture.md):
beside ``kappa.gateway`` and ``kappa.asyncq``, importing neither; it builds on
``kappa.api`` and ``kappa.base``. The gateway's routes will call it through a
``Protocol`` of their own, and ``kappa.gateway.main`` wire it in, as for the event queue.

Built so far, the pure core: ``fields`` (reading wire JSON strictly, field by field),
``model`` (the API's shapes: operations, updates, errors, their enums), ``arns``
(execution ARNs) and ``tokens`` (checkpoint tokens and callback ids, by their mac). The
decider, the state's fold, pages, history, and the shells (store, timers, runner,
service) are the design's later steps.
"""
