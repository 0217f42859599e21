"""The Kappa API (group ``kappa.dev``): pydantic models of the CRDs and what they share.

``meta`` holds what every kind carries (the base model, names, object metadata,
conditions), ``rules`` the rule machinery that writes CEL and checks Python alike,
then one module per kind, the cron and filter grammars of mappings, and ``crd`` and
``reference``, which render the CRDs and their reference from the models.

Layer: just above ``kappa.base``, the second lowest (import-linter's layers contract,
docs/architecture.md "Layers"). Of Kappa it may import ``kappa.base`` and nothing
else; every package above builds on it. Pure: no I/O, no kopf, no kubernetes client,
no clock. ``crds/`` is generated from what lives here, so this package is the single
source of the API's shape.
"""
