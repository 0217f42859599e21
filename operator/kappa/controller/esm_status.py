"""Status of an EventSourceMapping: conditions and state from what the operator observed.

Decision table for ``Ready`` (the first row that holds wins):

==========================  ======  ====================  ==================================
observed                    Ready   reason                message says
==========================  ======  ====================  ==================================
spec the operator refuses   False   InvalidSpec           what to fix (a filter pattern...)
enabled: false              False   Disabled              set enabled: true to poll
Function missing            False   FunctionNotFound      create it or fix functionRef.name
serviceAccountName missing  False   ServiceAccountNotFound  which ServiceAccount to create, and
                                                          the Role to bind (no Deployment made)
poller pod can't start      False   PollerNotStarted      the pod's reason (a missing Secret)
no poller pod ready yet     False   PollerNotReady        waiting for the poller's pods
poller can't use source     False   <the source's>        SourceUnreachable, CredentialsRejected,
                                                          SourceNotFound and the broker's words
no report from the poller   False   SourceNotReported     waiting for the poller's first report
invocations fail (no        False   InvokeFailed          the poller's last processing result
answer, 5xx; not throttles)
otherwise                   True    Polling               records flow to the function
==========================  ======  ====================  ==================================

``FunctionFound``, ``PollerReady``, ``SourceConnected`` and ``Invoking`` say the same things
one aspect at a time. Pure: observations in, conditions out.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kappa.api.event_source_mapping import MappingState
from kappa.api.meta import ConditionState, ConditionStatus, ConditionType


@dataclass(frozen=True)
class Observed:
    """What the operator saw of a mapping this pass."""

    spec_problem: str | None
    enabled: bool
    function: str
    function_exists: bool
    desired_pollers: int
    ready_pollers: int
    pod_problem: tuple[str, str] | None
    """(reason, message) of a poller pod that cannot start, e.g. CreateContainerConfigError."""
    source: Mapping[str, Any] | None
    """``status.source`` as the poller reported it."""
    foreign_deployment: str | None = None
    """A Deployment of the poller's name that this mapping does not own (left untouched)."""
    namespace: str = ""
    missing_service_account: str | None = None
    """``spec.serviceAccountName`` when no ServiceAccount of that name exists."""


def missing_service_account(named: str | None, *, exists: bool) -> str | None:
    """The ServiceAccount the mapping names and the namespace lacks, if any.

    While it is missing, no poller Deployment is made or changed: its pods could not be
    created (the API server refuses a pod whose ServiceAccount does not exist), and the
    mapping's status says what to create instead of a Deployment that never starts.
    """
    return named if named is not None and not exists else None


def _missing_account_message(name: str, namespace: str) -> str:
    where = f" -n {namespace}" if namespace else ""
    subject = f"{namespace or 'NAMESPACE'}:{name}"
    return (
        f"ServiceAccount {name} (spec.serviceAccountName) does not exist in this namespace, "
        f"so no poller can start: create it (kubectl create serviceaccount {name}{where}) "
        "and bind the kappa-poller Role to it (kubectl create rolebinding "
        f"{name}-kappa-poller --role kappa-poller --serviceaccount {subject}{where}), "
        "or remove spec.serviceAccountName to run as kappa-poller"
    )


def _function(observed: Observed) -> ConditionState:
    if observed.function_exists:
        return ConditionState(
            ConditionType.FUNCTION_FOUND,
            ConditionStatus.TRUE,
            "Found",
            f"Function {observed.function} exists",
        )
    return ConditionState(
        ConditionType.FUNCTION_FOUND,
        ConditionStatus.FALSE,
        "FunctionNotFound",
        f"Function {observed.function} does not exist in this namespace: create it, or fix "
        "spec.functionRef.name",
    )


