"""The ``ConcurrencyQuota`` resource (``kappa.dev/v1alpha1``): a namespace's concurrency limits.

A namespace is to Kappa what an account is to Lambda (the account field of a
Function's ARN is its namespace), so a ConcurrencyQuota is a namespace's
account limits:

- ``maxConcurrency``: invocations the namespace's Functions may run at once;
  the gateway throttles beyond it (429 ``ConcurrentInvocationLimitExceeded``);
- ``maxReserved``: the most the namespace's Functions may reserve in total
  (``spec.concurrency.reserved``); unset means up to ``maxConcurrency``;
- ``maxProvisioned``: the most provisioned concurrency in total
  (``spec.concurrency.provisioned``); unset means up to ``maxConcurrency``;
- ``maxQueuedEvents``: the most Event invocations of the namespace kept in the
  asynchronous queue at once; beyond it Event invocations get 429, so one namespace's
  backlog cannot fill the queue every namespace shares;
- ``maxQueuedBytes``: the most bytes of them (as JetStream counts its store: payload,
  headers, subject and a record's overhead); beyond it Event invocations get 429, and
  one larger than the bound by itself 413.

Several ConcurrencyQuotas in one namespace all apply, as ResourceQuotas do: the
tightest value of each field binds (so a platform team's quota cannot be
widened by a second one a tenant adds). A namespace without any has no quota;
the cluster's limits (operator settings) still hold.

Pure: no I/O, no kopf, no kubernetes client, no clock.
"""

from datetime import datetime
from typing import ClassVar, Final, Literal

from pydantic import Field

from kappa.api.meta import (
    CONCURRENCY_MAX,
    ApiVersion,
    KappaModel,
    ObjectMeta,
    ObservedGeneration,
    StatusConditions,
)
from kappa.api.rules import Rule

KIND: Final = "ConcurrencyQuota"
PLURAL: Final = "concurrencyquotas"
SINGULAR: Final = "concurrencyquota"
SHORT_NAMES: Final = ("cq",)
QUEUED_EVENTS_MAX: Final = 10_000_000
QUEUED_BYTES_MAX: Final = 1 << 40  # 1 TiB
CATEGORIES: Final = ("kappa",)

_RESERVED_MESSAGE: Final = (
    "spec.maxReserved is greater than spec.maxConcurrency: Functions cannot reserve more "
    "than the namespace may run; lower maxReserved or raise maxConcurrency"
)
_PROVISIONED_MESSAGE: Final = (
    "spec.maxProvisioned is greater than spec.maxConcurrency: provisioned environments "
    "count against the namespace's concurrency; lower maxProvisioned or raise maxConcurrency"
)


def _above(limit: int | None, concurrency: int, message: str) -> str | None:
    return message if limit is not None and limit > concurrency else None


class ConcurrencyQuotaSpec(KappaModel):
    """The namespace's limits; unset ones are bounded by ``maxConcurrency`` alone."""

    rules: ClassVar = (
        Rule(
            cel="!has(self.maxReserved) || self.maxReserved <= self.maxConcurrency",
            message=_RESERVED_MESSAGE,
            field_path=".maxReserved",
            problem=lambda q: _above(q.max_reserved, q.max_concurrency, _RESERVED_MESSAGE),
        ),
        Rule(
            cel="!has(self.maxProvisioned) || self.maxProvisioned <= self.maxConcurrency",
            message=_PROVISIONED_MESSAGE,
            field_path=".maxProvisioned",
            problem=lambda q: _above(q.max_provisioned, q.max_concurrency, _PROVISIONED_MESSAGE),
        ),
    )

    max_concurrency: int = Field(
        ge=0,
        le=CONCURRENCY_MAX,
        description=(
            "Invocations the namespace's Functions may run at once; beyond it the gateway "
            "answers 429 ConcurrentInvocationLimitExceeded. 0 throttles every invocation."
        ),
    )
    max_reserved: int | None = Field(
        default=None,
        ge=0,
        le=CONCURRENCY_MAX,
        description=(
            "The most reserved concurrency the namespace's Functions may hold in total; "
            "unset: up to maxConcurrency."
        ),
    )
    max_provisioned: int | None = Field(
        default=None,
        ge=0,
        le=CONCURRENCY_MAX,
        description=(
            "The most provisioned concurrency the namespace's Functions may hold in total; "
            "unset: up to maxConcurrency."
        ),
    )
    max_queued_events: int | None = Field(
        default=None,
        ge=0,
        le=QUEUED_EVENTS_MAX,
        description=(
            "The most asynchronous (Event) invocations of the namespace's Functions kept "
            "in the queue at once (waiting, retrying or running); beyond it an Event "
            "invocation answers 429 TooManyRequestsException. Unset: no bound but the "
            "queue's store."
        ),
    )
    max_queued_bytes: int | None = Field(
        default=None,
        ge=0,
        le=QUEUED_BYTES_MAX,
        description=(
            "The most bytes of asynchronous (Event) invocations of the namespace's "
            "Functions kept in the queue at once, as the queue's store counts them "
            "(payload, headers, subject and about 30 bytes of record each); an Event "
            "invocation that would pass it answers 429 TooManyRequestsException, one "
            "larger than the bound by itself 413 RequestTooLargeException. Unset: no "
            "bound but the queue's store."
        ),
    )

    @property
    def reserved_limit(self) -> int:
        """``maxReserved``, or ``maxConcurrency`` when unset."""
        return self.max_concurrency if self.max_reserved is None else self.max_reserved

    @property
    def provisioned_limit(self) -> int:
        """``maxProvisioned``, or ``maxConcurrency`` when unset."""
        return self.max_concurrency if self.max_provisioned is None else self.max_provisioned


