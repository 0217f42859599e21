from dataclasses import replace
from datetime import UTC, datetime

import pytest

from kappa.api.meta import ConditionState
from kappa.controller.conditions import function_conditions, progress_conditions
from kappa.controller.observed import Failure, Phase, PodView

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pod(
    *,
    ready: bool = False,
    phase: Phase = Phase.RUNNING,
    failure: Failure | None = None,
    waiting: str | None = None,
    revision: str = "r",
) -> PodView:
    return PodView(
        name="p",
        revision=revision,
        phase=phase,
        ready=ready,
        terminating=False,
        created=NOW,
        failure=failure,
        waiting_reason=waiting,
        waiting_message="detail",
    )


@pytest.mark.parametrize(
    ("pods", "ready", "code"),
    [
        pytest.param(
            [pod(ready=True)], ("True", "EnvironmentsReady"), ("True", "Loaded"), id="ready"
        ),
        pytest.param(
            [pod()], ("False", "EnvironmentsStarting"), ("Unknown", "Pending"), id="starting"
        ),
        pytest.param(
            [pod(phase=Phase.FAILED, failure=Failure("Runtime.ImportModuleError", "No module"))],
            ("False", "InitError"),
            ("False", "InitError"),
            id="import-error",
        ),
        pytest.param(
            [pod(phase=Phase.FAILED, failure=Failure("Runtime.BadFunctionCode", "Error loading"))],
            ("False", "InitError"),
            ("False", "InitError"),
            id="java-class-fails-to-load",
        ),
        pytest.param(
            [pod(phase=Phase.FAILED, failure=Failure("Runtime.OutOfMemory", "oom"))],
            ("False", "InitError"),
            ("Unknown", "Pending"),
            id="oom-is-not-a-code-problem",
        ),
        pytest.param(
            [pod(phase=Phase.PENDING, waiting="ErrImageNeverPull")],
            ("False", "ImagePullFailed"),
            ("Unknown", "Pending"),
            id="image-missing",
        ),
        pytest.param(
            [pod(phase=Phase.PENDING, waiting="CreateContainerConfigError")],
            ("False", "CreateContainerConfigError"),
            ("Unknown", "Pending"),
            id="missing-secret",
        ),
        pytest.param(
            [pod(ready=True, revision="old")],
            ("False", "EnvironmentsStarting"),
            ("Unknown", "Pending"),
            id="only-old-revision-ready",
        ),
    ],
)
def test_conditions(pods: list[PodView], ready: tuple[str, str], code: tuple[str, str]) -> None:
    summary, code_ready = function_conditions(pods, revision="r", desired=1)
    assert (summary.type, summary.status, summary.reason) == ("Ready", *ready)
    assert (code_ready.type, code_ready.status, code_ready.reason) == ("CodeReady", *code)


def test_init_error_message_names_lambdas_error_type() -> None:
    failed = pod(
        phase=Phase.FAILED, failure=Failure("Runtime.HandlerNotFound", "app.nope is undefined")
    )
    summary, _ = function_conditions([failed], revision="r", desired=1)
    assert summary.message == "Runtime.HandlerNotFound: app.nope is undefined"


def test_code_problem_overrides_pods() -> None:
    problem = ConditionState("CodeReady", "False", "ConfigMapNotFound", "create it")
    summary, code = function_conditions(
        [pod(ready=True)], revision="r", desired=1, code_problem=problem
    )
    assert (summary.status, summary.reason, summary.message) == (
        "False",
        "ConfigMapNotFound",
        "create it",
    )
    assert code == problem


