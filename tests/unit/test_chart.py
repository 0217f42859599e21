"""charts/kappa against the rest of the repository: its CRDs are crds/, its appVersion is
the package's, its Grafana dashboard plots only metrics Kappa exports. (Rendering and
schema checks: `make lint-chart`, which needs helm and kubeconform.)"""

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import kappa
from kappa.agent.metrics import AgentMetrics
from kappa.gateway.metrics import GatewayMetrics

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts/kappa"


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}


def exported_metric_names() -> set[str]:
    """Every sample name the gateway's and an agent's /metrics can show (by family type:
    a labelled family shows no sample before its first observation)."""
    agent = AgentMetrics()
    agent.prepare()
    text, _ = agent.render(slots=1, busy=0)
    families = [
        *GatewayMetrics().registry.collect(),
        *text_string_to_metric_families(text.decode()),
    ]
    return {family.name + suffix for family in families for suffix in _SUFFIXES[family.type]}


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
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_dashboard_queries_only_exported_metrics(expr: str) -> None:
    names = set(re.findall(r"\bkappa_[a-z_]+", expr))
    assert names, expr
    assert names <= exported_metric_names(), names - exported_metric_names()


def test_dashboard_has_unique_panel_ids() -> None:
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
