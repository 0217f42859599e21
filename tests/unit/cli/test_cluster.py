from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from kappa.cli.cluster import Cluster, ClusterError, GatewayService, ready_condition


def _function(generation: int, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"generation": generation}, "status": {"conditions": list(conditions)}}


READY = {"type": "Ready", "status": "True", "reason": "EnvironmentsReady", "message": "1/1"}


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        pytest.param({"metadata": {"generation": 1}}, ("Unknown", "", ""), id="no-status-yet"),
        pytest.param(
            _function(2, {**READY, "observedGeneration": 2}),
            ("True", "EnvironmentsReady", "1/1"),
            id="ready",
        ),
        pytest.param(
            _function(3, {**READY, "observedGeneration": 2}),
            ("Unknown", "", ""),
            id="about-an-older-spec",
        ),
        pytest.param(
            _function(
                1,
                {"type": "CodeReady", "status": "True", "observedGeneration": 1},
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "InitError",
                    "message": "Runtime.ImportModuleError: No module named 'requests'",
                    "observedGeneration": 1,
                },
            ),
            ("False", "InitError", "Runtime.ImportModuleError: No module named 'requests'"),
            id="init-error",
        ),
    ],
)
def test_ready_condition(function: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert ready_condition(function) == expected


def test_a_headless_gateway_service_has_no_address() -> None:
    assert GatewayService("kappa-system", "g", "10.0.0.7", 80).url == "http://10.0.0.7:80"
    assert GatewayService("kappa-system", "g", "None", 80).url is None


def test_a_new_package_is_ready_once_the_operator_runs_it() -> None:
    running_old = _function(1, {**READY, "observedGeneration": 1})
    running_old["status"]["codeSha256"] = "old"
    assert ready_condition(running_old, "new")[:2] == ("Unknown", "NewCode")
    running_old["status"]["codeSha256"] = "new"
    assert ready_condition(running_old, "new") == ("True", "EnvironmentsReady", "1/1")


class _Functions:
    def __init__(self, status: int | None) -> None:
        self.status = status

    def get_namespaced_custom_object(self, *_args: object, **_kwargs: object) -> dict[str, Any]:
        if self.status is not None:
            raise ApiException(status=self.status, reason="Nope")
        return {"metadata": {"name": "f"}}


def _with_functions(status: int | None) -> Cluster:
    cluster = object.__new__(Cluster)  # no kubeconfig: only the client's answers matter
    cluster.custom = _Functions(status)  # type: ignore[assignment]
    return cluster


def test_whether_a_function_exists_is_told_apart_from_a_failure() -> None:
    assert _with_functions(None).has_function("t", "f")
    assert not _with_functions(404).has_function("t", "f")
    with pytest.raises(ClusterError, match="Nope"):
        _with_functions(403).has_function("t", "f")
