"""The Lambda control-plane API's routes and what RBAC each asks of its caller. Pure.

Paths and methods are Lambda's (what botocore sends); each names the ``FunctionName``
the Invoke API accepts (name, ``namespace/name``, an ARN with the namespace as account).
``F`` is ``/2015-03-31/functions/{FunctionName}``::

    PublishVersion                   POST   F/versions       create functionversions
    ListVersionsByFunction           GET    F/versions       list   functionversions
    CreateAlias                      POST   F/aliases        create functionaliases
    ListAliases                      GET    F/aliases        list   functionaliases
    GetAlias                         GET    F/aliases/A      get    functionaliases
    UpdateAlias                      PUT    F/aliases/A      update functionaliases
    DeleteAlias                      DELETE F/aliases/A      delete functionaliases
    GetFunctionConfiguration         GET    F/configuration  get    functions
    PutFunctionConcurrency           PUT    /2017-10-31/functions/{FunctionName}/concurrency
                                                             update functions
    DeleteFunctionConcurrency        DELETE (the same path)  update functions
    GetFunctionConcurrency           GET    /2019-09-30/functions/{FunctionName}/concurrency
                                                             get    functions
    PutProvisionedConcurrencyConfig  PUT    /2019-09-30/functions/{FunctionName}/
                                            provisioned-concurrency?Qualifier=Q
                                                             update functionversions
    GetProvisionedConcurrencyConfig  GET    (the same path)  get    functionversions
    UpdateFunctionCode               PUT    F/code           update functions
    UpdateFunctionConfiguration      PUT    F/configuration  update functions
    CreateFunction                   POST   /2015-03-31/functions (by its handler: the
                                            namespace is in the body)
                                                             create functions
    DeleteFunction                   DELETE F (by its handler) delete functions, or with
                                            Qualifier=N: delete functionversions

An alias route names the alias in RBAC's ``resourceNames`` (``hello.live``), so a Role
may grant one alias alone; the other version and alias routes ask about the namespace.
"""

from dataclasses import dataclass
from typing import Final

from kappa.auth.access import ALIASES, RESOURCE, VERSIONS, Access, Verb
from kappa.invocation.errors import GatewayError
from kappa.invocation.function_name import parse_function_name

F: Final = "/2015-03-31/functions/{function_name}"
VERSIONS_ROUTE: Final = F + "/versions"
ALIASES_ROUTE: Final = F + "/aliases"
ALIAS_ROUTE: Final = F + "/aliases/{alias}"
CONFIGURATION_ROUTE: Final = F + "/configuration"
CONCURRENCY_PUT_ROUTE: Final = "/2017-10-31/functions/{function_name}/concurrency"
CONCURRENCY_GET_ROUTE: Final = "/2019-09-30/functions/{function_name}/concurrency"
PROVISIONED_ROUTE: Final = "/2019-09-30/functions/{function_name}/provisioned-concurrency"
FUNCTIONS_ROUTE: Final = "/2015-03-31/functions"
CODE_ROUTE: Final = F + "/code"


@dataclass(frozen=True, slots=True)
class Needs:
    """What a route asks of RBAC: the verb on a plural, about the Function or one object."""

    verb: Verb
    plural: str
    per_object: bool = False  # the alias (route) or version (Qualifier) by name


ROUTES: Final[dict[tuple[str, str], Needs]] = {
    ("POST", VERSIONS_ROUTE): Needs(Verb.CREATE, VERSIONS),
    ("GET", VERSIONS_ROUTE): Needs(Verb.LIST, VERSIONS),
    ("POST", ALIASES_ROUTE): Needs(Verb.CREATE, ALIASES),
    ("GET", ALIASES_ROUTE): Needs(Verb.LIST, ALIASES),
    ("GET", ALIAS_ROUTE): Needs(Verb.GET, ALIASES, per_object=True),
    ("PUT", ALIAS_ROUTE): Needs(Verb.UPDATE, ALIASES, per_object=True),
    ("DELETE", ALIAS_ROUTE): Needs(Verb.DELETE, ALIASES, per_object=True),
    ("GET", CONFIGURATION_ROUTE): Needs(Verb.GET, RESOURCE),
    ("PUT", CONCURRENCY_PUT_ROUTE): Needs(Verb.UPDATE, RESOURCE),
    ("DELETE", CONCURRENCY_PUT_ROUTE): Needs(Verb.UPDATE, RESOURCE),
    ("GET", CONCURRENCY_GET_ROUTE): Needs(Verb.GET, RESOURCE),
    ("PUT", PROVISIONED_ROUTE): Needs(Verb.UPDATE, VERSIONS),
    ("GET", PROVISIONED_ROUTE): Needs(Verb.GET, VERSIONS),
}


# kappa.gateway.function_api's; CreateFunction (the namespace is in its body) and
# DeleteFunction (a version's or the Function's) are authorised by their handlers.
FUNCTION_ROUTES: Final[dict[tuple[str, str], Needs]] = {
    ("PUT", CODE_ROUTE): Needs(Verb.UPDATE, RESOURCE),
    ("PUT", CONFIGURATION_ROUTE): Needs(Verb.UPDATE, RESOURCE),
}


def control_access(method: str, route: str, match: dict[str, str]) -> Access | None:
    """What the control-plane route asks of RBAC; None for another route or a bad name.

    A FunctionName that does not parse needs no more than authentication: the route
    answers its 400, which says nothing about any Function.
    """
    needs = ROUTES.get((method, route)) or FUNCTION_ROUTES.get((method, route))
    if needs is None:
        return None
    try:
        ref = parse_function_name(match["function_name"])
    except GatewayError:
        return None
    name = ref.name
    if needs.per_object:
        name = f"{ref.name}.{match.get('alias', '')}"
    elif needs.plural != RESOURCE:
        name = ""  # a list, a create, a version by qualifier: the namespace's
    return Access(needs.verb, ref.namespace, name, plural=needs.plural)
