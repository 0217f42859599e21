"""The gateway's answers as aiohttp responses: a JSON body, or a Lambda error shape."""

from aiohttp import web

from kappa.invocation.errors import GatewayError


def ids(request_id: str) -> dict[str, str]:
    """The request id header every answer carries."""
    return {"x-amzn-RequestId": request_id}


def json_response(body: object, request_id: str, status: int = 200) -> web.Response:
    """``body`` as JSON, with the request id."""
    return web.json_response(body, status=status, headers=ids(request_id))


def error_response(error: GatewayError, request_id: str) -> web.Response:
    """Lambda's error shape for ``error``: status, ``x-amzn-ErrorType`` and body."""
    status, headers, body = error.render()
    response = web.Response(status=status, body=body)
    for header, value in headers:
        response.headers[header] = value
    response.headers["x-amzn-RequestId"] = request_id
    return response
