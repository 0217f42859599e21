"""Owner references that tie what Kappa makes to its Function.

The garbage collector deletes owned pods and ConfigMaps with the Function, so
deleting a Function needs no finalizer and leaves nothing behind even while
the operator is down.
"""

from typing import Any

from kappa.api.names import API_VERSION


def owner_reference(function: str, uid: str, kind: str = "Function") -> dict[str, Any]:
    """A controller reference to the Function (or FunctionVersion) ``function`` with ``uid``."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": function,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
