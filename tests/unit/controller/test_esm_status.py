from dataclasses import replace

import pytest

from kappa.api.event_source_mapping import MappingState
from kappa.controller.esm_status import (
    Observed,
    mapping_conditions,
    mapping_state,
    missing_service_account,
)

HEALTHY = Observed(
    spec_problem=None,
    enabled=True,
    function="worker",
    function_exists=True,
    desired_pollers=1,
    ready_pollers=1,
    pod_problem=None,
    source={"connected": True},
)


@pytest.mark.parametrize(
    ("observed", "status", "reason", "says"),
    [
        pytest.param(HEALTHY, "True", "Polling", "records flow", id="healthy"),
        pytest.param(
            replace(HEALTHY, spec_problem="spec.filterCriteria.filters[0].pattern: bad"),
            "False",
            "InvalidSpec",
            "filters[0]",
            id="invalid-spec",
        ),
        pytest.param(
            replace(HEALTHY, enabled=False), "False", "Disabled", "enabled", id="disabled"
        ),
        pytest.param(
            replace(HEALTHY, function_exists=False),
            "False",
            "FunctionNotFound",
            "Function worker does not exist",
            id="missing-function",
        ),
        pytest.param(
            replace(
                HEALTHY,
                ready_pollers=0,
                pod_problem=("CreateContainerConfigError", 'secret "aws" not found'),
            ),
            "False",
            "PollerNotStarted",
            'secret "aws" not found',
            id="missing-secret",
        ),
        pytest.param(
            replace(HEALTHY, ready_pollers=0), "False", "PollerNotReady", "0 of 1", id="starting"
        ),
        pytest.param(
            replace(
                HEALTHY,
                ready_pollers=0,
                source=None,
                namespace="team-a",
                missing_service_account="sqs-reader",
            ),
            "False",
            "ServiceAccountNotFound",
            "ServiceAccount sqs-reader (spec.serviceAccountName) does not exist",
            id="missing-service-account",
        ),
        pytest.param(
            replace(
                HEALTHY,
                source={"connected": False, "reason": "SourceUnreachable", "message": "refused"},
            ),
            "False",
            "SourceUnreachable",
            "refused",
            id="broker-down",
        ),
        pytest.param(
            replace(
                HEALTHY,
                source={"connected": False, "reason": "CredentialsRejected", "message": "no"},
            ),
            "False",
            "CredentialsRejected",
            "no",
            id="bad-credentials",
        ),
        pytest.param(
            replace(HEALTHY, source=None), "False", "SourceNotReported", "first report", id="new"
        ),
        pytest.param(
            replace(
                HEALTHY,
                source={
                    "connected": True,
                    "lastProcessingResult": "PROBLEM: Function call failed: HTTP 502",
                },
            ),
            "False",
            "InvokeFailed",
            "HTTP 502",
            id="gateway-failing",
        ),
        pytest.param(
            replace(
                HEALTHY,
                source={
                    "connected": True,
                    "lastProcessingResult": (
                        "PROBLEM: Function call failed: TooManyRequestsException"
                    ),
                },
            ),
            "True",
            "Polling",
            "records flow",
            id="throttled-is-no-failure",
        ),
    ],
)
def test_ready(observed: Observed, status: str, reason: str, says: str) -> None:
    ready = mapping_conditions(observed)[0]
    assert (ready.type, ready.status, ready.reason) == ("Ready", status, reason)
    assert says in ready.message


def test_aspects_are_reported_one_by_one() -> None:
    conditions = mapping_conditions(replace(HEALTHY, function_exists=False, source=None))
    by_type = {c.type: c.status for c in conditions}
    assert by_type == {
        "Ready": "False",
        "FunctionFound": "False",
        "PollerReady": "True",
        "SourceConnected": "Unknown",
        "Invoking": "True",
    }


@pytest.mark.parametrize(
    ("observed", "state"),
    [
        pytest.param(HEALTHY, MappingState.ENABLED, id="enabled"),
        pytest.param(replace(HEALTHY, ready_pollers=0), MappingState.CREATING, id="creating"),
        pytest.param(replace(HEALTHY, enabled=False), MappingState.DISABLED, id="disabled"),
    ],
)
def test_state(observed: Observed, state: MappingState) -> None:
    assert mapping_state(observed) is state


def test_a_deployment_the_mapping_does_not_own_is_named_and_left_alone() -> None:
    conditions = mapping_conditions(replace(HEALTHY, foreign_deployment="shop/esm-orders"))
    poller = next(c for c in conditions if c.type == "PollerReady")
    assert (poller.status, poller.reason) == ("False", "DeploymentNotOwned")
    assert "Deployment shop/esm-orders exists and belongs to something else" in poller.message
    ready = next(c for c in conditions if c.type == "Ready")
    assert ready.status == "False"


def test_a_missing_service_account_says_what_to_create_and_bind() -> None:
    observed = replace(
        HEALTHY, ready_pollers=0, namespace="team-a", missing_service_account="sqs-reader"
    )
    ready, _, poller, *_ = mapping_conditions(observed)
    assert (poller.type, poller.status, poller.reason) == (
        "PollerReady",
        "False",
        "ServiceAccountNotFound",
    )
    assert "kubectl create serviceaccount sqs-reader -n team-a" in poller.message
    assert (
        "kubectl create rolebinding sqs-reader-kappa-poller --role kappa-poller "
        "--serviceaccount team-a:sqs-reader -n team-a"
    ) in poller.message
    assert ready.message == poller.message
    assert mapping_state(observed) is MappingState.CREATING


def test_a_missing_function_is_said_before_a_missing_service_account() -> None:
    observed = replace(HEALTHY, function_exists=False, missing_service_account="sqs-reader")
    assert mapping_conditions(observed)[0].reason == "FunctionNotFound"


def test_a_disabled_mapping_needs_no_service_account() -> None:
    observed = replace(HEALTHY, enabled=False, missing_service_account="sqs-reader")
    ready, _, poller, *_ = mapping_conditions(observed)
    assert (ready.reason, poller.reason) == ("Disabled", "Disabled")


@pytest.mark.parametrize(
    ("named", "exists", "missing"),
    [
        pytest.param(None, False, None, id="default-account"),
        pytest.param("sqs-reader", True, None, id="exists"),
        pytest.param("sqs-reader", False, "sqs-reader", id="missing"),
    ],
)
def test_missing_service_account(
    named: str | None,
    exists: bool,  # noqa: FBT001 - a parameter of the table
    missing: str | None,
) -> None:
    assert missing_service_account(named, exists=exists) == missing
