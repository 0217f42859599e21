"""The chart's Argo CD health check (charts/kappa/gitops/argocd-health.lua), run as Argo CD
runs it (gopher-lua, e2e/local/argocd-health) beside the real kstatus library (what Flux
uses, e2e/local/kstatus) on Functions as the operator reports them: both tools must read
each one alike (Current/Healthy, InProgress/Progressing, Failed/Degraded)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "charts/kappa/gitops/argocd-health.lua"
AGREE = {"Current": "Healthy", "InProgress": "Progressing", "Failed": "Degraded"}


def tools() -> Path:
    built = subprocess.run(
        [str(REPO / "e2e/local/build-tools.sh")], check=True, capture_output=True, text=True
    )
    return Path(built.stdout.strip())


def judge(*argv: str, body: dict[str, Any]) -> tuple[str, str]:
    done = subprocess.run(
        [*argv], input=json.dumps(body), check=True, capture_output=True, text=True, timeout=60
    )
    verdict = json.loads(done.stdout)
    return verdict["status"], verdict["message"]


def condition(kind: str, status: str, reason: str, message: str, generation: int) -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": "2026-01-01T00:00:00Z"}  # fmt: skip


def function(
    generation: int, observed: int, ready: tuple[str, str, str], *, stalled: bool = False
) -> dict[str, Any]:
    status, reason, message = ready
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "fn", "namespace": "team", "generation": generation},
        "spec": {"runtime": "python3.12", "handler": "app.handler"},
        "status": {
            "observedGeneration": observed,
            "conditions": [
                condition("Ready", status, reason, message, observed),
                condition(
                    "Reconciling",
                    "True" if status == "False" and not stalled else "False",
                    reason,
                    message,
                    observed,
                ),
                condition("Stalled", "True" if stalled else "False", reason, message, observed),
            ],
        },
    }


CASES = [
    pytest.param(function(2, 2, ("True", "Ready", "1 of 1 ready")), "Healthy", id="ready"),
    pytest.param(
        function(2, 2, ("True", "ScaledToZero", "no pods: the next call starts one")),
        "Healthy",
        id="scaled-to-zero",
    ),
    pytest.param(
        function(3, 2, ("True", "Ready", "1 of 1 ready")),
        "Progressing",
        id="spec-change-not-yet-observed",
    ),
    pytest.param(
        function(2, 2, ("False", "PodsStarting", "0 of 1 ready")),
        "Progressing",
        id="environments-starting",
    ),
    pytest.param(
        function(
            2,
            2,
            ("False", "InitError", "Runtime.HandlerNotFound: app.nowhere is undefined"),
            stalled=True,
        ),
        "Degraded",
        id="stalled",
    ),
]


@pytest.mark.parametrize(("body", "health"), CASES)
def test_argo_cd_reads_a_function_as_kstatus_does(body: dict[str, Any], health: str) -> None:
    bin_dir = tools()
    argo_status, argo_message = judge(str(bin_dir / "argocd-health"), str(SCRIPT), body=body)
    kstatus, kstatus_message = judge(str(bin_dir / "kstatus"), body=body)
    assert argo_status == health, argo_message
    assert AGREE[kstatus] == argo_status, (kstatus_message, argo_message)
    if health == "Degraded":
        assert "Runtime.HandlerNotFound" in argo_message


def test_a_function_without_status_yet_is_progressing() -> None:
    body = function(1, 1, ("True", "Ready", ""))
    del body["status"]
    status, message = judge(str(tools() / "argocd-health"), str(SCRIPT), body=body)
    assert (status, message) == ("Progressing", "Waiting for the operator to report status")
