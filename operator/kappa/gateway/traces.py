"""The gateway's tracing: its tracer, the caller's trace context, the span's attributes.

Every invocation is a server span ``invoke`` in the caller's trace (``traceparent``,
else ``X-Amzn-Trace-Id``), or the root of a new one; the agent gets both headers naming
this span as its parent, and an event carries the X-Ray one through the queue. Spans go
to the collector only when ``KAPPA_TRACING_OTLP_ENDPOINT`` is set (docs/tracing.md).
"""

import socket
from collections.abc import Iterator, Mapping
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from kappa.gateway.settings import GatewaySettings
from kappa.tracing import context
from kappa.tracing.context import TraceContext
from kappa.tracing.exporter import Exporter
from kappa.tracing.span import Span, SpanKind
from kappa.tracing.tracer import Tracer

SERVICE_NAME: Final = "kappa-gateway"
# What a caller's trace headers may be called; the gateway sends its own in their place.
TRACE_HEADERS: Final = frozenset({"traceparent", "tracestate", "x-amzn-trace-id"})


def tracer(settings: GatewaySettings) -> Tracer:
    """The gateway's tracer: exporting to the configured collector, if any."""
    exporter = None
    if settings.tracing_endpoint is not None:
        resource = {
            "service.name": SERVICE_NAME,
            "service.namespace": "kappa",
            "service.instance.id": socket.gethostname(),
            "cloud.region": settings.region,
        }
        exporter = Exporter(settings.tracing_endpoint, resource)
    return Tracer(exporter, ratio=settings.tracing_sample_ratio)


def caller(headers: Mapping[str, str]) -> TraceContext | None:
    """The trace the caller's headers name; None (a new trace) for none or malformed ones."""
    return context.incoming(
        headers.get("traceparent"), headers.get("tracestate"), headers.get("X-Amzn-Trace-Id")
    )


def invoke_span(tracer: Tracer, headers: Mapping[str, str], surface: str, request_id: str) -> Span:
    """The server span of one invocation, begun now."""
    span = tracer.start("invoke", SpanKind.SERVER, caller(headers))
    span.set("faas.invocation_id", request_id)
    span.set("kappa.surface", surface)
    return span


class SpanCounts(Collector):
    """``kappa_gateway_spans_*``: what the exporter sent, dropped and holds, read at scrape."""

    def __init__(self, exporter: Exporter) -> None:
        self._exporter = exporter

    def collect(self) -> Iterator[Metric]:
        """The exporter's counts now."""
        exporter = self._exporter
        exported = CounterMetricFamily(
            "kappa_gateway_spans_exported", "Spans the trace collector accepted."
        )
        exported.add_metric([], exporter.exported)
        dropped = CounterMetricFamily(
            "kappa_gateway_spans_dropped",
            "Spans lost: the export queue was full, or the collector failed or was slow.",
        )
        dropped.add_metric([], exporter.dropped)
        queued = GaugeMetricFamily("kappa_gateway_spans_queued", "Spans waiting for export.")
        queued.add_metric([], exporter.queued)
        yield from (exported, dropped, queued)


def register_metrics(registry: CollectorRegistry, tracer: Tracer) -> None:
    """Expose the exporter's counts, when there is one."""
    if tracer.exporter is not None:
        registry.register(SpanCounts(tracer.exporter))
