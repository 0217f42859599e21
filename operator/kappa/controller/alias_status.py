"""Status of a FunctionAlias: whether what it names exists. Pure: observations in.

``Ready`` (the first row that holds wins):

=============================  ======  ===================  ==============================
observed                       Ready   reason               message says
=============================  ======  ===================  ==============================
the Function is missing        False   FunctionNotFound     create it or fix spec.function
a version it names is missing  False   VersionNotFound      which, and how to publish one
otherwise                      True    Routing              the versions and their shares
=============================  ======  ===================  ==============================

A call the alias sends to a version that does not exist is answered 404 by the gateway;
the condition says so before the first such call, in ``kubectl get fna`` and ``kubectl
describe``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.meta import ConditionState, ConditionStatus, ConditionType

LATEST: Final = "$LATEST"


@dataclass(frozen=True)
class AliasObserved:
    """What the operator saw for one alias."""

    function: str
    function_exists: bool
    versions: frozenset[str]
    """The numbers of the Function's published versions that exist."""


def shares(spec: Mapping[str, Any]) -> dict[str, float]:
    """Each version the alias names and the share of calls it gets (they sum to 1)."""
    weights = (spec.get("routingConfig") or {}).get("additionalVersionWeights") or {}
    extra = {str(version): float(weight) for version, weight in weights.items()}
    primary = str(spec.get("functionVersion") or LATEST)
    return {primary: max(0.0, 1.0 - sum(extra.values())), **extra}


def alias_conditions(spec: Mapping[str, Any], observed: AliasObserved) -> list[ConditionState]:
    """``Ready`` (see the module's table)."""
    if not observed.function_exists:
        return [
            ConditionState(
                ConditionType.READY,
                ConditionStatus.FALSE,
                "FunctionNotFound",
                f"Function {observed.function} does not exist in this namespace: create it, "
                "or fix spec.function",
            )
        ]
    named = shares(spec)
    missing = sorted((v for v in named if v != LATEST and v not in observed.versions), key=int)
    if missing:
        which = ", ".join(missing)
        return [
            ConditionState(
                ConditionType.READY,
                ConditionStatus.FALSE,
                "VersionNotFound",
                f"version {which} of {observed.function} does not exist (calls sent there are "
                f"answered 404): publish one (kappa publish {observed.function}) or point the "
                "alias at a version that exists",
            )
        ]
    split = ", ".join(f"{version} {share:.0%}" for version, share in named.items())
    return [
        ConditionState(ConditionType.READY, ConditionStatus.TRUE, "Routing", f"calls go to {split}")
    ]
