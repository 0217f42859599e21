import pytest

from kappa.gateway.dispatch import billed_ms
from kappa.gateway.metrics import ColdStartPath, GatewayMetrics, Outcome, ThrottleCause
from kappa.quota.usage import Usage

A = ("team-a", "resize")
B = ("team-b", "report")


def value(metrics: GatewayMetrics, name: str, labels: dict[str, str]) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_512_mb_function_run_100_times_for_100_ms_bills_5_gb_seconds() -> None:
    metrics = GatewayMetrics()
    labels = metrics.function(A)
    for _ in range(100):
        metrics.bill(A, labels, 100, 512)
    where = {"namespace": "team-a", "function": "resize"}
    assert value(metrics, "kappa_gateway_billed_gigabyte_seconds_total", where) == pytest.approx(5)
    assert value(metrics, "kappa_gateway_billed_requests_total", where) == 100
    assert value(metrics, "kappa_gateway_billed_duration_seconds_total", where) == pytest.approx(10)
    # The running totals the operator is told of: exact integers.
    assert metrics.usage == {A: Usage(100, 10_000, 5_120_000)}
    assert metrics.usage[A].gb_seconds == 5


def test_usage_is_kept_per_function_even_past_the_label_cap() -> None:
    metrics = GatewayMetrics(max_functions=1)
    metrics.bill(A, metrics.function(A), 3, 128)
    metrics.bill(B, metrics.function(B), 7, 1024)  # labelled _other
    metrics.bill(B, metrics.function(B), 1, 1024)
    assert metrics.usage == {A: Usage(1, 3, 384), B: Usage(2, 8, 8192)}


def test_forgetting_a_function_drops_its_series_and_keeps_the_others() -> None:
    metrics = GatewayMetrics()
    for key in (A, B):
        labels = metrics.function(key)
        metrics.invocations.labels(*labels, "invoke", Outcome.SUCCESS).inc()
        metrics.duration.labels(*labels).observe(0.1)
        metrics.throttles.labels(*labels, ThrottleCause.QUEUE_FULL).inc()
        metrics.cold_starts.labels(*labels, ColdStartPath.NEW_POD).inc()
        metrics.bill(key, labels, 5, 128)
    metrics.forget(A)
    text = "\n".join(
        f"{sample.name}{sample.labels}"
        for family in metrics.registry.collect()
        for sample in family.samples
    )
    assert "'resize'" not in text
    assert set(metrics.usage) == {B}
    assert text.count("'report'") >= 7
    assert metrics.function.labelled == 1


def test_concurrent_executions_are_read_per_function_at_scrape_time() -> None:
    metrics = GatewayMetrics(max_functions=1)
    metrics.function(A)
    metrics.function(B)  # past the cap: _other of team-b
    metrics.concurrent.source = lambda: {A: 3, B: 2, ("team-b", "late"): 1}
    name = "kappa_gateway_concurrent_executions"
    assert value(metrics, name, {"namespace": "team-a", "function": "resize"}) == 3
    assert value(metrics, name, {"namespace": "team-b", "function": "_other"}) == 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("101", 101, id="whole-ms"),
        pytest.param("1", 1, id="minimum"),
        pytest.param(None, None, id="missing: an older agent"),
        pytest.param("0", None, id="zero"),
        pytest.param("-5", None, id="negative"),
        pytest.param("1.5", None, id="not whole"),
        pytest.param("²", None, id="not ascii"),
        pytest.param("9" * 12, None, id="too long"),
        pytest.param("999999", 4000, id="held to timeout plus slack"),
    ],
)
def test_billed_ms_reads_the_agents_header_within_bounds(
    header: str | None, expected: int | None
) -> None:
    assert billed_ms(header, timeout_seconds=3) == expected


@pytest.mark.parametrize(
    ("initialised", "waited", "path", "cold"),
    [
        pytest.param(False, False, None, False, id="warm"),
        pytest.param(False, True, None, False, id="waited-for-a-busy-warm-slot"),
        pytest.param(True, True, ColdStartPath.NEW_POD, True, id="waited-for-a-new-pod"),
        pytest.param(True, False, ColdStartPath.PROVISIONED, False, id="started-ahead"),
        pytest.param(True, True, ColdStartPath.POOL, True, id="waited-for-a-pool-pod"),
    ],
)
def test_cold_start_path(
    initialised: bool,  # noqa: FBT001 - a parameter of the table
    waited: bool,  # noqa: FBT001
    path: ColdStartPath | None,
    cold: bool,  # noqa: FBT001
) -> None:
    from_pool = path is ColdStartPath.POOL
    found = ColdStartPath.of(initialised=initialised, waited=waited, from_pool=from_pool)
    assert found is path
    assert (found is not None and found.cold) is cold
