"""A request's body, read once and bounded: the one reader every route and the guard share.

aiohttp keeps what ``request.read()`` returned, so the guard (which hashes the body
of a SigV4 call) and the route that parses it read it once. The application's
``client_max_size`` is :data:`MAX_BODY` plus one, so no body past the largest limit is
held; each route then applies its own (Lambda's 6 MB synchronous, 1 MB asynchronous).

``budget_middleware`` runs before anything reads a body (authentication hashes a
signed one): it holds the call's share of ``body_budget.BodyBudget`` until the call
finishes, and refuses a call that does not fit with 429 ``TooManyRequestsException``
(``CallerRateLimitExceeded``) before a byte of its body is read.
"""

from collections.abc import Callable
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from kappa.gateway import request_ids
from kappa.gateway.body_budget import BodyBudget, reservation
from kappa.invocation.errors import (
    GatewayError,
    ThrottleReason,
    request_too_large,
    too_many_requests,
)

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


Render = Callable[[GatewayError, str], web.StreamResponse]


def budget_middleware(
    budget: BodyBudget,
    render: Callable[[web.Request], Render],
    refused: Callable[[], None],
    retry_after_seconds: int = 1,
) -> Middleware:
    """The middleware; ``render(request)`` renders its refusal, ``refused()`` counts one."""

    @web.middleware
    async def budgeted(request: web.Request, handler: Handler) -> web.StreamResponse:
        size = reservation(request.content_length, has_body=request.body_exists, largest=MAX_BODY)
        if not budget.reserve(size):
            refused()
            error = too_many_requests(
                ThrottleReason.CALLER_RATE_LIMIT_EXCEEDED,
                "Rate Exceeded. This gateway holds as many request bytes as it may; retry later.",
                retry_after_seconds=retry_after_seconds,
            )
            return render(request)(error, request_ids.request_id(request))
        try:
            return await handler(request)
        finally:
            budget.release(size)

    return budgeted
