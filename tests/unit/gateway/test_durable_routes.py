"""What each durable route asks of its caller (kappa.gateway.durable_routes, through authn)."""

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from kappa.auth.access import Access, Verb
from kappa.auth.guard import Guard
from kappa.gateway import authn
from kappa.gateway.authn import route_access
from kappa.gateway.durable_routes import (
    CALLBACK_ROUTES,
    CHECKPOINT_ROUTE,
    EXECUTION_ROUTE,
    GLANCE_ROUTE,
    HISTORY_ROUTE,
    LIST_ROUTE,
    STATE_ROUTE,
    STOP_ROUTE,
    TOKEN,
    execution_function,
)
from kappa.gateway.responses import error_response
from kappa.invocation.registry import StaticRegistry
from tests.unit.auth.test_guard import FakeReviews

pytestmark = pytest.mark.unit

ARN = "arn:aws:lambda:us-east-1:team-a:function:orders:$LATEST/durable-execution/o-1/ex-1"


def durable(verb: Verb, namespace: str = "team-a", name: str = "orders") -> Access:
    return Access(verb, namespace, name, subresource="durableexecutions")


@pytest.mark.parametrize(
    ("method", "route", "match", "access"),
    [
        # The checkpoint token is the credential: no RBAC, no authentication.
        ("POST", CHECKPOINT_ROUTE, {"arn": ARN}, TOKEN),
        ("GET", STATE_ROUTE, {"arn": ARN}, TOKEN),
        ("POST", CHECKPOINT_ROUTE, {"arn": "junk"}, TOKEN),
        ("GET", EXECUTION_ROUTE, {"arn": ARN}, durable(Verb.GET)),
        ("GET", HISTORY_ROUTE, {"arn": ARN}, durable(Verb.GET)),
        ("POST", STOP_ROUTE, {"arn": ARN}, durable(Verb.UPDATE)),
        ("GET", LIST_ROUTE, {"function_name": "team-a/orders"}, durable(Verb.LIST)),
        ("GET", LIST_ROUTE, {"function_name": "orders"}, durable(Verb.LIST, "default")),
        # Kappa's list (`kappa executions`) asks what Lambda's list asks.
        ("GET", GLANCE_ROUTE, {"namespace": "team-a", "name": "orders"}, durable(Verb.LIST)),
        # A name or ARN that does not parse: authenticated is enough, the route answers 400.
        ("GET", EXECUTION_ROUTE, {"arn": "arn:aws:lambda:x"}, None),
        ("POST", STOP_ROUTE, {"arn": "not an arn"}, None),
        ("GET", LIST_ROUTE, {"function_name": "Not A Name!"}, None),
        # A callback id names its Function inside its mac: the handler asks once it is verified.
        ("POST", CALLBACK_ROUTES["succeed"], {"callback_id": "AQ=="}, None),
        ("POST", CALLBACK_ROUTES["heartbeat"], {"callback_id": "AQ=="}, None),
    ],
)
def test_route_access_of_the_durable_routes(
    method: str, route: str, match: dict[str, str], access: Access | str | None
) -> None:
    assert route_access(method, route, match, None) == access


def test_the_token_routes_are_only_checkpoint_and_state() -> None:
    assert route_access("GET", CHECKPOINT_ROUTE, {"arn": ARN}, None) is None
    assert route_access("POST", STATE_ROUTE, {"arn": ARN}, None) is None


@pytest.mark.parametrize(
    ("arn", "found"),
    [
        (ARN, ("team-a", "orders")),
        ("arn:aws:lambda:us-east-1:team-a:function:orders:$LATEST", None),
        ("/durable-execution/o-1/ex-1", None),
        ("", None),
    ],
)
def test_execution_function_reads_only_the_function_part(
    arn: str, found: tuple[str, str] | None
) -> None:
    assert execution_function(arn) == found


def through_middleware(method: str, path: str, route: str) -> int:
    """The status the auth middleware answers an anonymous call of ``path`` with.

    The handler behind it answers 200: so 200 means the middleware let the call through.
    A guard that checks callers (its reviews know no one), aiohttp's own router.
    """

    async def reached(_request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def main() -> int:
        app = web.Application()
        app.router.add_route(method, route, reached)
        request = make_mocked_request(method, path, app=app)
        request._match_info = await app.router.resolve(request)  # noqa: SLF001 - as aiohttp does
        guard = Guard(FakeReviews(), region="us-east-1")
        check = authn.middleware(guard, StaticRegistry(), lambda _route: error_response)
        response = await check(request, reached)
        return response.status

    return asyncio.run(main())


QUOTED = ARN.replace("/", "%2F").replace("$", "%24")


def test_the_token_routes_reach_their_handler_without_credentials() -> None:
    path = f"/2025-12-01/durable-executions/{QUOTED}"
    assert through_middleware("POST", path + "/checkpoint", CHECKPOINT_ROUTE) == 200
    assert through_middleware("GET", path + "/state", STATE_ROUTE) == 200


def test_the_other_durable_routes_need_credentials() -> None:
    path = f"/2025-12-01/durable-executions/{QUOTED}"
    assert through_middleware("GET", path, EXECUTION_ROUTE) == 401
    assert through_middleware("POST", path + "/stop", STOP_ROUTE) == 401
    assert through_middleware("GET", path + "/history", HISTORY_ROUTE) == 401
    callback = "/2025-12-01/durable-execution-callbacks/AQ%3D%3D/succeed"
    assert through_middleware("POST", callback, CALLBACK_ROUTES["succeed"]) == 401
