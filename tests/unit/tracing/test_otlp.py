import json
import re

import pytest

from kappa.tracing.endpoint import Endpoint, parse_endpoint
from kappa.tracing.otlp import encode
from kappa.tracing.span import Span, SpanKind

TRACE = "5f3c2a1b0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        pytest.param(
            "http://otel:4318", Endpoint("http", "otel", 4318, "/v1/traces"), id="host-port"
        ),
        pytest.param(
            "http://otel", Endpoint("http", "otel", 80, "/v1/traces"), id="http-default-port"
        ),
        pytest.param(
            "https://otel", Endpoint("https", "otel", 443, "/v1/traces"), id="https-default-port"
        ),
        pytest.param("http://otel:4318/", Endpoint("http", "otel", 4318, "/v1/traces"), id="slash"),
        pytest.param(
            "http://otel/base/", Endpoint("http", "otel", 80, "/base/v1/traces"), id="base-path"
        ),
        pytest.param("http://[::1]:4318", Endpoint("http", "::1", 4318, "/v1/traces"), id="ipv6"),
        pytest.param("http://[::1]", Endpoint("http", "::1", 80, "/v1/traces"), id="ipv6-no-port"),
    ],
)
def test_endpoints(url: str, endpoint: Endpoint) -> None:
    assert parse_endpoint(url) == endpoint
    assert endpoint.tls is (endpoint.scheme == "https")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("otel:4318", "is not an http:// or https:// URL", id="no-scheme"),
        pytest.param("ftp://otel", "is not an http:// or https:// URL", id="other-scheme"),
        pytest.param(
            "http://user:pw@otel",
            "must not hold credentials, a query or a fragment",
            id="must not hold credentials, a query or a fragment",
        ),
        pytest.param(
            "http://otel/?a=1",
            "must not hold credentials, a query or a fragment",
            id="must not hold credentials, a query or a fragment",
        ),
        pytest.param(
            "http://otel/#x",
            "must not hold credentials, a query or a fragment",
            id="must not hold credentials, a query or a fragment",
        ),
        pytest.param("http://", "names no host", id="no-host"),
        pytest.param("http://:4318", "names no host", id="port-only"),
        pytest.param("http://ot el", "names no host", id="space"),
        pytest.param("http://otel:0", "has a port that is not 1-65535", id="port-0"),
        pytest.param("http://otel:65536", "has a port that is not 1-65535", id="port-too-big"),
        pytest.param("http://otel:x", "has a port that is not 1-65535", id="port-not-a-number"),
        pytest.param("http://otel:", "has a port that is not 1-65535", id="empty-port"),
        pytest.param("http://[::1", "has a malformed IPv6 address", id="open-bracket"),
        pytest.param("http://[::1]x", "has a malformed IPv6 address", id="junk-after-bracket"),
        pytest.param("http://[::1]]", "has a malformed IPv6 address", id="two-closing-brackets"),
        pytest.param("http://" + "a" * 2050, "is longer than 2048 characters", id="too-long"),
    ],
)
def test_bad_endpoints(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_endpoint(url)


def test_length_bound() -> None:
    longest = "http://" + "a" * (2048 - len("http://"))
    assert parse_endpoint(longest).host == "a" * 2041
    with pytest.raises(ValueError, match="longer than 2048"):
        parse_endpoint(longest + "a")


def test_only_the_first_scheme_separator_and_trailing_slashes_count() -> None:
    assert parse_endpoint("http://otel/a://b").path == "/a://b/v1/traces"
    assert parse_endpoint("http://otel/BOX").path == "/BOX/v1/traces"


def test_port_bounds() -> None:
    assert parse_endpoint("http://otel:1").port == 1
    assert parse_endpoint("http://otel:65535").port == 65535


def test_encode_follows_the_otlp_json_mapping() -> None:
    root = Span(
        "invoke", TRACE, "00f067aa0ba902b7", None, SpanKind.SERVER, 10, sampled=True, end_ns=25
    )
    root.set("faas.invoked_name", "hello")
    root.set("faas.coldstart", True)  # noqa: FBT003 - an attribute's value
    root.set("kappa.attempt", 2)
    root.set("kappa.init_ms", 1.5)
    root.set("left.out", None)
    child = Span(
        "invoke",
        TRACE,
        "1111111111111111",
        "00f067aa0ba902b7",
        SpanKind.CLIENT,
        11,
        sampled=True,
        end_ns=20,
        error="boom",
    )
    raw = encode({"service.name": "kappa-gateway"}, [root, child])
    assert b", " not in raw  # compact: no space after separators
    assert b": " not in raw
    body = json.loads(raw)
    (resource_spans,) = body["resourceSpans"]
    assert resource_spans["resource"] == {
        "attributes": [{"key": "service.name", "value": {"stringValue": "kappa-gateway"}}]
    }
    (scope_spans,) = resource_spans["scopeSpans"]
    assert scope_spans["scope"] == {"name": "kappa"}
    first, second = scope_spans["spans"]
    assert first == {
        "traceId": TRACE,
        "spanId": "00f067aa0ba902b7",
        "name": "invoke",
        "kind": 2,
        "startTimeUnixNano": "10",
        "endTimeUnixNano": "25",
        "attributes": [
            {"key": "faas.invoked_name", "value": {"stringValue": "hello"}},
            {"key": "faas.coldstart", "value": {"boolValue": True}},
            {"key": "kappa.attempt", "value": {"intValue": "2"}},
            {"key": "kappa.init_ms", "value": {"doubleValue": 1.5}},
        ],
    }
    assert second["parentSpanId"] == "00f067aa0ba902b7"
    assert second["kind"] == 3
    assert second["status"] == {"code": 2, "message": "boom"}
