"""The status of a ConcurrencyQuota: the namespace's use and whether its Functions fit.

Pure: the quota, the namespace's sums, the Functions held and the slots in;
the status subresource (a dict in the API's terms) out::

    condition (first that holds)                  Ready
    Functions of the namespace are held           False OverQuota (names and the first reason)
    ready slots > this quota's maxConcurrency     False OverQuota (the gateway throttles anyway)
    otherwise                                     True  WithinQuota (use of each limit)

With the namespace's usage (kappa.quota.usage) given, ``usage`` sums it: requests,
billed seconds and GB-seconds since ``since``, and the Functions with the most
GB-seconds (ties by name). GB-seconds and seconds are rounded to the millisecond
(GB-s to three decimals), so the figures written are those of the whole
milliseconds counted.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from kappa.api.meta import ConditionState, ConditionStatus, ConditionType
from kappa.api.quota import USAGE_LISTED, ConcurrencyQuotaSpec
from kappa.quota.claims import Sums
from kappa.quota.usage import Usage

OVER_QUOTA_LISTED: Final = 64  # status.overQuota's bound in the CRD
_NAMED: Final = 10  # Functions the Ready message names


def quota_condition(
    spec: ConcurrencyQuotaSpec, sums: Sums, held: Mapping[str, str], slots: int
) -> ConditionState:
    """Ready, per the table of the module docstring; ``held`` maps names to the reason."""
    if held:
        names = sorted(held)
        more = len(names) - _NAMED
        shown = ", ".join(names[:_NAMED]) + (f" and {more} more" if more > 0 else "")
        return ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            "OverQuota",
            f"{len(names)} Function(s) do not fit and are held at Ready=False: {shown}. "
            f"{names[0]}: {held[names[0]]}",
        )
    if slots > spec.max_concurrency:
        return ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            "OverQuota",
            f"the namespace's ready pods have {slots} invocation slots, more than maxConcurrency "
            f"{spec.max_concurrency}: the gateway throttles beyond {spec.max_concurrency}; lower "
            "provisioned concurrency or raise the quota",
        )
    return ConditionState(
        ConditionType.READY,
        ConditionStatus.TRUE,
        "WithinQuota",
        f"reserved {sums.reserved} of {spec.reserved_limit}, provisioned {sums.provisioned} of "
        f"{spec.provisioned_limit}, ready slots {slots} of {spec.max_concurrency}",
    )


def quota_status(  # noqa: PLR0913 - what the status is made of
    spec: ConcurrencyQuotaSpec,
    sums: Sums,
    held: Mapping[str, str],
    slots: int,
    *,
    generation: int,
    now: datetime,
    previous: Sequence[Mapping[str, Any]],
    usage: Mapping[str, Usage] | None = None,
    since: datetime | None = None,
) -> dict[str, Any]:
    """The status subresource of a quota (``previous``: its conditions as they are now).

    ``usage`` (per Function name, counted since ``since``) adds the ``usage`` block.
    """
    condition = quota_condition(spec, sums, held, slots)
    status = {
        "observedGeneration": generation,
        "conditions": [condition.as_dict(generation=generation, now=now, previous=previous)],
        "functions": sums.functions,
        "reserved": sums.reserved,
        "provisioned": sums.provisioned,
        "slots": slots,
        "overQuota": sorted(held)[:OVER_QUOTA_LISTED],
    }
    if usage is not None and since is not None:
        status["usage"] = usage_status(usage, since)
    return status


def usage_status(usage: Mapping[str, Usage], since: datetime) -> dict[str, Any]:
    """``status.usage``: the namespace's sums and its top Functions by GB-seconds."""
    total = sum(usage.values(), Usage())
    ranked = sorted(usage.items(), key=lambda item: (-item[1].mb_ms, item[0]))
    return {
        "since": since.isoformat().replace("+00:00", "Z"),
        **_figures(total),
        "functions": [{"name": name, **_figures(each)} for name, each in ranked[:USAGE_LISTED]],
    }


def _figures(usage: Usage) -> dict[str, Any]:
    return {
        "requests": usage.requests,
        "billedSeconds": usage.billed_ms / 1000,
        "gbSeconds": round(usage.gb_seconds, 3),
    }
