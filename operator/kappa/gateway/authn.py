"""Every route of the gateway behind ``kappa.auth``: who calls, and whether RBAC allows it.

An aiohttp middleware that runs before each handler:

- ``/healthz``, ``/readyz``, ``/readyz/queue``, ``/metrics`` are open (the kubelet and Prometheus);
  they expose no invocation, no Function and no payload;
- every other route authenticates its caller (``kappa.auth.guard``), then asks for
  the :class:`~kappa.auth.access.Access` of the route (``route_access``):
  ``ListFunctions`` and ``GetAccountSettings`` need only an authenticated caller
  (ListFunctions then lists only the namespaces the caller may ``list``);
- a Function's HTTP trigger follows its ``spec.url.authType``: ``NONE`` lets anyone
  call that trigger (nothing else), ``AWS_IAM`` takes only SigV4-signed calls, and the
  default (``KUBERNETES``) a bearer token or a signature.

The caller's subject is kept on the request (``subject(request)``) for handlers
that filter what they show. Refusals are Lambda's error shapes (401
``UnrecognizedClientException``, 403 ``AccessDeniedException`` or
``InvalidSignatureException``); on the HTTP trigger, API Gateway's terse
``{"message": "Forbidden"}``.
"""

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final, Literal

from aiohttp import web
from aiohttp.typedefs import Middleware

from kappa.api.function import UrlAuthType
from kappa.auth import access as rbac
from kappa.auth.access import Access, Verb
from kappa.auth.guard import Guard
from kappa.auth.pod_credentials import SECURITY_TOKEN_HEADER
from kappa.auth.sigv4 import SignedRequest, is_sigv4
from kappa.auth.subject import ANONYMOUS, Subject
from kappa.base import ready_push
from kappa.gateway import request_ids
from kappa.gateway.body import body_ceiling, read_body
from kappa.gateway.control_routes import control_access
from kappa.gateway.durable_routes import durable_access, is_token_route
from kappa.invocation.errors import GatewayError, unrecognized_client
from kappa.invocation.function_name import parse_function_name, trigger_target
from kappa.invocation.registry import Registry

log = logging.getLogger("kappa.gateway.auth")

OPEN_PATHS: Final = frozenset({"/healthz", "/readyz", "/readyz/queue", "/metrics"})
INVOKE_ROUTE: Final = "/2015-03-31/functions/{function_name}/invocations"
# InvokeWithResponseStream: authorised as Invoke is (RBAC ``invoke`` on the Function).
STREAM_INVOKE_ROUTE: Final = "/2021-11-15/functions/{function_name}/response-streaming-invocations"
FUNCTION_ROUTE: Final = "/2015-03-31/functions/{function_name}"
TRIGGER_ROUTES: Final = frozenset({"/fn/{namespace}/{name}", "/fn/{namespace}/{name}/{path}"})
DEAD_LETTERS: Final = "/kappa/v1/namespaces/{namespace}/dead-letters"
# An agent's readiness push: the pod's uid and its own source address are the credential
# (the registry checks both); the middleware asks nothing more (kappa.base.ready_push).
AGENT_READY: Final = ("POST", ready_push.PATH)
_SUBJECT: Final = "kappa.subject"
_DEAD_LETTER_VERBS: Final = {
    ("GET", DEAD_LETTERS): Verb.LIST,
    ("POST", DEAD_LETTERS + "/redrive"): Verb.REDRIVE,
    ("GET", DEAD_LETTERS + "/{sequence}"): Verb.GET,
    ("DELETE", DEAD_LETTERS + "/{sequence}"): Verb.DELETE,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Render = Callable[[GatewayError, str], web.Response]


def subject(request: web.Request) -> Subject:
    """The caller the middleware authenticated (ANONYMOUS where none was needed)."""
    found = request.get(_SUBJECT)
    return found if isinstance(found, Subject) else ANONYMOUS


def route_access(
    method: str, route: str, match: dict[str, str], query: str | None
) -> Access | Literal["token"] | None:
    """What the route ``route`` (its pattern) asks of RBAC; None: authenticated is enough.

    ``TOKEN``: nothing of the middleware (the durable token routes: the checkpoint token
    is the credential, verified by the handler before it reads anything).

    A FunctionName that does not parse needs no more than authentication: the route
    answers its 400, which says nothing about any Function.
    """
    if route in (INVOKE_ROUTE, STREAM_INVOKE_ROUTE, FUNCTION_ROUTE):
        try:
            ref = parse_function_name(match["function_name"], query)  # as the route reads it
        except GatewayError:
            return None
        verb = Verb.GET if route == FUNCTION_ROUTE else Verb.INVOKE
        return Access(verb, ref.namespace, ref.name)
    if route in TRIGGER_ROUTES:
        return rbac.invoke(match["namespace"], trigger_target(match["name"])[0])
    if (control := control_access(method, route, match)) is not None:
        return control
    if (operation := _DEAD_LETTER_VERBS.get((method, route))) is not None:
        return rbac.dead_letters(operation, match["namespace"])
    return durable_access(method, route, match)


def route_pattern(request: web.Request) -> str:
    """The pattern of the route ``request`` matched (``""``: none)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else ""


def middleware(guard: Guard, registry: Registry, render: Callable[[str], Render]) -> Middleware:
    """The middleware; ``render(route)`` gives the error renderer of a route."""

    @web.middleware
    async def authenticated(request: web.Request, handler: Handler) -> web.StreamResponse:
        info = request.match_info
        route = route_pattern(request)
        if request.path in OPEN_PATHS or not guard.enabled or info.http_exception is not None:
            return await handler(request)
        if is_token_route(request.method, route) or (request.method, route) == AGENT_READY:
            return await handler(request)
        try:
            if route in TRIGGER_ROUTES:
                url_auth = _url_auth(registry, info["namespace"], info["name"])
                if url_auth is UrlAuthType.NONE:
                    return await handler(request)
                if url_auth is UrlAuthType.AWS_IAM and not is_sigv4(_authorization(request)):
                    raise unrecognized_client(
                        "This function URL takes AWS_IAM: sign the request with SigV4."
                    )
            caller = await guard.authenticate(
                _authorization(request) or None,
                lambda: _signed(request),
                request.headers.get(SECURITY_TOKEN_HEADER),
            )
            needed = route_access(request.method, route, dict(info), request.query.get("Qualifier"))
            if isinstance(needed, Access):
                await guard.require(caller, needed)
            elif caller.anonymous:
                raise unrecognized_client(
                    "Missing credentials: send 'Authorization: Bearer TOKEN' or sign with SigV4."
                )
        except GatewayError as error:
            request_id = request_ids.request_id(request)
            log.info("%s %s %s: %s", request_id, request.method, request.path, error)
            return render(route)(error, request_id)
        request[_SUBJECT] = caller
        return await handler(request)

    return authenticated


def _authorization(request: web.Request) -> str:
    return request.headers.get("Authorization", "")


def _url_auth(registry: Registry, namespace: str, segment: str) -> UrlAuthType:
    """The Function's url.authType; its versions and aliases (``hello:live``) take the same."""
    spec = registry.function((namespace, trigger_target(segment)[0]))
    return UrlAuthType.KUBERNETES if spec is None else spec.url_auth_type


async def _signed(request: web.Request) -> SignedRequest:
    body = await read_body(request, body_ceiling(request))
    raw_path, _, raw_query = request.raw_path.partition("?")
    return SignedRequest(
        method=request.method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=list(request.headers.items()),
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
