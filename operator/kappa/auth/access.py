"""What a call needs to be allowed to do, as a Kubernetes RBAC resource attribute.

Every gateway route maps to one :class:`Access` on ``functions.kappa.dev`` in a
namespace (or to none: the probes, ``/metrics``, ``GetAccountSettings``)::

    Invoke, HTTP trigger        invoke   functions               NAMESPACE  NAME
    GetFunction                 get      functions               NAMESPACE  NAME
    ListFunctions               list     functions               each namespace listed
    dead letters: list          list     functions/deadletters   NAMESPACE
                  read          get      functions/deadletters   NAMESPACE
                  redrive       redrive  functions/deadletters   NAMESPACE
                  delete        delete   functions/deadletters   NAMESPACE

The Lambda control-plane API (``kappa.gateway.control_routes``) asks the same of the
resource it writes or reads: ``create functionversions`` for PublishVersion, ``update
functionaliases`` for UpdateAlias, ``update functions`` for PutFunctionConcurrency,
``create eventsourcemappings`` for CreateEventSourceMapping...

``invoke`` and ``redrive`` are verbs of Kappa's own: RBAC takes any verb in a Role's
rules, and the chart's ClusterRoles ``kappa-invoker``, ``kappa-viewer``,
``kappa-dlq-admin`` and ``kappa-releaser`` grant them.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

GROUP: Final = "kappa.dev"
RESOURCE: Final = "functions"
VERSIONS: Final = "functionversions"
ALIASES: Final = "functionaliases"
MAPPINGS: Final = "eventsourcemappings"
DEAD_LETTERS: Final = "deadletters"
DURABLE_EXECUTIONS: Final = "durableexecutions"


class Verb(StrEnum):
    """The verbs the gateway asks about."""

    INVOKE = "invoke"
    GET = "get"
    LIST = "list"
    REDRIVE = "redrive"
    DELETE = "delete"
    CREATE = "create"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class Access:
    """One resource attribute of a SubjectAccessReview (the group is always kappa.dev)."""

    verb: Verb
    namespace: str
    name: str = ""
    subresource: str = ""
    plural: str = RESOURCE  # functions, functionversions, functionaliases, eventsourcemappings

    @property
    def resource(self) -> str:
        """``functions`` or ``functions/SUBRESOURCE``, as a Role's rules spell it."""
        return f"{self.plural}/{self.subresource}" if self.subresource else self.plural

    def __str__(self) -> str:
        """``invoke functions "f" in namespace "b"``: what was asked, for a person."""
        what = f'{self.resource} "{self.name}"' if self.name else self.resource
        return f'{self.verb.value} {what}.{GROUP} in namespace "{self.namespace}"'


def invoke(namespace: str, name: str) -> Access:
    """Invoking Function ``namespace/name`` (any invocation type, and its HTTP trigger)."""
    return Access(Verb.INVOKE, namespace, name)


def durable_executions(verb: Verb, namespace: str, function: str) -> Access:
    """An operation on the durable executions of Function ``namespace/function``."""
    return Access(verb, namespace, function, subresource=DURABLE_EXECUTIONS)


def dead_letters(verb: Verb, namespace: str) -> Access:
    """An operation on the dead letters of ``namespace``."""
    return Access(verb, namespace, subresource=DEAD_LETTERS)
