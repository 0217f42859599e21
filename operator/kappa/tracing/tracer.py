"""A process's tracer: starts spans in the caller's trace (or a new one) and ends them.

Always on, cheaply: every call gets a trace id, generated when the caller sent none, so
the runtime's ``_X_AMZN_TRACE_ID`` always names one (as Lambda's). Spans are exported
only when the process has an exporter (an OTLP endpoint set) and the trace is sampled;
without an exporter only a caller's own decision (``Sampled=1``) marks a trace sampled,
and it is passed on for the handler's SDK to honour.
"""

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kappa.tracing import context, sampling
from kappa.tracing.context import Random, TraceContext
from kappa.tracing.span import Span, SpanKind

if TYPE_CHECKING:  # a process with tracing off never imports the exporter
    from kappa.tracing.exporter import Exporter

_NS: int = 1_000_000_000


class Tracer:
    """Starts and ends the spans of one process."""

    def __init__(
        self,
        exporter: "Exporter | None",
        *,
        ratio: float = 1.0,
        random: Random = os.urandom,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.exporter = exporter
        # No exporter, nothing recorded: only a caller's decision samples a trace.
        self._ratio = ratio if exporter is not None else 0.0
        self._random = random
        self._clock_ns = clock_ns

    def start(self, name: str, kind: SpanKind, parent: TraceContext | None) -> Span:
        """A span begun now: a child of ``parent``, or the root of a new trace."""
        now = self._clock_ns()
        if parent is None:
            trace_id, parent_span, decided = (
                context.new_trace_id(now // _NS, self._random),
                None,
                None,
            )
        else:
            trace_id, parent_span, decided = parent.trace_id, parent.span_id, parent.sampled
        return Span(
            name=name,
            trace_id=trace_id,
            span_id=context.new_span_id(self._random),
            parent_span_id=parent_span,
            kind=kind,
            start_ns=now,
            sampled=sampling.sampled(trace_id, self._ratio, parent=decided),
            tracestate="" if parent is None else parent.tracestate,
        )

    def end(self, span: Span) -> None:
        """End ``span`` now; queue it for export when it is sampled and there is an exporter."""
        span.end_ns = self._clock_ns()
        if span.sampled and self.exporter is not None:
            self.exporter.add(span)


def headers(span: Span) -> dict[str, str]:
    """The trace headers of a call made inside ``span``: W3C and X-Ray, one trace id."""
    result = {
        "traceparent": context.format_traceparent(
            span.trace_id, span.span_id, sampled=span.sampled
        ),
        "X-Amzn-Trace-Id": context.format_xray(span.trace_id, span.span_id, sampled=span.sampled),
    }
    if span.tracestate:
        result["tracestate"] = span.tracestate
    return result
