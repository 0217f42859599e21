"""Status conditions of a Function, computed from what its pods show.

Pure. Conditions follow the Kubernetes convention (and kstatus): `Ready` is the
summary, `CodeReady` says whether the code could be loaded, and every
condition carries the `observedGeneration` it describes. A condition keeps its
`lastTransitionTime` while its status does not change.
"""

from collections.abc import Sequence
from typing import Final

from kappa.api.meta import ConditionState, ConditionStatus, ConditionType
from kappa.controller.observed import PodView

# Lambda error types that mean the code itself could not be had or loaded.
_CODE_ERRORS: Final = (
    "Runtime.ImportModuleError",
    "Runtime.HandlerNotFound",
    "Runtime.UserCodeSyntaxError",
    "Runtime.BadFunctionCode",  # java: the handler's class failed to load or initialise
    "Kappa.Code",
)
_IMAGE_REASONS: Final = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}
)


def function_conditions(  # noqa: PLR0912, PLR0913 - one branch (and input) per reason, in priority order
    pods: Sequence[PodView],
    *,
    revision: str,
    desired: int,
    code_problem: ConditionState | None = None,
    create_error: str | None = None,
    quota_problem: str | None = None,
    code_loaded: bool = False,
) -> list[ConditionState]:
    """Ready and CodeReady for a Function whose pods are `pods`.

    `code_problem` is a CodeReady=False found before any pod could run (a missing
    ConfigMap, say); it also makes Ready False with the same reason. `create_error`
    is the API server's message when it refused a pod this pass (a quota, an
    admission policy): Ready=False, reason PodCreateFailed. `quota_problem` says why the
    Function does not fit its namespace's ConcurrencyQuota or the cluster's limits (see
    kappa.quota.claims): Ready=False, reason QuotaExceeded, whatever its pods show.
    `code_loaded` says an
    environment of this revision loaded the code before (CodeReady was True): with
    no pod left (scaled to zero) that stays true. A Function scaled to zero
    (`desired` 0) is Ready: the next invocation starts an environment.
    """
    current = [p for p in pods if p.revision == revision and not p.terminating]
    ready = sum(1 for p in current if p.ready and p.live)
    init_failure = next((p.failure for p in current if p.failure and not p.was_ready), None)
    crashed = next((p for p in current if p.failure and p.was_ready), None)
    # Evicted, Unschedulable…: the pod as a whole, so it comes before its containers.
    pod_problem = next((p for p in current if p.pod_reason and not p.ready), None)
    waiting = next((p for p in current if p.waiting_reason), None)

    if code_problem is not None:
        code = code_problem
    elif init_failure and init_failure.error_type.startswith(_CODE_ERRORS):
        code = ConditionState(
            ConditionType.CODE_READY,
            ConditionStatus.FALSE,
            "InitError",
            f"{init_failure.error_type}: {init_failure.message}",
        )
    elif ready or any(p.was_ready for p in current) or (code_loaded and not current):
        code = ConditionState(
            ConditionType.CODE_READY,
            ConditionStatus.TRUE,
            "Loaded",
            "the runtime initialised with this code",
        )
    else:
        code = ConditionState(
            ConditionType.CODE_READY,
            ConditionStatus.UNKNOWN,
            "Pending",
            "no environment has loaded the code yet",
        )

    if code_problem is not None:
        summary = ConditionState(
            ConditionType.READY, ConditionStatus.FALSE, code_problem.reason, code_problem.message
        )
    elif quota_problem is not None:
        summary = ConditionState(
            ConditionType.READY, ConditionStatus.FALSE, "QuotaExceeded", quota_problem
        )
    elif ready >= desired > 0:
        summary = ConditionState(
            ConditionType.READY,
            ConditionStatus.TRUE,
            "EnvironmentsReady",
            f"{ready}/{desired} environments ready",
        )
    elif desired == 0:  # (a last pod may still be draining)
        summary = ConditionState(
            ConditionType.READY,
            ConditionStatus.TRUE,
            "ScaledToZero",
            "no environment runs: the next invocation starts one (a cold start)",
        )
    elif create_error is not None:
        summary = ConditionState(
            ConditionType.READY, ConditionStatus.FALSE, "PodCreateFailed", create_error
        )
    elif pod_problem is not None:
        summary = ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            str(pod_problem.pod_reason),
            pod_problem.pod_message or "the pod cannot run",
        )
    elif init_failure:
        summary = ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            "InitError",
            f"{init_failure.error_type}: {init_failure.message}",
        )
    elif crashed and crashed.failure:
        summary = ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            "EnvironmentFailed",
            f"{crashed.failure.error_type}: {crashed.failure.message}",
        )
    elif waiting and waiting.waiting_reason in _IMAGE_REASONS:
        summary = ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            "ImagePullFailed",
            f"{waiting.waiting_reason}: {waiting.waiting_message or ''}".strip(),
        )
    elif waiting:
        summary = ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            str(waiting.waiting_reason),
            waiting.waiting_message or "a container cannot start",
        )
    else:
        summary = ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            "EnvironmentsStarting",
            f"{ready}/{desired} environments ready",
        )
    return [summary, code]


def scaled_condition(reason: str, message: str, *, limited: bool) -> ConditionState:
    """``Scaled``: what the autoscaler decided and why.

    False while a cap or the burst limit holds the Function below what its concurrency
    asks for.
    """
    status = ConditionStatus.FALSE if limited else ConditionStatus.TRUE
    return ConditionState(ConditionType.SCALED, status, reason, message)


# Ready=False reasons that only a change by the user ends (a fixed handler or code, an
# image that exists, a quota that fits): GitOps tools (kstatus: Argo CD, Flux) read
# them as failed, not as still in progress.
STALLED_REASONS: Final = frozenset(
    {"InitError", "ImagePullFailed", "QuotaExceeded", "PodCreateFailed"}
)


def progress_conditions(ready: ConditionState, *, spec_problem: bool) -> list[ConditionState]:
    """``Reconciling`` and ``Stalled`` (kstatus's abnormal-true conditions) from ``Ready``.

    ``spec_problem``: the spec or its code is broken (CodeReady=False found before any
    pod ran, e.g. a missing ConfigMap), which only the user can fix::

        Ready                                         Reconciling  Stalled
        True                                          False        False
        False, spec_problem or reason in STALLED      False        True  (Ready's reason)
        False otherwise (environments starting…)      True         False
    """
    if ready.status == ConditionStatus.TRUE:
        return [
            ConditionState(
                ConditionType.RECONCILING, ConditionStatus.FALSE, "Ready", ready.message
            ),
            ConditionState(ConditionType.STALLED, ConditionStatus.FALSE, "Ready", ready.message),
        ]
    if spec_problem or ready.reason in STALLED_REASONS:
        return [
            ConditionState(
                ConditionType.RECONCILING,
                ConditionStatus.FALSE,
                "Stalled",
                "waiting for a change of the spec",
            ),
            ConditionState(
                ConditionType.STALLED, ConditionStatus.TRUE, ready.reason, ready.message
            ),
        ]
    return [
        ConditionState(
            ConditionType.RECONCILING, ConditionStatus.TRUE, ready.reason, ready.message
        ),
        ConditionState(
            ConditionType.STALLED,
            ConditionStatus.FALSE,
            "Progressing",
            "no problem that needs a change",
        ),
    ]
