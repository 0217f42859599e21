from kappa.agent.metrics import AgentMetrics, Histogram, Outcome


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
