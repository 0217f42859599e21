"""The durable execution API's routes and what each asks of its caller (pure).

Paths are botocore 1.44.8's (``/2025-12-01/``); ``{arn}`` is a durable execution's ARN and
``{callback_id}`` a callback id, each one path segment (boto3 percent-encodes their
``/``, ``+`` and ``=``; aiohttp decodes them once)::

    CheckpointDurableExecution       POST durable-executions/{arn}/checkpoint   the token
    GetDurableExecutionState         GET  durable-executions/{arn}/state        the token
    GetDurableExecution              GET  durable-executions/{arn}              get
    GetDurableExecutionHistory       GET  durable-executions/{arn}/history      get
    ListDurableExecutionsByFunction  GET  functions/{FunctionName}/durable-executions  list
    (Kappa's list, with each one's current operation and next wake-up:
     GET /kappa/v1/namespaces/{namespace}/functions/{name}/durable-executions     list)
    StopDurableExecution             POST durable-executions/{arn}/stop         update
    SendDurableExecutionCallback*    POST durable-execution-callbacks/{callback_id}/
                                          succeed | fail | heartbeat         invoke functions

``get``/``list``/``update`` are verbs on ``functions/durableexecutions`` of the execution's
Function (docs/internals/durable.md, "Authentication and authorisation"). The two token
routes ask no RBAC: the checkpoint token is the credential, verified by the service
before it reads anything. A callback id names its Function inside its mac, so the route
asks for authentication only and the handler asks ``invoke`` once the id is verified.
"""

from typing import Final, Literal

from kappa.auth import access as rbac
from kappa.auth.access import Access, Verb
from kappa.base.arn import parse_function_arn
from kappa.invocation.errors import GatewayError
from kappa.invocation.function_name import parse_function_name

PREFIX: Final = "/2025-12-01"
EXECUTION_ROUTE: Final = PREFIX + "/durable-executions/{arn}"
CHECKPOINT_ROUTE: Final = EXECUTION_ROUTE + "/checkpoint"
STATE_ROUTE: Final = EXECUTION_ROUTE + "/state"
STOP_ROUTE: Final = EXECUTION_ROUTE + "/stop"
HISTORY_ROUTE: Final = EXECUTION_ROUTE + "/history"
LIST_ROUTE: Final = PREFIX + "/functions/{function_name}/durable-executions"
# Kappa's own list (``kappa executions``): each execution's current operation and next
# wake-up too; asks what ListDurableExecutionsByFunction asks.
GLANCE_ROUTE: Final = "/kappa/v1/namespaces/{namespace}/functions/{name}/durable-executions"
CALLBACK_ROUTES: Final = {
    kind: PREFIX + "/durable-execution-callbacks/{callback_id}/" + kind
    for kind in ("succeed", "fail", "heartbeat")
}
# What the two token routes ask: nothing of the middleware (authn's ``TOKEN``).
TOKEN: Final = "token"  # noqa: S105 - a kind of access, not a secret
TOKEN_ROUTES: Final = frozenset({("POST", CHECKPOINT_ROUTE), ("GET", STATE_ROUTE)})
_EXECUTION_VERBS: Final = {
    ("GET", EXECUTION_ROUTE): Verb.GET,
    ("GET", HISTORY_ROUTE): Verb.GET,
    ("POST", STOP_ROUTE): Verb.UPDATE,
}
_EXECUTION_MARKER: Final = "/durable-execution/"


def execution_function(arn: str) -> tuple[str, str] | None:
    """The namespace and Function an execution ARN names (None: it is no such ARN).

    Only its function part is read here; the service reads the whole ARN strictly.
    """
    head, marker, _ = arn.partition(_EXECUTION_MARKER)
    found = parse_function_arn(head) if marker else None
    return None if found is None else (found.namespace, found.name)


def is_token_route(method: str, route: str) -> bool:
    """Whether the route's credential is the checkpoint token (no RBAC)."""
    return (method, route) in TOKEN_ROUTES


def durable_access(
    method: str, route: str, match: dict[str, str]
) -> Access | Literal["token"] | None:
    """What a durable route asks of RBAC (None: not a durable route, or authentication only).

    :data:`TOKEN` for the two token routes: neither authentication nor RBAC.

    An ARN or FunctionName that does not parse needs no more than authentication: the
    route answers its 400, which says nothing about any Function.
    """
    if is_token_route(method, route):
        return TOKEN
    verb = _EXECUTION_VERBS.get((method, route))
    if verb is not None:
        found = execution_function(match.get("arn", ""))
        return None if found is None else rbac.durable_executions(verb, *found)
    if (method, route) == ("GET", GLANCE_ROUTE):
        return rbac.durable_executions(Verb.LIST, match["namespace"], match["name"])
    if (method, route) == ("GET", LIST_ROUTE):
        try:
            ref = parse_function_name(match["function_name"])
        except GatewayError:
            return None
        return rbac.durable_executions(Verb.LIST, ref.namespace, ref.name)
    return None
