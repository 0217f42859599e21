"""Lambda-style ARNs of Kappa Functions: the account field holds the namespace.

``arn:aws:lambda:<region>:<namespace>:function:<name>[:<qualifier>]``
"""

from dataclasses import dataclass
from typing import Final

_PREFIX: Final = "arn:aws:lambda:"


def function_arn(region: str, namespace: str, name: str, qualifier: str | None = None) -> str:
    """The ARN of a Function (with ``:qualifier`` when one is given)."""
    arn = f"{_PREFIX}{region}:{namespace}:function:{name}"
    return arn if qualifier is None else f"{arn}:{qualifier}"


@dataclass(frozen=True, slots=True)
class FunctionArn:
    """The parts of a function ARN."""

    region: str
    namespace: str
    name: str
    qualifier: str | None = None


def parse_function_arn(arn: str) -> FunctionArn | None:
    """The parts of ``arn``, or None when it is not a function ARN of this shape."""
    if not arn.startswith(_PREFIX):
        return None
    parts = arn[len(_PREFIX) :].split(":")
    if len(parts) not in (4, 5) or parts[2] != "function":
        return None
    region, namespace, _, name = parts[:4]
    if not (region and namespace and name):
        return None
    qualifier = parts[4] if len(parts) == 5 else None  # noqa: PLR2004 - the qualified shape
    if qualifier == "":
        return None
    return FunctionArn(region=region, namespace=namespace, name=name, qualifier=qualifier)
