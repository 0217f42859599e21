"""Which Function an Invoke API ``FunctionName`` (and ``Qualifier``) names.

Accepted forms, as Lambda's (the account field of an ARN is the namespace)::

    name                                       → ("default", name)
    namespace/name                             (boto3 sends it as namespace%2Fname)
    arn:aws:lambda:<region>:<namespace>:function:<name>[:<qualifier>]
    <namespace>:function:<name>[:<qualifier>]  (partial ARN)
    name:<qualifier>

The qualifier is ``$LATEST`` (the default), a published version's number or an alias's
name; ``kappa.invocation.qualifier`` says which Function, version or alias it names.
"""

import re
from dataclasses import dataclass
from typing import Final

from kappa.invocation.errors import invalid_parameter

DEFAULT_NAMESPACE: Final = "default"
LATEST: Final = "$LATEST"
# Lambda's own bound on FunctionName (botocore's model: 1..256 characters).
MAX_FUNCTION_NAME_LENGTH: Final = 256

_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_QUALIFIER: Final = re.compile(r"\$LATEST|[a-zA-Z0-9_-]{1,128}")
_ARN: Final = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]*):(?P<namespace>[^:]+):function:"
    r"(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?"
)
_PARTIAL_ARN: Final = re.compile(
    r"(?P<namespace>[^:/]+):function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?"
)
_SHORT: Final = re.compile(r"(?:(?P<namespace>[^:/]+)/)?(?P<name>[^:/]+)(?::(?P<qualifier>[^:]+))?")


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A Function by namespace and name, and the qualifier the caller asked for."""

    namespace: str
    name: str
    qualifier: str = LATEST

    @property
    def key(self) -> tuple[str, str]:
        """(namespace, name): the Function, whatever the qualifier."""
        return (self.namespace, self.name)


def parse_function_name(function_name: str, qualifier: str | None = None) -> FunctionRef:
    """The Function that ``function_name`` (already URL-decoded) and ``qualifier`` name.

    Raises GatewayError: 400 ``InvalidParameterValueException`` for a name that
    is not one of the accepted forms or names no possible Function or qualifier.
    """
    if not function_name or len(function_name) > MAX_FUNCTION_NAME_LENGTH:
        raise invalid_parameter(
            f"FunctionName must be 1 to {MAX_FUNCTION_NAME_LENGTH} characters long."
        )
    match = (
        _ARN.fullmatch(function_name)
        or _PARTIAL_ARN.fullmatch(function_name)
        or _SHORT.fullmatch(function_name)
    )
    if match is None:
        raise invalid_parameter(_form_message(function_name))
    namespace = match.group("namespace") or DEFAULT_NAMESPACE
    name = match.group("name")
    for what, value in (("namespace", namespace), ("function name", name)):
        if not _LABEL.fullmatch(value):
            raise invalid_parameter(
                f"Invalid {what} {value!r} in FunctionName {function_name!r}: it must be a "
                "DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)."
            )
    in_name = match.group("qualifier")
    if in_name is not None and qualifier is not None and in_name != qualifier:
        raise invalid_parameter(
            f"The derived qualifier from the function name {in_name!r} does not match "
            f"the specified qualifier {qualifier!r}."
        )
    chosen = in_name if in_name is not None else qualifier
    if chosen is None or chosen == "":
        chosen = LATEST
    if not _QUALIFIER.fullmatch(chosen):
        raise invalid_parameter(f"Invalid Qualifier {chosen!r}.")
    return FunctionRef(namespace, name, chosen)


def trigger_target(segment: str) -> tuple[str, str | None]:
    """(name, qualifier) of the HTTP trigger's name segment: ``hello``, ``hello:live``."""
    name, colon, qualifier = segment.partition(":")
    return (name, qualifier) if colon else (name, None)


def _form_message(function_name: str) -> str:
    return (
        f"Invalid FunctionName {function_name!r}: use name, namespace/name, "
        "arn:aws:lambda:<region>:<namespace>:function:<name> or <namespace>:function:<name>."
    )
