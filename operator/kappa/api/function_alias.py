"""The ``FunctionAlias`` resource (``kappa.dev/v1alpha1``): a name for one or two versions.

As Lambda's aliases: ``live`` points at a version (``functionVersion``) and may send a
share of the calls to a second one (``routingConfig.additionalVersionWeights``, one entry,
a weight from 0 to 1: Lambda's ``RoutingConfig``), the canary. A caller names the alias
as the ``Qualifier`` (``hello:live``, or the qualified ARN
``arn:aws:lambda:<region>:<namespace>:function:hello:live``); each call picks a version
by the weights, and each version scales on its own. Changing the weights or the version
takes effect at the gateway as soon as the change is seen; calls already sent finish
where they went.

The object is named ``<function>.<alias>`` (``hello.live``). An alias name is a DNS-1123
label that is not only digits (a number names a version); Lambda also allows capitals and
``_``, which Kubernetes names cannot hold.

Pure: no I/O, no kopf, no kubernetes client, no clock.
"""

import re
from typing import Annotated, ClassVar, Final, Literal

from pydantic import Field

from kappa.api.meta import (
    DNS1123_LABEL_PATTERN,
    ApiVersion,
    FunctionName,
    KappaModel,
    ObjectMeta,
    ObservedGeneration,
    StatusConditions,
)
from kappa.api.rules import Rule, cel_matches, pattern_rule

KIND: Final = "FunctionAlias"
PLURAL: Final = "functionaliases"
SINGULAR: Final = "functionalias"
SHORT_NAMES: Final = ("fna",)
CATEGORIES: Final = ("kappa",)
DESCRIPTION_MAX_LENGTH: Final = 256
LATEST: Final = "$LATEST"
VERSION_PATTERN: Final = r"\$LATEST|[1-9][0-9]{0,9}"
NUMBER_PATTERN: Final = r"[1-9][0-9]{0,9}"

_NAME_MESSAGE: Final = (
    "metadata.name must be <spec.function>.<alias>, e.g. hello.live, where the alias is "
    "lowercase letters, digits and '-' (not only digits: a number names a version)"
)
_SAME_VERSION_MESSAGE: Final = (
    "routingConfig.additionalVersionWeights must name another version than functionVersion"
)


def alias_name(function: str, alias: str) -> str:
    """The object name of alias ``alias`` of ``function``: ``hello.live``."""
    return f"{function}.{alias}"


def valid_alias(alias: str) -> bool:
    """Whether ``alias`` can name an alias: a DNS-1123 label of at most 63, not only digits."""
    return (
        len(alias) <= 63  # noqa: PLR2004 - a DNS-1123 label's bound
        and re.fullmatch(DNS1123_LABEL_PATTERN, alias) is not None
        and not alias.isdigit()
    )


def _name_problem(alias: "FunctionAlias") -> str | None:
    name, prefix = alias.metadata.name, alias.spec.function + "."
    return None if name.startswith(prefix) and valid_alias(name[len(prefix) :]) else _NAME_MESSAGE


_WEIGHT_KEY_MESSAGE: Final = (
    "routingConfig.additionalVersionWeights must be keyed by a published version's number, "
    'e.g. {"2": 0.1}'
)


class RoutingConfig(KappaModel):
    """Lambda's RoutingConfig: a second version and the share of calls it gets."""

    rules: ClassVar = (
        Rule(
            cel=(
                "!has(self.additionalVersionWeights) || self.additionalVersionWeights.all("
                f"k, k.matches({cel_matches(NUMBER_PATTERN)}))"
            ),
            message=_WEIGHT_KEY_MESSAGE,
            field_path=".additionalVersionWeights",
            problem=lambda config: (
                None
                if all(re.fullmatch(NUMBER_PATTERN, k) for k in config.additional_version_weights)
                else _WEIGHT_KEY_MESSAGE
            ),
        ),
    )

    additional_version_weights: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        max_length=1,
        description=(
            "At most one version and the share of calls (0 to 1) it gets; the alias's "
            "functionVersion gets the rest."
        ),
    )


class FunctionAliasSpec(KappaModel):
    """The version(s) the alias names."""

    rules: ClassVar = (
        Rule(
            cel=(
                "!has(self.routingConfig) || "
                "!has(self.routingConfig.additionalVersionWeights) || "
                "!(self.functionVersion in self.routingConfig.additionalVersionWeights)"
            ),
            message=_SAME_VERSION_MESSAGE,
            field_path=".routingConfig",
            problem=lambda spec: (
                _SAME_VERSION_MESSAGE
                if spec.routing_config is not None
                and spec.function_version in spec.routing_config.additional_version_weights
                else None
            ),
        ),
    )

    function: FunctionName = Field(description="The Function the alias belongs to.")
    function_version: Annotated[
        str,
        Field(max_length=10),
        pattern_rule(VERSION_PATTERN, "must be $LATEST or a published version's number"),
    ] = Field(description="The version the alias invokes: a number, or $LATEST.")
    routing_config: RoutingConfig | None = Field(
        default=None, description="A second version and the share of calls it gets (canary)."
    )
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH)] | None = Field(
        default=None, description="What the alias is for."
    )


class FunctionAliasStatus(KappaModel):
    """What the operator saw: whether the Function and the versions the alias names exist."""

    conditions: StatusConditions = Field(
        default=(), max_length=8, description="Ready: every version it names exists."
    )
    observed_generation: ObservedGeneration = None


class FunctionAlias(KappaModel):
    """A name for one version of a Function, or two with weights: Lambda's alias."""

    rules: ClassVar = (
        Rule(
            # substring, not startsWith or concatenation: the API server costs those on
            # the unbounded metadata.name far over its budget.
            cel=(
                "size(self.metadata.name) > size(self.spec.function) + 1 && "
                "size(self.metadata.name) <= size(self.spec.function) + 64 && "
                "self.metadata.name.substring(0, size(self.spec.function)) == self.spec.function"
                " && self.metadata.name.substring(size(self.spec.function))"
                f".matches({cel_matches('[.]' + DNS1123_LABEL_PATTERN)}) && "
                "!self.metadata.name.substring(size(self.spec.function))"
                f".matches({cel_matches('[.][0-9]+')})"
            ),
            message=_NAME_MESSAGE,
            field_path=".metadata.name",
            problem=_name_problem,
        ),
    )

    api_version: ApiVersion = "kappa.dev/v1alpha1"
    kind: Literal["FunctionAlias"] = Field(default=KIND, description="FunctionAlias.")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: FunctionAliasSpec = Field(description="The version(s) the alias names.")
    status: FunctionAliasStatus | None = Field(
        default=None, description="Written by the operator; not part of the desired state."
    )
