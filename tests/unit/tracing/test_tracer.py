from collections.abc import Iterator

from kappa.tracing.context import TraceContext, parse_traceparent, parse_xray
from kappa.tracing.endpoint import parse_endpoint
from kappa.tracing.exporter import Exporter
from kappa.tracing.span import SpanKind
from kappa.tracing.tracer import Tracer, headers

TRACE = "5f3c2a1b0123456789abcdef01234567"
PARENT = "00f067aa0ba902b7"
NOW_NS = 0x5F3C2A1B * 1_000_000_000 + 123


def counting_random() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


def tracer(*, exporter: Exporter | None, ratio: float = 1.0) -> Tracer:
    counter = counting_random()
    clock = iter(range(NOW_NS, NOW_NS + 1000, 10))
    return Tracer(
        exporter,
        ratio=ratio,
        random=lambda n: bytes([next(counter)]) * n,
        clock_ns=lambda: next(clock),
    )


def an_exporter() -> Exporter:
    return Exporter(parse_endpoint("http://collector:4318"), {"service.name": "test"})


def test_a_new_trace_starts_when_the_caller_names_none() -> None:
    span = tracer(exporter=an_exporter()).start("invoke", SpanKind.SERVER, None)
    assert span.trace_id == "5f3c2a1b" + "01" * 12  # the time, then the random source
    assert span.span_id == "02" * 8
    assert span.parent_span_id is None
    assert span.start_ns == NOW_NS
    assert span.sampled is True  # ratio 1


def test_a_callers_trace_is_continued_with_its_decision() -> None:
    t = tracer(exporter=an_exporter(), ratio=1.0)
    span = t.start("invoke", SpanKind.SERVER, TraceContext(TRACE, PARENT, sampled=False))
    assert (span.trace_id, span.parent_span_id, span.sampled) == (TRACE, PARENT, False)
    undecided = t.start("invoke", SpanKind.SERVER, TraceContext(TRACE))
    assert (undecided.parent_span_id, undecided.sampled) == (None, True)


def test_sampled_spans_are_exported_when_they_end() -> None:
    exporter = an_exporter()
    t = tracer(exporter=exporter)
    span = t.start("invoke", SpanKind.SERVER, None)
    t.end(span)
    assert span.end_ns == NOW_NS + 10
    assert exporter.queued == 1
    unsampled = t.start("invoke", SpanKind.SERVER, TraceContext(TRACE, PARENT, sampled=False))
    t.end(unsampled)
    assert exporter.queued == 1


def test_without_an_exporter_only_the_callers_decision_samples() -> None:
    t = tracer(exporter=None, ratio=1.0)
    assert t.start("invoke", SpanKind.SERVER, None).sampled is False
    passed_on = t.start("invoke", SpanKind.SERVER, TraceContext(TRACE, PARENT, sampled=True))
    assert passed_on.sampled is True
    t.end(passed_on)  # nothing to export to: no error
    assert passed_on.end_ns == NOW_NS + 20


def test_a_ratio_of_zero_records_nothing_new() -> None:
    exporter = an_exporter()
    t = tracer(exporter=exporter, ratio=0.0)
    span = t.start("invoke", SpanKind.SERVER, None)
    t.end(span)
    assert span.sampled is False
    assert exporter.queued == 0


def test_headers_name_one_trace_in_both_spellings() -> None:
    span = tracer(exporter=None).start(
        "invoke", SpanKind.CLIENT, TraceContext(TRACE, PARENT, sampled=True, tracestate="a=1")
    )
    sent = headers(span)
    w3c = parse_traceparent(sent["traceparent"], sent["tracestate"])
    xray = parse_xray(sent["X-Amzn-Trace-Id"])
    assert w3c == TraceContext(TRACE, span.span_id, sampled=True, tracestate="a=1")
    assert xray == TraceContext(TRACE, span.span_id, sampled=True)
    fresh = tracer(exporter=None).start("invoke", SpanKind.CLIENT, None)
    assert "tracestate" not in headers(fresh)
