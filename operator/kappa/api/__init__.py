"""The Kappa API (group ``kappa.dev``): names now, pydantic models of the CRDs later.

Pure: no I/O, no kopf, no kubernetes client, no clock. ``crds/`` is generated
from what lives here, so this package is the single source of the API's shape.
"""
