"""A request's body, read once and bounded: the one reader every route and the guard share.

aiohttp keeps what ``request.read()`` returned, so the guard (which hashes the body
of a SigV4 call) and the route that parses it read it once. The application's
``client_max_size`` is :data:`MAX_BODY` plus one, so no body past the largest limit is
held; each route then applies its own (Lambda's 6 MB synchronous, 1 MB asynchronous).
"""

from typing import Final

from aiohttp import web

from kappa.invocation.errors import request_too_large

# Lambda's payload limits: 6 MB synchronous, 1 MB asynchronous (bytes, as Lambda counts them).
MAX_SYNC_PAYLOAD: Final = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD: Final = 1024 * 1024
MAX_BODY: Final = MAX_SYNC_PAYLOAD


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The request body, or 413 ``RequestTooLargeException`` past ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise request_too_large(limit)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise request_too_large(limit) from None
    if len(body) > limit:
        raise request_too_large(limit)
    return body
