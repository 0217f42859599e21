"""The operator: kopf handlers (thin) and the pure planners they call.

Layer: the processes' logic, under ``kappa.cli`` alone (import-linter's layers
contract, docs/architecture.md "Layers"). It builds on the lower layers (``kappa.api``
for the models and conditions, ``kappa.resources``, ``kappa.k8s``, ``kappa.quota``,
``kappa.autoscaler``, ``kappa.invocation``, ``kappa.settings``, ``kappa.base``) and
imports none of its siblings: the gateway, asyncq, eventsources and the agent.
"""