def _poller(observed: Observed) -> ConditionState:
    if observed.foreign_deployment is not None:
        return ConditionState(
            ConditionType.POLLER_READY,
            ConditionStatus.FALSE,
            "DeploymentNotOwned",
            f"Deployment {observed.foreign_deployment} exists and belongs to something else: "
            "Kappa leaves it alone; rename the mapping or remove that Deployment",
        )
    if not observed.enabled:
        return ConditionState(
            ConditionType.POLLER_READY,
            ConditionStatus.FALSE,
            "Disabled",
            "spec.enabled is false: no poller runs",
        )
    if observed.missing_service_account is not None:
        return ConditionState(
            ConditionType.POLLER_READY,
            ConditionStatus.FALSE,
            "ServiceAccountNotFound",
            _missing_account_message(observed.missing_service_account, observed.namespace),
        )
    if observed.pod_problem is not None:
        reason, message = observed.pod_problem
        return ConditionState(
            ConditionType.POLLER_READY,
            ConditionStatus.FALSE,
            "PollerNotStarted",
            f"the poller pod cannot start: {reason}: {message} (check the Secrets the spec names)",
        )
    if observed.ready_pollers < max(1, observed.desired_pollers):
        return ConditionState(
            ConditionType.POLLER_READY,
            ConditionStatus.FALSE,
            "PollerNotReady",
            f"{observed.ready_pollers} of {observed.desired_pollers} poller pods ready",
        )
    return ConditionState(
        ConditionType.POLLER_READY,
        ConditionStatus.TRUE,
        "Running",
        f"{observed.ready_pollers} poller pods ready",
    )


def _source(observed: Observed) -> ConditionState:
    source = observed.source or {}
    connected = source.get("connected")
    if connected is True:
        return ConditionState(
            ConditionType.SOURCE_CONNECTED,
            ConditionStatus.TRUE,
            "Connected",
            "the poller reads the source",
        )
    if connected is False:
        return ConditionState(
            ConditionType.SOURCE_CONNECTED,
            ConditionStatus.FALSE,
            str(source.get("reason") or "SourceError"),
            str(source.get("message") or "the poller cannot read the source"),
        )
    return ConditionState(
        ConditionType.SOURCE_CONNECTED,
        ConditionStatus.UNKNOWN,
        "SourceNotReported",
        "waiting for the poller's first report",
    )


def _invoking(observed: Observed) -> ConditionState:
    result = str((observed.source or {}).get("lastProcessingResult") or "")
    if result.startswith("PROBLEM: Function call failed") and "TooManyRequests" not in result:
        return ConditionState(ConditionType.INVOKING, ConditionStatus.FALSE, "InvokeFailed", result)
    return ConditionState(
        ConditionType.INVOKING, ConditionStatus.TRUE, "Invoking", result or "No records processed"
    )


def mapping_conditions(observed: Observed) -> list[ConditionState]:
    """Ready, FunctionFound, PollerReady and SourceConnected (see the module's table)."""
    if observed.spec_problem is not None:
        ready = ConditionState(
            ConditionType.READY, ConditionStatus.FALSE, "InvalidSpec", observed.spec_problem
        )
        return [ready]
    aspects = [_function(observed), _poller(observed), _source(observed), _invoking(observed)]
    if not observed.enabled:
        ready = ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            "Disabled",
            "spec.enabled is false: set it to true to poll",
        )
    else:
        problem = next((c for c in aspects if c.status != ConditionStatus.TRUE), None)
        ready = (
            ConditionState(
                ConditionType.READY,
                ConditionStatus.TRUE,
                "Polling",
                "records flow from the source to the function",
            )
            if problem is None
            else ConditionState(
                ConditionType.READY, ConditionStatus.FALSE, problem.reason, problem.message
            )
        )
    return [ready, *aspects]


def mapping_state(observed: Observed) -> MappingState:
    """Lambda's State of the mapping."""
    if not observed.enabled:
        return MappingState.DISABLED
    if observed.ready_pollers >= max(1, observed.desired_pollers):
        return MappingState.ENABLED
    return MappingState.CREATING
