from prometheus_client import CollectorRegistry, generate_latest

from kappa.gateway import traces
from kappa.gateway.settings import GatewaySettings
from kappa.tracing.context import TraceContext
from kappa.tracing.span import SpanKind

TRACE = "5f3c2a1b0123456789abcdef01234567"
SPAN = "00f067aa0ba902b7"


def test_the_callers_traceparent_wins_over_its_xray_header() -> None:
    headers = {
        "traceparent": f"00-{TRACE}-{SPAN}-01",
        "tracestate": "a=1",
        "X-Amzn-Trace-Id": "Root=1-11111111-111111111111111111111111",
    }
    assert traces.caller(headers) == TraceContext(TRACE, SPAN, sampled=True, tracestate="a=1")
    assert traces.caller({"X-Amzn-Trace-Id": f"Root=1-{TRACE[:8]}-{TRACE[8:]}"}) == TraceContext(
        TRACE
    )
    assert traces.caller({"traceparent": "junk"}) is None


def test_the_invoke_span_is_a_server_span_in_the_callers_trace() -> None:
    tracer = traces.tracer(GatewaySettings())
    span = traces.invoke_span(tracer, {"traceparent": f"00-{TRACE}-{SPAN}-01"}, "http", "req-1")
    assert (span.name, span.kind, span.trace_id, span.parent_span_id) == (
        "invoke",
        SpanKind.SERVER,
        TRACE,
        SPAN,
    )
    assert span.attributes == {"faas.invocation_id": "req-1", "kappa.surface": "http"}


def test_without_a_collector_there_is_no_exporter_and_no_span_metrics() -> None:
    tracer = traces.tracer(GatewaySettings())
    assert tracer.exporter is None
    registry = CollectorRegistry()
    traces.register_metrics(registry, tracer)
    assert b"kappa_gateway_spans" not in generate_latest(registry)


def test_with_a_collector_the_exporters_counts_are_metrics() -> None:
    settings = GatewaySettings.from_env({"KAPPA_TRACING_OTLP_ENDPOINT": "http://otel:4318"})
    tracer = traces.tracer(settings)
    assert tracer.exporter is not None
    tracer.exporter.exported, tracer.exporter.dropped = 7, 3
    tracer.end(tracer.start("invoke", SpanKind.SERVER, None))
    registry = CollectorRegistry()
    traces.register_metrics(registry, tracer)
    text = generate_latest(registry).decode()
    assert "kappa_gateway_spans_exported_total 7.0" in text
    assert "kappa_gateway_spans_dropped_total 3.0" in text
    assert "kappa_gateway_spans_queued 1.0" in text
