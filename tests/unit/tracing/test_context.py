import pytest

from kappa.tracing import context
from kappa.tracing.context import TraceContext

TRACE = "5f3c2a1b0123456789abcdef01234567"
SPAN = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        pytest.param(
            f"00-{TRACE}-{SPAN}-01", TraceContext(TRACE, SPAN, sampled=True), id="sampled"
        ),
        pytest.param(
            f"00-{TRACE}-{SPAN}-00", TraceContext(TRACE, SPAN, sampled=False), id="not-sampled"
        ),
        pytest.param(
            f"00-{TRACE}-{SPAN}-03", TraceContext(TRACE, SPAN, sampled=True), id="other-flags"
        ),
        pytest.param(
            f"00-{TRACE}-{SPAN}-02", TraceContext(TRACE, SPAN, sampled=False), id="flag-2-only"
        ),
        pytest.param(
            f" 00-{TRACE}-{SPAN}-01 ", TraceContext(TRACE, SPAN, sampled=True), id="spaces"
        ),
        pytest.param(
            f"01-{TRACE}-{SPAN}-01-future", TraceContext(TRACE, SPAN, sampled=True), id="v1-more"
        ),
        pytest.param(f"00-{TRACE}-{SPAN}-01-more", None, id="v0-with-more-fields"),
        pytest.param(f"ff-{TRACE}-{SPAN}-01", None, id="version-ff"),
        pytest.param(f"00-{'0' * 32}-{SPAN}-01", None, id="zero-trace"),
        pytest.param(f"00-{TRACE}-{'0' * 16}-01", None, id="zero-span"),
        pytest.param(f"00-{TRACE.upper()}-{SPAN}-01", None, id="upper-case"),
        pytest.param(f"00-{TRACE[:-1]}-{SPAN}-01", None, id="short-trace"),
        pytest.param(f"00-{TRACE}-{SPAN}x-01", None, id="long-span"),
        pytest.param(f"0-{TRACE}-{SPAN}-01", None, id="short-version"),
        pytest.param(f"00-{TRACE}-{SPAN}-1", None, id="short-flags"),
        pytest.param("garbage", None, id="garbage"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
        pytest.param(f"01-{TRACE}-{SPAN}-01-" + "x" * 250, None, id="too-long"),
        pytest.param(f"00-{TRACE}-{SPAN}-\u0661\u0661", None, id="non-ascii-digits"),
    ],
)
def test_traceparent(header: str | None, parsed: TraceContext | None) -> None:
    assert context.parse_traceparent(header) == parsed


def test_flags_are_hex() -> None:
    assert context.parse_traceparent(f"00-{TRACE}-{SPAN}-1a") == TraceContext(
        TRACE, SPAN, sampled=False
    )
    assert context.parse_traceparent(f"00-{TRACE}-{SPAN}-ff") == TraceContext(
        TRACE, SPAN, sampled=True
    )


def test_a_traceparent_at_the_length_bound_is_read() -> None:
    header = f"01-{TRACE}-{SPAN}-01-"
    header += "x" * (context.MAX_TRACEPARENT - len(header))
    assert context.parse_traceparent(header) == TraceContext(TRACE, SPAN, sampled=True)
    assert context.parse_traceparent(header + "x") is None


def test_tracestate_rides_with_a_valid_traceparent() -> None:
    parsed = context.parse_traceparent(f"00-{TRACE}-{SPAN}-01", "congo=t61rcWkgMzE, rojo=00f067")
    assert parsed == TraceContext(
        TRACE, SPAN, sampled=True, tracestate="congo=t61rcWkgMzE,rojo=00f067"
    )


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        pytest.param("a=1", "a=1", id="one"),
        pytest.param("a=1,,b=2, ", "a=1,b=2", id="empty-members-dropped"),
        pytest.param("tenant@vendor=x", "tenant@vendor=x", id="multi-tenant-key"),
        pytest.param("A=1", "", id="upper-case-key"),
        pytest.param("a=1,b", "", id="member-without-value"),
        pytest.param("a=1=2", "", id="equals-in-value"),
        pytest.param(
            ",".join(f"k{i}=v" for i in range(32)),
            ",".join(f"k{i}=v" for i in range(32)),
            id="32-members",
        ),
        pytest.param(",".join(f"k{i}=v" for i in range(33)), "", id="33-members"),
        pytest.param("a=" + "x" * 511, "", id="too-long"),
        pytest.param("a=" + "x" * 254, "a=" + "x" * 254, id="long-but-bounded"),
        pytest.param("", "", id="empty"),
        pytest.param(None, "", id="absent"),
    ],
)
def test_tracestate(header: str | None, kept: str) -> None:
    assert context.parse_tracestate(header) == kept


def test_tracestate_length_bound() -> None:
    at_bound = "a=" + "x" * 254 + ",b=" + "y" * (context.MAX_TRACESTATE - 259)
    assert len(at_bound) == context.MAX_TRACESTATE
    assert context.parse_tracestate(at_bound) == at_bound
    assert context.parse_tracestate(at_bound + "y") == ""


def test_format_traceparent() -> None:
    assert context.format_traceparent(TRACE, SPAN, sampled=True) == f"00-{TRACE}-{SPAN}-01"
    assert context.format_traceparent(TRACE, SPAN, sampled=False) == f"00-{TRACE}-{SPAN}-00"


