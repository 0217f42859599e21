import base64
import json
from typing import Any

import pytest

from kappa.gateway.events import HttpRequest, HttpResponse, http_event, http_response, is_text

NOW_MS = 1_583_348_638_390  # 04/Mar/2020:19:03:58 +0000


def request(**overrides: Any) -> HttpRequest:
    values: dict[str, Any] = {
        "method": "GET",
        "path": "/",
        "raw_query": "",
        "headers": [("Host", "gw.example.com:8000"), ("User-Agent", "curl/8")],
        "body": b"",
        "source_ip": "10.0.0.7",
        "protocol": "HTTP/1.1",
        "request_id": "req-1",
        "time_epoch_ms": NOW_MS,
        "namespace": "team-a",
        "api_id": "web",
    }
    values.update(overrides)
    return HttpRequest(**values)


def test_minimal_event_shape() -> None:
    assert http_event(request()) == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {"host": "gw.example.com:8000", "user-agent": "curl/8"},
        "requestContext": {
            "accountId": "team-a",
            "apiId": "web",
            "domainName": "gw.example.com",
            "domainPrefix": "gw",
            "http": {
                "method": "GET",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "10.0.0.7",
                "userAgent": "curl/8",
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Mar/2020:19:03:58 +0000",
            "timeEpoch": NOW_MS,
        },
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("headers", "expected_headers", "expected_cookies"),
    [
        pytest.param([("X-A", "1"), ("x-a", "2")], {"x-a": "1,2"}, None, id="repeated-joined"),
        pytest.param([("Cookie", "a=1; b=2")], {}, ["a=1", "b=2"], id="cookies-out"),
        pytest.param([("Cookie", "a=1"), ("cookie", "b=2;")], {}, ["a=1", "b=2"],
                     id="two-cookie-headers"),
        pytest.param([("CONTENT-TYPE", "text/plain")], {"content-type": "text/plain"}, None,
                     id="lower-cased"),
    ],
)  # fmt: skip
def test_headers_and_cookies(
    headers: list[tuple[str, str]],
    expected_headers: dict[str, str],
    expected_cookies: list[str] | None,
) -> None:
    event = http_event(request(headers=headers))
    assert event["headers"] == expected_headers
    assert event.get("cookies") == expected_cookies


@pytest.mark.parametrize(
    ("raw_query", "expected"),
    [
        pytest.param("a=1", {"a": "1"}, id="one"),
        pytest.param("a=1&a=2&b=", {"a": "1,2", "b": ""}, id="repeated-and-blank"),
        pytest.param("q=hello%20world&x=%2F", {"q": "hello world", "x": "/"}, id="decoded"),
        pytest.param("", None, id="none"),
    ],
)
def test_query_string_parameters(raw_query: str, expected: dict[str, str] | None) -> None:
    event = http_event(request(raw_query=raw_query))
    assert event["rawQueryString"] == raw_query
    assert event.get("queryStringParameters") == expected


@pytest.mark.parametrize(
    ("content_type", "body", "expected_body", "encoded"),
    [
        pytest.param("application/json", b'{"a":1}', '{"a":1}', False, id="json"),
        pytest.param("text/plain; charset=utf-8", "héllo".encode(), "héllo", False, id="text"),
        pytest.param("application/vnd.api+json", b"{}", "{}", False, id="plus-json"),
        pytest.param("application/x-www-form-urlencoded", b"a=1", "a=1", False, id="form"),
        pytest.param("application/octet-stream", b"\x00\xff", "AP8=", True, id="binary"),
        pytest.param("image/png", b"PNG", "UE5H", True, id="image"),
        pytest.param(None, b"abc", "YWJj", True, id="no-content-type"),
        pytest.param("text/plain", b"\xff\xfe", "//4=", True, id="text-not-utf8"),
    ],
)
def test_bodies(content_type: str | None, body: bytes, expected_body: str, encoded: bool) -> None:  # noqa: FBT001
    headers = [] if content_type is None else [("Content-Type", content_type)]
    event = http_event(request(method="POST", headers=headers, body=body))
    assert event["body"] == expected_body
    assert event["isBase64Encoded"] is encoded


def test_is_text() -> None:
    assert is_text("application/xml")
    assert not is_text("")
    assert not is_text("multipart/form-data; boundary=x")


JSON = ("Content-Type", "application/json")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param({"statusCode": 201, "body": "made"},
                     HttpResponse(201, [JSON], b"made"), id="status-and-body"),
        pytest.param({"statusCode": "204"}, HttpResponse(204, [JSON], b""), id="string-status"),
        pytest.param({"statusCode": 200, "headers": {"content-type": "text/html", "x-n": 3},
                      "body": "<p>"},
                     HttpResponse(200, [("content-type", "text/html"), ("x-n", "3")], b"<p>"),
                     id="headers"),
        pytest.param({"statusCode": 200, "cookies": ["a=1", "b=2; Secure"]},
                     HttpResponse(200, [JSON, ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2; Secure")],
                                  b""), id="cookies"),
        pytest.param({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
                      "isBase64Encoded": True},
                     HttpResponse(200, [JSON], b"\x00\x01"), id="base64"),
        pytest.param({"statusCode": 200, "body": {"a": 1}},
                     HttpResponse(200, [JSON], b'{"a": 1}'), id="object-body"),
        pytest.param({"hello": "world"},
                     HttpResponse(200, [JSON], b'{"hello": "world"}'), id="dict-without-status"),
        pytest.param([1, 2], HttpResponse(200, [JSON], b"[1, 2]"), id="list"),
        pytest.param("hi", HttpResponse(200, [JSON], b'"hi"'), id="string"),
        pytest.param(None, HttpResponse(200, [JSON], b"null"), id="null"),
    ],
)  # fmt: skip
def test_response_mapping(result: object, expected: HttpResponse) -> None:
    answer = http_response(json.dumps(result).encode(), function_error=False)
    assert answer.status == expected.status
    assert list(answer.headers) == list(expected.headers)
    assert answer.body == expected.body


@pytest.mark.parametrize(
    "result",
    [
        pytest.param(b'{"statusCode": "abc"}', id="status-not-a-number"),
        pytest.param(b'{"statusCode": 42}', id="status-out-of-range"),
        pytest.param(b'{"statusCode": true}', id="status-boolean"),
        pytest.param(b'{"statusCode": 200, "headers": ["a"]}', id="headers-not-object"),
        pytest.param(b'{"statusCode": 200, "headers": {"a": {}}}', id="header-value-object"),
        pytest.param(b'{"statusCode": 200, "cookies": "a=1"}', id="cookies-not-list"),
        pytest.param(b'{"statusCode": 200, "body": "%%", "isBase64Encoded": true}', id="bad-b64"),
        pytest.param(b"not json", id="not-json"),
    ],
)
def test_malformed_results_are_502(result: bytes) -> None:
    answer = http_response(result, function_error=False)
    assert answer.status == 502
    assert json.loads(answer.body) == {"message": "Internal Server Error"}


def test_a_function_error_is_502() -> None:
    answer = http_response(b'{"errorType": "ValueError"}', function_error=True)
    assert answer.status == 502
    assert json.loads(answer.body) == {"message": "Internal Server Error"}
