from typing import Any

from kappa.autoscaler.stats import Sample
from kappa.autoscaler.wire import parse_stats, parse_usage
from kappa.gateway.metrics import GatewayMetrics
from kappa.gateway.stats_push import StatsLink
from kappa.quota.usage import Usage

A = ("team-a", "thumbs")
B = ("team-b", "idle")


def link_over(metrics: GatewayMetrics) -> StatsLink:
    session: Any = None  # stats() builds the body; only run() posts it
    return StatsLink("http://operator:8081", session, metrics)


def test_every_stats_report_carries_the_running_usage_totals_since_the_gateway_started() -> None:
    metrics = GatewayMetrics()
    link = link_over(metrics)
    link.attach(lambda: {B: Sample(peak=1)}, lambda _key: Sample())
    for _ in range(3):
        metrics.bill(A, metrics.function(A), 101, 512)
    first = link.stats()
    assert parse_stats(first) == (link.gateway, {B: Sample(peak=1)})
    assert parse_usage(first) == (link.started, {A: Usage(3, 303, 303 * 512)})
    metrics.bill(A, metrics.function(A), 1, 512)
    # Totals, not the calls since the last report: a lost report loses nothing.
    assert parse_usage(link.stats())[1] == {A: Usage(4, 304, 304 * 512)}


def test_a_forgotten_function_is_no_longer_reported() -> None:
    metrics = GatewayMetrics()
    link = link_over(metrics)
    metrics.bill(A, metrics.function(A), 5, 128)
    metrics.forget(A)
    assert parse_usage(link.stats())[1] == {}