def test_transition_time_kept_while_status_unchanged() -> None:
    condition = ConditionState("Ready", "True", "EnvironmentsReady", "1/1")
    before = [{"type": "Ready", "status": "True", "lastTransitionTime": "2025-12-31T00:00:00Z"}]
    assert condition.as_dict(generation=3, now=NOW, previous=before)["lastTransitionTime"] == (
        "2025-12-31T00:00:00Z"
    )
    flipped = [{"type": "Ready", "status": "False", "lastTransitionTime": "2025-12-31T00:00:00Z"}]
    result = condition.as_dict(generation=3, now=NOW, previous=flipped)
    assert result["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert result["observedGeneration"] == 3


def test_refused_pod_create_shows_the_apis_message() -> None:
    summary, _ = function_conditions(
        [], revision="r", desired=1, create_error='pods "fn-1" is forbidden: exceeded quota'
    )
    assert (summary.status, summary.reason, summary.message) == (
        "False",
        "PodCreateFailed",
        'pods "fn-1" is forbidden: exceeded quota',
    )


def test_failure_after_ready_is_an_environment_failure_not_an_init_error() -> None:
    crashed = replace(
        pod(phase=Phase.FAILED, failure=Failure("Runtime.OutOfMemory", "oom")), was_ready=True
    )
    summary, code = function_conditions([crashed], revision="r", desired=1)
    assert (summary.reason, summary.message) == ("EnvironmentFailed", "Runtime.OutOfMemory: oom")
    assert (code.status, code.reason) == ("True", "Loaded")


@pytest.mark.parametrize(
    ("reason", "message", "phase"),
    [
        pytest.param(
            "Unschedulable", "0/1 nodes: Insufficient memory", Phase.PENDING, id="unschedulable"
        ),
        pytest.param("Evicted", "low on memory", Phase.FAILED, id="evicted"),
    ],
)
def test_pod_level_reason_is_shown(reason: str, message: str, phase: Phase) -> None:
    view = replace(
        pod(phase=phase, failure=Failure("Runtime.Error", "137")),
        pod_reason=reason,
        pod_message=message,
    )
    summary, _ = function_conditions([view], revision="r", desired=1)
    assert (summary.status, summary.reason, summary.message) == ("False", reason, message)


def test_a_function_held_by_its_quota_is_not_ready_whatever_its_pods_show() -> None:
    why = "spec.concurrency.provisioned 1 would bring ... over its ConcurrencyQuota's maxProvisioned 0"
    ready, _ = function_conditions([pod()], revision="r1", desired=1, quota_problem=why)
    assert (ready.status, ready.reason, ready.message) == ("False", "QuotaExceeded", why)
    # A broken spec or code says more about what to fix first.
    problem = ConditionState(
        "CodeReady", "False", "ConfigMapNotFound", "ConfigMap 'x' does not exist"
    )
    ready, _ = function_conditions(
        [], revision="r1", desired=1, code_problem=problem, quota_problem=why
    )
    assert ready.reason == "ConfigMapNotFound"


@pytest.mark.parametrize(
    ("pods", "code_loaded", "ready", "code"),
    [
        pytest.param([], True, ("True", "ScaledToZero"), ("True", "Loaded"), id="loaded-before"),
        pytest.param([], False, ("True", "ScaledToZero"), ("Unknown", "Pending"),
                     id="never-loaded"),
        pytest.param([pod(ready=True)], False, ("True", "ScaledToZero"), ("True", "Loaded"),
                     id="last-pod-still-draining"),
    ],
)  # fmt: skip
def test_scaled_to_zero_is_ready(
    pods: list[PodView],
    code_loaded: bool,  # noqa: FBT001
    ready: tuple[str, str],
    code: tuple[str, str],
) -> None:
    summary, code_ready = function_conditions(
        pods, revision="r", desired=0, code_loaded=code_loaded
    )
    assert (summary.status, summary.reason) == ready
    assert (code_ready.status, code_ready.reason) == code


@pytest.mark.parametrize(
    ("ready", "spec_problem", "reconciling", "stalled"),
    [
        pytest.param(ConditionState("Ready", "True", "EnvironmentsReady", "1/1"), False,
                     ("False", "Ready"), ("False", "Ready"), id="ready"),
        pytest.param(ConditionState("Ready", "True", "ScaledToZero", "none"), False,
                     ("False", "Ready"), ("False", "Ready"), id="scaled-to-zero"),
        pytest.param(ConditionState("Ready", "False", "EnvironmentsStarting", "0/1"), False,
                     ("True", "EnvironmentsStarting"), ("False", "Progressing"), id="starting"),
        pytest.param(ConditionState("Ready", "False", "InitError", "Runtime.HandlerNotFound: x"), False,
                     ("False", "Stalled"), ("True", "InitError"), id="init-error"),
        pytest.param(ConditionState("Ready", "False", "ImagePullFailed", "ErrImagePull"), False,
                     ("False", "Stalled"), ("True", "ImagePullFailed"), id="image"),
        pytest.param(ConditionState("Ready", "False", "QuotaExceeded", "over"), False,
                     ("False", "Stalled"), ("True", "QuotaExceeded"), id="quota"),
        pytest.param(ConditionState("Ready", "False", "ConfigMapNotFound", "no cm"), True,
                     ("False", "Stalled"), ("True", "ConfigMapNotFound"), id="spec-problem"),
        pytest.param(ConditionState("Ready", "False", "EnvironmentFailed", "OOMKilled"), False,
                     ("True", "EnvironmentFailed"), ("False", "Progressing"), id="crash-retried"),
    ],
)  # fmt: skip
def test_progress_conditions_tell_starting_from_stalled(
    ready: ConditionState,
    spec_problem: bool,  # noqa: FBT001
    reconciling: tuple[str, str],
    stalled: tuple[str, str],
) -> None:
    got_reconciling, got_stalled = progress_conditions(ready, spec_problem=spec_problem)
    assert (got_reconciling.type, got_reconciling.status, got_reconciling.reason) == (
        "Reconciling",
        *reconciling,
    )
    assert (got_stalled.type, got_stalled.status, got_stalled.reason) == ("Stalled", *stalled)
    if stalled[0] == "True":  # the user sees what to fix
        assert got_stalled.message == ready.message
