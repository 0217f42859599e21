"""Durable execution ARNs: build and parse (pure).

::

    arn:aws:lambda:<region>:<namespace>:function:<function>:<version>/durable-execution/<name>/<id>

The function part is a function ARN (``kappa.base.arn``: the account field holds the
namespace) qualified by the version the execution is pinned to for its whole life,
``$LATEST`` or a published version's number. ``<name>`` is the execution's name (unique
per Function, the caller's ``X-Amz-Durable-Execution-Name`` or a UUID) and ``<id>`` the
id of its EXECUTION operation, both 1 to 64 of ``[a-zA-Z0-9_-]``. The namespace and the
function are Kubernetes names (DNS-1123 labels). Anything else, or an ARN over the
model's 1,024 characters, is refused with :class:`~kappa.durable.fields.FieldError`
naming ``DurableExecutionArn``.
"""

import re
from dataclasses import dataclass
from typing import Final

from kappa.api.names import validate_dns1123_label
from kappa.base.arn import function_arn, parse_function_arn
from kappa.durable.fields import FieldError, TextRule

FIELD: Final = "DurableExecutionArn"
ARN_MAX: Final = 1024
EXECUTION_NAME: Final = TextRule(1, 64, r"[a-zA-Z0-9_-]+")
EXECUTION_ID: Final = TextRule(1, 64, r"[a-zA-Z0-9_-]+")
_MARKER: Final = "/durable-execution/"
_REGION: Final = re.compile(r"[a-zA-Z0-9-]{1,64}")
_VERSION: Final = re.compile(r"\$LATEST|[1-9][0-9]{0,9}")


@dataclass(frozen=True, slots=True)
class ExecutionArn:
    """The parts of a durable execution's ARN."""

    region: str
    namespace: str
    function: str
    version: str
    name: str
    execution_id: str

    @property
    def function_arn(self) -> str:
        """The ARN of the Function's version the execution runs."""
        return function_arn(self.region, self.namespace, self.function, self.version)

    def __str__(self) -> str:
        return f"{self.function_arn}{_MARKER}{self.name}/{self.execution_id}"


def _problem(arn: ExecutionArn) -> str | None:
    """What makes ``arn``'s parts not an execution ARN's, or None."""
    if not _REGION.fullmatch(arn.region):
        return f"has an invalid region {arn.region!r}."
    for what, value in (("namespace", arn.namespace), ("function", arn.function)):
        try:
            validate_dns1123_label(value)
        except ValueError as exc:
            return f"has an invalid {what}: {exc}."
    if not _VERSION.fullmatch(arn.version):
        return f"must name $LATEST or a published version's number, not {arn.version!r}."
    for what, value, rule in (
        ("execution name", arn.name, EXECUTION_NAME),
        ("execution id", arn.execution_id, EXECUTION_ID),
    ):
        try:
            rule.check(value, what)
        except FieldError as exc:
            return f"has an invalid {what}: it {exc.problem}"
    return None


def execution_arn(  # noqa: PLR0913 - the ARN's parts
    *, region: str, namespace: str, function: str, version: str, name: str, execution_id: str
) -> ExecutionArn:
    """The ARN of the execution ``name`` (id ``execution_id``) of ``function`` at ``version``."""
    arn = ExecutionArn(region, namespace, function, version, name, execution_id)
    problem = _problem(arn)
    if problem is not None:
        raise FieldError(FIELD, problem)
    return arn


def parse_execution_arn(value: str) -> ExecutionArn:
    """The parts of the execution ARN ``value`` (already URL-decoded, once)."""
    if not 1 <= len(value) <= ARN_MAX:
        raise FieldError(FIELD, f"must be 1 to {ARN_MAX} characters long (it is {len(value)}).")
    head, marker, tail = value.partition(_MARKER)
    function = parse_function_arn(head) if marker else None
    parts = tail.split("/")
    if function is None or function.qualifier is None or len(parts) != 2:  # noqa: PLR2004
        raise FieldError(
            FIELD,
            "must be arn:aws:lambda:REGION:NAMESPACE:function:FUNCTION:VERSION"
            "/durable-execution/NAME/ID.",
        )
    return execution_arn(
        region=function.region,
        namespace=function.namespace,
        function=function.name,
        version=function.qualifier,
        name=parts[0],
        execution_id=parts[1],
    )
