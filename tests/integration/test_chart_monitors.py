"""The chart's ServiceMonitors and PodMonitors as `helm template` renders them (the real helm
of e2e/local/build-tools.sh): what Prometheus is told to scrape, and that the `namespace`
and `function` labels of Kappa's series survive the scrape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chart_render import by_kind_and_name

pytestmark = pytest.mark.integration


def render(*sets: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The chart's objects rendered with ``--set`` values, by (kind, name)."""
    return by_kind_and_name(*sets)


def endpoint(item: dict[str, Any]) -> dict[str, Any]:
    spec = item["spec"]
    (only,) = spec.get("endpoints") or spec["podMetricsEndpoints"]
    return only  # type: ignore[no-any-return]


def test_monitors_are_off_by_default() -> None:
    kinds = {kind for kind, _ in render()}
    assert not kinds & {"ServiceMonitor", "PodMonitor"}


def test_monitors_keep_the_namespace_and_function_labels() -> None:
    objects = render("serviceMonitor.enabled=true", "podMonitor.enabled=true")
    gateway = endpoint(objects["ServiceMonitor", "kappa-gateway"])
    # The gateway's series carry the Function's namespace: Prometheus must not replace it
    # with the gateway pod's own (it would, and rename ours exported_namespace).
    assert gateway["honorLabels"] is True
    assert endpoint(objects["ServiceMonitor", "kappa-operator"])["port"] == "autoscaler"
    functions = objects["PodMonitor", "kappa-functions"]
    assert functions["spec"]["selector"]["matchLabels"] == {"kappa.dev/component": "function"}
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_kappa_dev_function"],
        "targetLabel": "function",
    } in endpoint(functions)["relabelings"]
    pollers = objects["PodMonitor", "kappa-pollers"]
    assert pollers["spec"]["selector"]["matchLabels"] == {"kappa.dev/component": "poller"}
    assert endpoint(pollers)["port"] == "metrics"
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_kappa_dev_mapping"],
        "targetLabel": "mapping",
    } in endpoint(pollers)["relabelings"]


def test_the_cap_on_function_labels_reaches_the_gateway() -> None:
    objects = render("gateway.metricsMaxFunctions=0")
    (container,) = objects["Deployment", "kappa-gateway"]["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["KAPPA_METRICS_MAX_FUNCTIONS"] == "0"
