"""Whether a Function may start from a warm pool pod, and which pool: pure (docs/warm-pools.md).

A pool pod was made without the Function, so a Function that needs what only pod
creation gives cannot use one; the first rule that holds is the reason (the
``PoolEligible`` condition's), and the Function cold starts as today:

=====================  ==============================================================
reason                 when
=====================  ==============================================================
``RuntimeImage``       ``runtime: image``: the user's image is the pod
``CodeImage``          ``code.image`` on a managed runtime: init containers copy it in at
                       pod creation
``ServiceAccount``     ``serviceAccountName``: its token is mounted at pod creation
``EnvFromReferences``  an ``env`` entry with ``valueFrom`` (Secrets, ConfigMaps, fields)
``Layers``             ``layers``: mounted as ConfigMap volumes at pod creation
``PerRuntime``         ``concurrency.perRuntime`` over 1: a python pool pod's zygote holds
                       awslambdaric, not the concurrent runtime that takes several calls
``Durable``            ``durable``: the pod credential's projected token is mounted at pod
                       creation
``NoPool``             no pool of the namespace has its runtime and size class
``Eligible``           the first such pool, by name
=====================  ==============================================================

Size class: the pool's ``memoryMB`` and ``ephemeralStorageMB`` equal the Function's
(CPU follows memory; a pod is not resized here).
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from kappa.api.function import FunctionSpec, Runtime
from kappa.api.meta import ConditionState, ConditionStatus, ConditionType


class Reason(enum.StrEnum):
    """Why a Function may or may not use a pool."""

    ELIGIBLE = "Eligible"
    RUNTIME_IMAGE = "RuntimeImage"
    CODE_IMAGE = "CodeImage"
    SERVICE_ACCOUNT = "ServiceAccount"
    ENV_FROM_REFERENCES = "EnvFromReferences"
    LAYERS = "Layers"
    PER_RUNTIME = "PerRuntime"
    DURABLE = "Durable"
    NO_POOL = "NoPool"


@dataclass(frozen=True, slots=True)
class PoolClass:
    """What a WarmPool's pods are: its name, runtime and size class."""

    name: str
    runtime: str
    memory_mb: int
    ephemeral_storage_mb: int


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The pool a Function would use (None: it cold starts as today), and why."""

    pool: str | None
    reason: Reason
    message: str


def eligibility(spec: FunctionSpec, pools: Sequence[PoolClass]) -> Eligibility:  # noqa: PLR0911 - one return per row of the table
    """Decide per the module docstring's table."""
    if spec.runtime is Runtime.IMAGE:
        return _no(Reason.RUNTIME_IMAGE, "runtime image: the Function's own image is its pod")
    if spec.code.image is not None:
        return _no(
            Reason.CODE_IMAGE,
            f"code.image {spec.code.image}: its code is copied in when a pod is created",
        )
    if spec.service_account_name:
        return _no(
            Reason.SERVICE_ACCOUNT,
            f"serviceAccountName {spec.service_account_name}: its token is mounted when a pod "
            "is created",
        )
    referenced = [variable.name for variable in spec.env if variable.value_from is not None]
    if referenced:
        return _no(
            Reason.ENV_FROM_REFERENCES,
            f"env {', '.join(referenced)} read from valueFrom: only literal values reach a "
            "pool pod",
        )
    if spec.layers:
        return _no(Reason.LAYERS, "layers are mounted when a pod is created")
    if spec.concurrency.per_runtime > 1:
        return _no(
            Reason.PER_RUNTIME,
            f"concurrency.perRuntime {spec.concurrency.per_runtime}: a pool pod's runtime is "
            "made ready for one call at a time",
        )
    if spec.durable is not None:
        return _no(
            Reason.DURABLE,
            "durable: the token its pod credential is made of is mounted when a pod is created",
        )
    matching = sorted(
        pool.name
        for pool in pools
        if pool.runtime == spec.runtime.value
        and pool.memory_mb == spec.memory_mb
        and pool.ephemeral_storage_mb == spec.ephemeral_storage_mb
    )
    if not matching:
        return _no(
            Reason.NO_POOL,
            f"no warm pool of the namespace has runtime {spec.runtime.value}, "
            f"{spec.memory_mb} MB and {spec.ephemeral_storage_mb} MB of ephemeral storage",
        )
    return Eligibility(matching[0], Reason.ELIGIBLE, f"starts from warm pool {matching[0]}")


def _no(reason: Reason, message: str) -> Eligibility:
    return Eligibility(None, reason, f"not from a warm pool: {message}")


def eligibility_condition(verdict: Eligibility) -> ConditionState:
    """The Function's ``PoolEligible`` condition (written where its namespace has pools)."""
    status = ConditionStatus.TRUE if verdict.pool is not None else ConditionStatus.FALSE
    return ConditionState(
        ConditionType.POOL_ELIGIBLE, status, verdict.reason.value, verdict.message
    )
