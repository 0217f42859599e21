"""The HTTP trigger's shapes: API Gateway HTTP API payload 2.0 in, Lambda function URL rules out.

Request → event (``http_event``)::

    version "2.0", routeKey "$default", rawPath (the path below /fn/<ns>/<name>),
    rawQueryString, cookies (from Cookie; the header itself is left out),
    headers (lower-cased, repeated ones comma-joined), queryStringParameters
    (repeated ones comma-joined; absent without a query), requestContext,
    body (absent when empty; base64 with isBase64Encoded for non-text types).

Function result → HTTP response (``http_response``), as function URLs do::

    function error                              → 502 {"message": "Internal Server Error"}
    JSON object with "statusCode"               → that status, headers, cookies (Set-Cookie),
                                                  body (base64-decoded if isBase64Encoded)
    any other JSON value (object without         → 200 application/json, the result as is
    statusCode, list, string, number, null)
    a malformed object with statusCode          → 502 {"message": "Internal Server Error"}
    (a header name that is not an HTTP token, a value with CR, LF or another control
    character, more than 100 headers or cookies: malformed)

The function never sets the framing of the answer: ``Content-Length``,
``Transfer-Encoding`` and the other hop-by-hop headers it returns are dropped, and the
gateway writes exactly one length for the body it sends (so no body can smuggle a
second response or desynchronise the connection).
"""

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

_TEXT_TYPES: Final = (
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/graphql",
    "application/yaml",
)
INTERNAL_SERVER_ERROR: Final = b'{"message":"Internal Server Error"}'
_MAX_HEADERS: Final = 100
_MAX_HEADER_VALUE: Final = 8192
# RFC 9110 token characters: what a header name may hold.
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_FORBIDDEN_IN_VALUE: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
FRAMING_HEADERS: Final = frozenset({
    "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection",
    "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization",
})  # fmt: skip
_MIN_STATUS: Final = 100
_MAX_STATUS: Final = 599


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What the HTTP trigger received, as plain values (the shell reads them off aiohttp)."""

    method: str
    path: str  # below /fn/<namespace>/<name>, starting with "/"
    raw_query: str
    headers: Sequence[tuple[str, str]]  # as received, repeated names repeated
    body: bytes
    source_ip: str
    protocol: str  # "HTTP/1.1"
    request_id: str
    time_epoch_ms: int
    namespace: str
    api_id: str


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """What the HTTP trigger answers."""

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes


def is_text(content_type: str | None) -> bool:
    """Whether a body of ``content_type`` goes into the event as text rather than base64."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))


def http_event(request: HttpRequest) -> dict[str, Any]:
    """The payload 2.0 event for ``request``."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    when = datetime.fromtimestamp(request.time_epoch_ms / 1000, UTC)
    host = headers.get("host", "")
    domain = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        query: dict[str, str] = {}
        for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": request.namespace,
        "apiId": request.api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": request.time_epoch_ms,
    }
    if request.body:
        if is_text(headers.get("content-type")):
            try:
                event["body"] = request.body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                pass
            else:
                return event
        event["body"] = base64.b64encode(request.body).decode("ascii")
        event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def http_response(result: bytes, *, function_error: bool) -> HttpResponse:
    """The HTTP answer for a function's ``result`` (its response bytes), per the table above."""
    if function_error:
        return _internal_error()
    try:
        value = json.loads(result)
    except ValueError:
        return _internal_error()
    if not isinstance(value, dict) or "statusCode" not in value:
        return HttpResponse(200, [("Content-Type", "application/json")], result)
    try:
        return _structured(value)
    except (TypeError, ValueError, binascii.Error):
        return _internal_error()


def _structured(value: dict[str, Any]) -> HttpResponse:
    status = value["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int | str):
        raise TypeError("statusCode")
    status = int(status)
    if not _MIN_STATUS <= status <= _MAX_STATUS:
        raise ValueError("statusCode")
    raw_headers = value.get("headers") or {}
    if not isinstance(raw_headers, dict) or len(raw_headers) > _MAX_HEADERS:
        raise TypeError("headers")
    headers = [
        (_header_name(str(name)), _header_value(item))
        for name, item in raw_headers.items()
        if str(name).lower() not in FRAMING_HEADERS
    ]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    cookies = value.get("cookies") or []
    if not isinstance(cookies, list) or len(cookies) > _MAX_HEADERS:
        raise TypeError("cookies")
    headers.extend(("Set-Cookie", _header_value(str(cookie))) for cookie in cookies)
    body = value.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = (
            base64.b64decode(body, validate=True)
            if value.get("isBase64Encoded") is True
            else body.encode("utf-8")
        )
    else:
        # Function URLs serialise a non-string body rather than refuse it.
        data = json.dumps(body).encode("utf-8")
    return HttpResponse(status, headers, data)


def _header_name(name: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise ValueError("header name")
    return name


def _header_value(item: object) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str | int | float):
        value = str(item)
        if len(value) > _MAX_HEADER_VALUE or _FORBIDDEN_IN_VALUE.search(value):
            raise ValueError("header value")
        return value
    raise TypeError("header value")


def _internal_error() -> HttpResponse:
    return HttpResponse(502, [("Content-Type", "application/json")], INTERNAL_SERVER_ERROR)