USAGE_LISTED: Final = 20


class FunctionUsage(KappaModel):
    """One Function's usage since ``usage.since``, as Lambda bills it."""

    name: str = Field(max_length=253, description="The Function (or a published version's object).")
    requests: int = Field(ge=0, description="Invocations an agent ran.")
    billed_seconds: float = Field(
        ge=0, description="Their billed duration (whole milliseconds each, at least 1)."
    )
    gb_seconds: float = Field(
        ge=0, description="Billed duration times the Function's memory (1 GB = 1024 MB)."
    )


class QuotaUsage(KappaModel):
    """The namespace's usage for showback, as Lambda bills it, since the operator began to lead."""

    since: datetime = Field(
        strict=False,
        description=(
            "Counted from here: when the operator (its leading replica) began to lead; "
            "the figures live in its memory, so a restart or failover starts them again. "
            "Prometheus keeps the history (kappa_gateway_billed_*)."
        ),
    )
    requests: int = Field(ge=0, description="Invocations an agent ran, all Functions summed.")
    billed_seconds: float = Field(
        ge=0, description="Their billed duration (whole milliseconds each, at least 1)."
    )
    gb_seconds: float = Field(
        ge=0, description="Billed duration times each Function's memory (1 GB = 1024 MB)."
    )
    functions: tuple[FunctionUsage, ...] = Field(
        default=(),
        max_length=USAGE_LISTED,
        strict=False,
        description=f"The {USAGE_LISTED} Functions with the most GB-seconds, most first.",
    )


class ConcurrencyQuotaStatus(KappaModel):
    """The namespace's use as the operator last saw it; written by Kappa only."""

    conditions: StatusConditions = Field(
        default=(),
        max_length=8,
        description="Ready: True while the namespace's Functions fit the quota.",
    )
    observed_generation: ObservedGeneration = None
    functions: int | None = Field(default=None, ge=0, description="Functions in the namespace.")
    reserved: int | None = Field(
        default=None, ge=0, description="Reserved concurrency of the namespace's Functions, summed."
    )
    provisioned: int | None = Field(
        default=None,
        ge=0,
        description="Provisioned concurrency of the namespace's Functions, summed.",
    )
    slots: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Invocation slots of the namespace's ready pods: the most that can run at once now."
        ),
    )
    in_flight: int | None = Field(
        default=None, ge=0, description="Invocations running, as the gateways last reported."
    )
    over_quota: tuple[str, ...] = Field(
        default=(),
        max_length=64,
        strict=False,
        description="Functions held at Ready=False because they do not fit (the first 64).",
    )
    usage: QuotaUsage | None = Field(
        default=None,
        description=(
            "Requests and GB-seconds of the namespace's Functions since usage.since, "
            "from the gateways' reports; refreshed about every 30 seconds."
        ),
    )


class ConcurrencyQuota(KappaModel):
    """A namespace's concurrency limits, as Lambda's account limits (see the module docstring)."""

    api_version: ApiVersion = "kappa.dev/v1alpha1"
    kind: Literal["ConcurrencyQuota"] = Field(default=KIND, description="ConcurrencyQuota.")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: ConcurrencyQuotaSpec = Field(description="The namespace's limits.")
    status: ConcurrencyQuotaStatus | None = Field(
        default=None, description="The namespace's use; written by the operator."
    )
