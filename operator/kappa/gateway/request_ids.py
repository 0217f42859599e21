"""The request id of every request the gateway serves, and the log lines that carry it.

The outermost middleware gives each request a fresh id (``x-amzn-RequestId`` of the
answer, ``context.aws_request_id`` in the function) before anything else runs, so
that a refusal, an error and every line logged while serving it (tasks started for
it included) carry the same one (``kappa.base.logs.serving``).
"""

import uuid
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from kappa.base import logs

_REQUEST_ID: Final = web.RequestKey("kappa_request_id", str)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Name the request, and serve it with its id in the log context."""
    request_id = str(uuid.uuid4())
    request[_REQUEST_ID] = request_id
    with logs.serving(request_id):
        return await handler(request)


def request_id(request: web.Request) -> str:
    """The id the middleware gave ``request`` (a fresh one outside it: tests of a handler)."""
    found = request.get(_REQUEST_ID)
    if found is None:
        found = request[_REQUEST_ID] = str(uuid.uuid4())
    return found
