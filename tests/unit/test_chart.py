"""charts/kappa against the rest of the repository: its CRDs are crds/, its appVersion is
the package's, its Grafana dashboard plots only metrics Kappa exports. (Rendering and
schema checks: `make lint-chart`, which needs helm and kubeconform.)"""

import json
import re
from pathlib import Path
from typing import Final

import pytest
import yaml
from prometheus_client import CollectorRegistry, Metric
from prometheus_client.parser import text_string_to_metric_families

import kappa
from kappa.agent.metrics import AgentMetrics
from kappa.asyncq.metrics import DEPTH, DLQ_DEPTH, OLDEST_AGE, AsyncMetrics
from kappa.autoscaler.metrics import AutoscalerMetrics
from kappa.eventsources.metrics import PollerMetrics
from kappa.gateway.metrics import GatewayMetrics

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts/kappa"


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}
# Labels Prometheus adds to what it scrapes, by whom: the PodMonitors relabel a function
# pod's kappa.dev/function and a poller's kappa.dev/mapping, and every target has its
# pod's namespace. The gateway's and the queue's series carry their own (honorLabels).
_FUNCTION_POD: Final = {"namespace", "function", "pod"}
_POLLER_POD: Final = {"namespace", "mapping", "pod"}


def _registry_labels(registry: CollectorRegistry, added: set[str]) -> dict[str, set[str]]:
    """Sample name → the labels its series can carry, for every collector of ``registry``."""
    labels: dict[str, set[str]] = {}
    for family in registry.collect():
        names = {key for sample in family.samples for key in sample.labels} - {"le"}
        collector = registry._names_to_collectors.get(family.name)  # noqa: SLF001
        names |= set(getattr(collector, "_labelnames", ()))
        for suffix in _SUFFIXES[family.type]:
            labels[family.name + suffix] = names | added
    return labels


def exported_metrics() -> dict[str, set[str]]:
    """Every sample name Kappa's components show on /metrics, and the labels it can carry
    once scraped (by family type: a labelled family shows no sample before its first
    observation)."""
    agent = AgentMetrics()
    agent.prepare()
    text, _ = agent.render(slots=1, busy=0)
    agent_registry = CollectorRegistry()
    agent_registry.register(_Parsed(text.decode()))
    gateway = GatewayMetrics()
    gateway.concurrent.source = lambda: {("ns", "fn"): 1}
    queue = AsyncMetrics(gateway.registry, gateway.function)
    queue.set_queues({name: {("ns", "fn"): 1.0} for name in (DEPTH, DLQ_DEPTH, OLDEST_AGE)})
    return {
        **_registry_labels(gateway.registry, set()),
        **_registry_labels(agent_registry, _FUNCTION_POD),
        **_registry_labels(PollerMetrics().registry, _POLLER_POD),
        **_registry_labels(AutoscalerMetrics().registry, set()),
    }


class _Parsed:
    """A collector of families parsed from exposition text (the agent renders its own)."""

    def __init__(self, text: str) -> None:
        self._families = list(text_string_to_metric_families(text))

    def collect(self) -> list[Metric]:
        return self._families


def test_chart_crds_are_the_generated_crds() -> None:
    # Helm installs charts/kappa/crds; crds/ is what `kappa crds` generates. `make chart-crds`.
    generated = {p.name: p.read_text() for p in (REPO / "crds").glob("*.yaml")}
    in_chart = {p.name: p.read_text() for p in (CHART / "crds").glob("*.yaml")}
    assert in_chart == generated, "charts/kappa/crds differs from crds/: run `make chart-crds`"


def test_chart_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == kappa.__version__


def test_every_values_key_is_in_the_values_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def missing(value: object, node: dict, path: str) -> list[str]:
        if not isinstance(value, dict) or "properties" not in node:
            return []
        found = []
        for key, sub in value.items():
            if key not in node["properties"]:
                found.append(f"{path}{key}")
            else:
                found += missing(sub, node["properties"][key], f"{path}{key}.")
        return found

    assert missing(values, schema, "") == []


DASHBOARD = json.loads((CHART / "dashboards/kappa.json").read_text())
EXPRESSIONS = [
    pytest.param(target["expr"], id=f"{panel['title']}/{target['refId']}")
    for panel in DASHBOARD["panels"]
    for target in panel["targets"]
] + [
    pytest.param(variable["query"]["query"], id=f"variable {variable['name']}")
    for variable in DASHBOARD["templating"]["list"]
    if variable["type"] == "query"
]
# A metric and the label matchers right after it: `kappa_x_total{a=~"..", b="c"}`.
_SELECTOR = re.compile(r"\b(kappa_[a-z_]+)(?:\{([^}]*)\})?")
_MATCHER = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_dashboard_queries_only_exported_metrics_and_their_labels(expr: str) -> None:
    exported = exported_metrics()
    selectors = _SELECTOR.findall(expr)
    assert selectors, expr
    for name, matchers in selectors:
        assert name in exported, f"{name} is not a metric Kappa exports"
        used = set(_MATCHER.findall(matchers))
        assert used <= exported[name], f"{name} has no label {used - exported[name]}"
    grouped = {label.strip() for group in re.findall(r"by \(([^)]*)\)", expr)
               for label in group.split(",")} - {"le"}  # fmt: skip
    every_label = set().union(*(exported[name] for name, _ in selectors))
    assert grouped <= every_label, f"grouped by labels no series has: {grouped - every_label}"


def test_dashboard_filters_by_namespace_and_function() -> None:
    names = [variable["name"] for variable in DASHBOARD["templating"]["list"]]
    assert names == ["datasource", "namespace", "function"]
    panels = [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]
    invocations = [expr for expr in panels if "kappa_gateway_invocations_total" in expr]
    assert invocations
    for expr in invocations:
        assert 'namespace=~"$namespace", function=~"$function"' in expr


def test_dashboard_has_unique_panel_ids() -> None:
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
