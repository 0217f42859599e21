"""What each gateway route asks of RBAC (the table of kappa.gateway.authn)."""

import pytest

from kappa.auth.access import Access, Verb
from kappa.gateway.authn import route_access

INVOKE = "/2015-03-31/functions/{function_name}/invocations"
GET = "/2015-03-31/functions/{function_name}"
DLQ = "/kappa/v1/namespaces/{namespace}/dead-letters"


@pytest.mark.parametrize(
    ("method", "route", "match", "query", "access"),
    [
        ("POST", INVOKE, {"function_name": "team-a/f"}, None, Access(Verb.INVOKE, "team-a", "f")),
        ("POST", INVOKE, {"function_name": "hello"}, None, Access(Verb.INVOKE, "default", "hello")),
        ("POST", INVOKE, {"function_name": "arn:aws:lambda:us-east-1:team-b:function:g"}, None,
         Access(Verb.INVOKE, "team-b", "g")),
        ("GET", GET, {"function_name": "team-a/f"}, None, Access(Verb.GET, "team-a", "f")),
        ("GET", "/fn/{namespace}/{name}/{path}", {"namespace": "n", "name": "f", "path": "x"},
         None, Access(Verb.INVOKE, "n", "f")),
        ("GET", DLQ, {"namespace": "n"}, None, Access(Verb.LIST, "n", subresource="deadletters")),
        ("GET", DLQ + "/{sequence}", {"namespace": "n", "sequence": "7"}, None,
         Access(Verb.GET, "n", subresource="deadletters")),
        ("DELETE", DLQ + "/{sequence}", {"namespace": "n", "sequence": "7"}, None,
         Access(Verb.DELETE, "n", subresource="deadletters")),
        ("POST", DLQ + "/redrive", {"namespace": "n"}, None,
         Access(Verb.REDRIVE, "n", subresource="deadletters")),
        # Authenticated is enough; the route itself answers (400, or a filtered list).
        ("POST", INVOKE, {"function_name": "Not A Name!"}, None, None),
        ("POST", INVOKE, {"function_name": "f"}, "bad qualifier!", None),
        # A version or alias is the Function's: RBAC on the Function decides.
        ("POST", INVOKE, {"function_name": "f"}, "live", Access(Verb.INVOKE, "default", "f")),
        ("GET", "/fn/{namespace}/{name}/{path}", {"namespace": "n", "name": "f:live", "path": ""},
         None, Access(Verb.INVOKE, "n", "f")),
        ("GET", "/2015-03-31/functions", {}, None, None),
        ("GET", "/2016-08-19/account-settings", {}, None, None),
    ],
)  # fmt: skip
def test_route_access(method: str, route: str, match: dict[str, str], query: str | None,
                      access: Access | None) -> None:  # fmt: skip
    assert route_access(method, route, match, query) == access
