"""What each durable route asks of its caller (kappa.gateway.durable_routes, through authn)."""

import pytest

from kappa.auth.access import Access, Verb
from kappa.gateway.authn import route_access
from kappa.gateway.durable_routes import (
    CALLBACK_ROUTES,
    CHECKPOINT_ROUTE,
    EXECUTION_ROUTE,
    HISTORY_ROUTE,
    LIST_ROUTE,
    STATE_ROUTE,
    STOP_ROUTE,
    TOKEN,
    execution_function,
)

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