ROOT = "Root=1-5f3c2a1b-0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        pytest.param(
            f"{ROOT};Parent={SPAN};Sampled=1", TraceContext(TRACE, SPAN, sampled=True), id="all"
        ),
        pytest.param(
            f"{ROOT};Parent={SPAN};Sampled=0",
            TraceContext(TRACE, SPAN, sampled=False),
            id="not-sampled",
        ),
        pytest.param(
            f"{ROOT};Parent={SPAN};Sampled=?",
            TraceContext(TRACE, SPAN, sampled=None),
            id="undecided",
        ),
        pytest.param(ROOT, TraceContext(TRACE), id="root-alone"),
        pytest.param(
            f"Sampled=1; Parent={SPAN} ;{ROOT}",
            TraceContext(TRACE, SPAN, sampled=True),
            id="any-order",
        ),
        pytest.param(
            f"{ROOT};Parent={SPAN};Sampled=1;Lineage=a87bd80c:0",
            TraceContext(TRACE, SPAN, sampled=True),
            id="lineage",
        ),
        pytest.param(
            f"{ROOT};junk;Sampled=1",
            TraceContext(TRACE, None, sampled=True),
            id="field-without-equals",
        ),
        pytest.param(f"{ROOT};{ROOT}", None, id="two-roots"),
        pytest.param(f"Parent={SPAN};Sampled=1", None, id="no-root"),
        pytest.param("Root=2-5f3c2a1b-0123456789abcdef01234567", None, id="root-version-2"),
        pytest.param("Root=1-5f3c2a1b-0123456789abcdef0123456", None, id="short-root"),
        pytest.param("Root=1-00000000-000000000000000000000000", None, id="zero-root"),
        pytest.param(f"{ROOT};Parent=00f067aa0ba902b", None, id="short-parent"),
        pytest.param(f"{ROOT};Parent={'0' * 16}", None, id="zero-parent"),
        pytest.param(f"{ROOT};Parent={SPAN.upper()}", None, id="upper-parent"),
        pytest.param(f"{ROOT};Parent=={SPAN}", None, id="parent-with-two-equals"),
        pytest.param(f"{ROOT};Parent={SPAN};Sampled=" + "1" * 200, None, id="too-long"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_xray(header: str | None, parsed: TraceContext | None) -> None:
    assert context.parse_xray(header) == parsed


def test_an_xray_header_at_the_length_bound_is_read() -> None:
    header = f"{ROOT};Parent={SPAN};Sampled=1;Lineage="
    header += "x" * (context.MAX_XRAY - len(header))
    assert context.parse_xray(header) == TraceContext(TRACE, SPAN, sampled=True)
    assert context.parse_xray(header + "x") is None


def test_format_xray_names_the_same_trace_as_w3c() -> None:
    header = context.format_xray(TRACE, SPAN, sampled=True)
    assert header == f"{ROOT};Parent={SPAN};Sampled=1"
    assert context.format_xray(TRACE, SPAN, sampled=False).endswith(";Sampled=0")
    assert context.parse_xray(header) == context.parse_traceparent(
        context.format_traceparent(TRACE, SPAN, sampled=True)
    )


def test_incoming_keeps_the_tracestate() -> None:
    assert context.incoming(f"00-{TRACE}-{SPAN}-01", "a=1", None) == TraceContext(
        TRACE, SPAN, sampled=True, tracestate="a=1"
    )


@pytest.mark.parametrize(
    ("traceparent", "xray", "expected"),
    [
        pytest.param(
            f"00-{TRACE}-{SPAN}-01",
            "Root=1-11111111-111111111111111111111111",
            TraceContext(TRACE, SPAN, sampled=True),
            id="w3c-wins",
        ),
        pytest.param(
            "bad",
            f"{ROOT};Parent={SPAN};Sampled=0",
            TraceContext(TRACE, SPAN, sampled=False),
            id="xray-when-w3c-is-bad",
        ),
        pytest.param(None, None, None, id="neither"),
        pytest.param("bad", "bad", None, id="both-bad"),
    ],
)
def test_incoming(traceparent: str | None, xray: str | None, expected: TraceContext | None) -> None:
    assert context.incoming(traceparent, None, xray) == expected


def test_new_ids_use_the_random_source_and_the_time() -> None:
    randoms = iter([bytes(range(1, 13)), bytes(range(8, 16))])
    trace = context.new_trace_id(0x5F3C2A1B, lambda n: next(randoms)[:n])
    assert trace == "5f3c2a1b" + bytes(range(1, 13)).hex()
    assert context.new_span_id(lambda n: next(randoms)[:n]) == bytes(range(8, 16)).hex()


def test_the_time_is_kept_to_32_bits() -> None:
    assert context.new_trace_id((1 << 32) + 5, bytes)[:8] == "00000005"


def test_new_ids_are_never_all_zero() -> None:
    assert context.new_trace_id(0, bytes) == "0" * 31 + "1"
    assert context.new_trace_id(1, bytes) == "00000001" + "0" * 24
    assert context.new_span_id(bytes) == "0" * 15 + "1"
    assert (
        context.parse_traceparent(
            context.format_traceparent(
                context.new_trace_id(0, bytes), context.new_span_id(bytes), sampled=True
            )
        )
        is not None
    )
