"""A request's body, read once and bounded: the one reader every route and the guard share.

aiohttp keeps what ``request.read()`` returned, so the guard (which hashes the body
of a SigV4 call) and the route that parses it read it once. The application's
``client_max_size`` is :data:`MAX_BODY` plus one, so no body past the largest limit is
held; each route then applies its own (Lambda's 6 MB synchronous, 1 MB asynchronous).

Two calls carry more: CreateFunction and UpdateFunctionCode, whose JSON holds a zip of
up to Lambda's 50 MB in base64 (:data:`CODE_BODY_MAX`, :func:`body_ceiling`). Their
request is given that ``client_max_size`` alone, and their bodies are budgeted apart
(``code_budget``), by default :data:`CODE_BODY_MAX` bytes per gateway: one upload of
Lambda's largest zip, or a few smaller ones, at once; past it a call gets 429. So a
gateway holds at most that much of packages' bodies (while one is parsed and decoded,
with its base64 string and the zip: about three times it, 210 MB measured for a 50 MB
zip), whatever the invocations hold of their own budget.

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
from kappa.gateway.control_routes import CODE_ROUTE, FUNCTIONS_ROUTE
from kappa.invocation.errors import (
    GatewayError,
    ThrottleReason,
    request_too_large,
    too_many_requests,
)
from kappa.resources.package import PACKAGE_MAX_BYTES

# Lambda's payload limits: 6 MB synchronous, 1 MB asynchronous (bytes, as Lambda counts them).
MAX_SYNC_PAYLOAD: Final = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD: Final = 1024 * 1024
MAX_BODY: Final = MAX_SYNC_PAYLOAD
# Lambda's 50 MB zip in base64, and room for the rest of the JSON.
CODE_BODY_MAX: Final = -(-PACKAGE_MAX_BYTES // 3) * 4 + 1024 * 1024
CODE_UPLOADS: Final = frozenset({("POST", FUNCTIONS_ROUTE), ("PUT", CODE_ROUTE)})


def body_ceiling(request: web.Request) -> int:
    """The largest body ``request``'s route takes.

    :data:`CODE_BODY_MAX` for the two calls that carry a zip, :data:`MAX_BODY` for every other.
    """
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else ""
    return CODE_BODY_MAX if (request.method, route) in CODE_UPLOADS else MAX_BODY


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
    code_budget: BodyBudget | None = None,
) -> Middleware:
    """The middleware; ``render(request)`` renders its refusal, ``refused()`` counts one.

    ``code_budget`` holds the bodies of the calls that carry a zip (default: one of
    :data:`CODE_BODY_MAX`).
    """
    uploads = BodyBudget(CODE_BODY_MAX) if code_budget is None else code_budget

    @web.middleware
    async def budgeted(request: web.Request, handler: Handler) -> web.StreamResponse:
        largest = body_ceiling(request)
        held = budget
        if largest > MAX_BODY:
            held = uploads
            request = request.clone(client_max_size=largest + 1)
        size = reservation(request.content_length, has_body=request.body_exists, largest=largest)
        if not held.reserve(size):
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
            held.release(size)

    return budgeted
