"""The ``WarmPool`` resource (``kappa.dev/v1alpha1``): generic pods kept ready for cold calls.

A pool lives in the namespace of the Functions it serves (a pod cannot change namespace;
ServiceAccounts, Secrets and quotas are per namespace). Its pods run the agent and a
runtime image with no Function; a call that finds a Function of the same runtime and
size class at zero pods takes one (the operator specialises it with the Function's code
and settings) instead of waiting for a new pod to start. The pool keeps ``size.min``
pods, more while claims come fast (the claims expected while a new pod starts), never
more than ``size.max`` nor than the namespace's ConcurrencyQuota leaves free
(docs/warm-pools.md).

Pure: no I/O, no kopf, no kubernetes client, no clock.
"""

from typing import ClassVar, Final, Literal

from pydantic import Field

from kappa.api.function import (
    EPHEMERAL_STORAGE_MB_DEFAULT,
    EPHEMERAL_STORAGE_MB_MAX,
    EPHEMERAL_STORAGE_MB_MIN,
    MEMORY_MB_DEFAULT,
    MEMORY_MB_MAX,
    MEMORY_MB_MIN,
    Runtime,
)
from kappa.api.meta import (
    ApiVersion,
    KappaModel,
    ObjectMeta,
    ObservedGeneration,
    StatusConditions,
)
from kappa.api.rules import Rule

KIND: Final = "WarmPool"
PLURAL: Final = "warmpools"
SINGULAR: Final = "warmpool"
SHORT_NAMES: Final = ("wp",)
CATEGORIES: Final = ("kappa",)
POOL_SIZE_MAX: Final = 100
REFILL_SECONDS_MAX: Final = 60
_RUNTIME_MESSAGE: Final = (
    "spec.runtime must be a managed runtime (python3.11, nodejs22, provided...): a "
    "runtime image is its Function's own pod and cannot wait in a pool"
)
_SIZE_MESSAGE: Final = "spec.size.min must be at most spec.size.max"


class PoolSizeSpec(KappaModel):
    """How many pods the pool keeps."""

    rules: ClassVar = (
        Rule(
            cel="self.min <= self.max",
            message=_SIZE_MESSAGE,
            problem=lambda s: _SIZE_MESSAGE if s.min > s.max else None,
        ),
    )

    min: int = Field(default=1, ge=0, le=POOL_SIZE_MAX, description="Pods always kept ready.")
    max: int = Field(
        default=10,
        ge=0,
        le=POOL_SIZE_MAX,
        description="The most pods kept, the floor and the part that follows claims together.",
    )


class WarmPoolSpec(KappaModel):
    """The pods' runtime and size class, and how many to keep."""

    rules: ClassVar = (
        Rule(
            cel="self.runtime != 'image'",
            message=_RUNTIME_MESSAGE,
            field_path=".runtime",
            problem=lambda s: _RUNTIME_MESSAGE if s.runtime is Runtime.IMAGE else None,
        ),
    )

    runtime: Runtime = Field(strict=False, description="The runtime of the Functions it serves.")
    memory_mb: int = Field(
        default=MEMORY_MB_DEFAULT,
        ge=MEMORY_MB_MIN,
        le=MEMORY_MB_MAX,
        alias="memoryMB",
        description="The memoryMB of the Functions it serves (a pod is not resized).",
    )
    ephemeral_storage_mb: int = Field(
        default=EPHEMERAL_STORAGE_MB_DEFAULT,
        ge=EPHEMERAL_STORAGE_MB_MIN,
        le=EPHEMERAL_STORAGE_MB_MAX,
        alias="ephemeralStorageMB",
        description="The ephemeralStorageMB of the Functions it serves.",
    )
    size: PoolSizeSpec = Field(
        default_factory=PoolSizeSpec, description="How many pods the pool keeps."
    )
    refill_seconds: int = Field(
        default=2,
        ge=1,
        le=REFILL_SECONDS_MAX,
        description=(
            "About how long a new pool pod takes to be ready: the pool keeps the claims "
            "expected in that time on top of size.min."
        ),
    )


class WarmPoolStatus(KappaModel):
    """What the operator keeps and why."""

    conditions: StatusConditions = Field(
        default=(), max_length=8, description="Ready: the pool holds its target."
    )
    observed_generation: ObservedGeneration = None
    ready: int | None = Field(default=None, ge=0, description="Pool pods ready to be claimed.")
    starting: int | None = Field(default=None, ge=0, description="Pool pods starting.")
    target: int | None = Field(default=None, ge=0, description="Pool pods the operator aims at.")
    claims: int | None = Field(
        default=None, ge=0, description="Pods claimed by Functions since the operator started."
    )


class WarmPool(KappaModel):
    """Generic pods of one runtime and size class, ready to become a Function's pod."""

    api_version: ApiVersion = "kappa.dev/v1alpha1"
    kind: Literal["WarmPool"] = Field(default=KIND, description="WarmPool.")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: WarmPoolSpec = Field(description="The pods' runtime, size class and count.")
    status: WarmPoolStatus | None = Field(
        default=None, description="Written by the operator; not part of the desired state."
    )
