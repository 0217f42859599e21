"""The chart's tracing values, as ``helm template`` renders them (docs/tracing.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chart_render import by_kind_and_name, helm_template

ENDPOINT = "http://otel-collector.observability:4318"


def env(objects: dict[tuple[str, str], dict[str, Any]], name: str) -> dict[str, str]:
    (container,) = objects[("Deployment", name)]["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item.get("value", "") for item in container["env"]}


def test_tracing_is_off_by_default() -> None:
    objects = by_kind_and_name()
    for name in ("kappa-gateway", "kappa-operator"):
        assert not {"KAPPA_TRACING_OTLP_ENDPOINT", "KAPPA_TRACING_SAMPLE_RATIO"} & set(
            env(objects, name)
        )


def test_the_collector_reaches_the_gateway_and_the_operator_for_function_pods() -> None:
    objects = by_kind_and_name(f"tracing.otlpEndpoint={ENDPOINT}", "tracing.sampleRatio=0.25")
    for name in ("kappa-gateway", "kappa-operator"):
        variables = env(objects, name)
        assert variables["KAPPA_TRACING_OTLP_ENDPOINT"] == ENDPOINT
        assert variables["KAPPA_TRACING_SAMPLE_RATIO"] == "0.25"


@pytest.mark.parametrize(
    "setting",
    [
        pytest.param("tracing.otlpEndpoint=otel:4318", id="no-scheme"),
        pytest.param("tracing.otlpEndpoint=http://user:pw@otel:4318", id="credentials"),
        pytest.param("tracing.otlpEndpoint=http://otel:4318/?a=b", id="query"),
        pytest.param("tracing.sampleRatio=2", id="ratio-above-one"),
        pytest.param("tracing.sampleRatio=-1", id="negative-ratio"),
        pytest.param("tracing.sampleRatio=1.5", id="decimal-above-one"),
        pytest.param("tracing.sampleRatio=lots", id="not-a-number"),
    ],
)
def test_bad_tracing_values_are_refused(setting: str) -> None:
    result = helm_template(setting)
    assert result.returncode != 0
    assert "tracing" in result.stderr


def test_a_ratio_of_zero_stays_zero() -> None:
    objects = by_kind_and_name(f"tracing.otlpEndpoint={ENDPOINT}", "tracing.sampleRatio=0")
    for name in ("kappa-gateway", "kappa-operator"):
        assert env(objects, name)["KAPPA_TRACING_SAMPLE_RATIO"] == "0"
