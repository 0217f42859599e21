from kappa.agent.metrics import AgentMetrics, Histogram, Outcome
from kappa.tracing.endpoint import parse_endpoint
from kappa.tracing.exporter import Exporter


def test_histogram_counts_cumulatively() -> None:
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 5.0):
        histogram.observe(value)
    assert histogram.cumulative() == [("0.1", 2.0), ("1.0", 3.0), ("+Inf", 4.0)]
    assert histogram.count == 4
    assert histogram.total == 5.65


def test_render_in_prometheus_text_format() -> None:
    metrics = AgentMetrics()
    metrics.invocation(Outcome.SUCCESS, 0.002)
    metrics.invocation(Outcome.TIMEOUT, 3.0)
    metrics.prepare()
    body, content_type = metrics.render(slots=2, busy=1)
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert 'kappa_agent_invocations_total{outcome="success"} 1.0' in text
    assert 'kappa_agent_invocations_total{outcome="timeout"} 1.0' in text
    assert 'kappa_agent_invocations_total{outcome="runtime_exit"} 0.0' in text
    assert 'kappa_agent_invocation_duration_seconds_bucket{le="0.0025"} 1.0' in text
    assert 'kappa_agent_invocation_duration_seconds_bucket{le="+Inf"} 2.0' in text
    assert "kappa_agent_slots 2.0" in text
    assert "kappa_agent_slots_busy 1.0" in text


def test_span_counts_are_rendered_only_with_tracing_on() -> None:
    metrics = AgentMetrics()
    metrics.prepare()
    off, _ = metrics.render(slots=1, busy=0)
    assert b"kappa_agent_spans" not in off
    metrics.spans = Exporter(parse_endpoint("http://otel:4318"), {"service.name": "kappa-agent"})
    metrics.spans.exported, metrics.spans.dropped = 5, 2
    on = metrics.render(slots=1, busy=0)[0].decode()
    assert "kappa_agent_spans_exported_total 5.0" in on
    assert "kappa_agent_spans_dropped_total 2.0" in on
