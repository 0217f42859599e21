"""The HTTP trigger (`/fn/<namespace>/<name>/...`): payload 2.0 events in, function URL rules out."""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import Gateway, function_entry


@pytest.fixture
def http_gateway(start_agent: StartFunctionAgent, start_gateway: StartGateway) -> Gateway:
    agent = start_agent("fns.http", name="web", namespace="team-a")
    return start_gateway([function_entry("web", [agent], namespace="team-a")])


def fetch(
    gateway: Gateway,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(
        gateway.url + path, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def event_of(gateway: Gateway, path: str, **kwargs: Any) -> dict[str, Any]:
    status, headers, body = fetch(gateway, path, **kwargs)
    assert status == 200, body
    assert headers["x-echo"] == "1"
    event = json.loads(body)
    assert isinstance(event, dict)
    return event


def test_json_body_query_and_headers(http_gateway: Gateway) -> None:
    event = event_of(
        http_gateway,
        "/fn/team-a/web/items/42?x=1&x=2&y=",
        method="POST",
        body=b'{"a": 1}',
        headers={"Content-Type": "application/json", "X-Custom": "v"},
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["headers"]["x-custom"] == "v"
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "team-a"
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/items/42"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "$default"
    assert context["requestId"]


def test_binary_body_is_base64(http_gateway: Gateway) -> None:
    event = event_of(
        http_gateway,
        "/fn/team-a/web/upload",
        method="PUT",
        body=b"\x00\x01\xfe\xff",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01\xfe\xff"


def test_cookies_leave_the_headers(http_gateway: Gateway) -> None:
    event = event_of(http_gateway, "/fn/team-a/web", headers={"Cookie": "a=1; b=2"})
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["rawPath"] == "/"
    assert "body" not in event


def test_status_headers_cookies_and_base64_body_are_mapped(http_gateway: Gateway) -> None:
    status, headers, body = fetch(http_gateway, "/fn/team-a/web/x?shape=binary")
    assert status == 201
    assert headers["content-type"] == "image/png"
    assert headers["x-custom"] == "yes"
    assert headers.get_all("set-cookie") == ["a=1; Path=/", "b=2"]
    assert body == b"\x89PNG\x00\xff"


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        pytest.param("plain", ["a", 1, None], id="list"),
        pytest.param("dict", {"hello": "world"}, id="object-without-statusCode"),
    ],
)
def test_a_plain_value_is_200_json(http_gateway: Gateway, shape: str, expected: object) -> None:
    status, headers, body = fetch(http_gateway, f"/fn/team-a/web?shape={shape}")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == expected


def test_a_function_error_is_502(http_gateway: Gateway) -> None:
    status, _, body = fetch(http_gateway, "/fn/team-a/web?shape=fail")
    assert status == 502
    assert json.loads(body) == {"message": "Internal Server Error"}


def test_an_unknown_function_is_404(http_gateway: Gateway) -> None:
    status, _, body = fetch(http_gateway, "/fn/team-a/nope/x")
    assert status == 404
    assert json.loads(body) == {"message": "Not Found"}


def test_the_function_never_sets_the_framing_of_the_answer(http_gateway: Gateway) -> None:
    """Transfer-Encoding, Content-Length and Connection from the function are dropped: the
    body goes out with exactly one correct length, on a connection that stays usable."""
    connection = http.client.HTTPConnection("127.0.0.1", int(http_gateway.url.rsplit(":", 1)[1]),
                                            timeout=30)  # fmt: skip
    try:
        connection.request("GET", "/fn/team-a/web/x?shape=framing")
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200
        assert body == b"0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nowned"
        assert response.getheader("Content-Length") == str(len(body))
        assert response.getheader("Transfer-Encoding") is None
        assert response.getheader("x-kept") == "yes"
        # The same connection answers the next request: nothing was left in it.
        connection.request("GET", "/fn/team-a/web/x?shape=dict")
        again = connection.getresponse()
        assert (again.status, json.loads(again.read())) == (200, {"hello": "world"})
    finally:
        connection.close()


def test_a_header_value_with_a_line_break_is_a_502_and_nothing_is_injected(
    http_gateway: Gateway,
) -> None:
    status, headers, body = fetch(http_gateway, "/fn/team-a/web/x?shape=crlf")
    assert (status, json.loads(body)) == (502, {"message": "Internal Server Error"})
    assert headers.get("Set-Cookie") is None
    assert fetch(http_gateway, "/fn/team-a/web/x?shape=dict")[0] == 200
