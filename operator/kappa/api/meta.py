"""What every kind of the API carries: the base model, names, object metadata, conditions.

Every kind (``function``, ``event_source_mapping``, ``quota``) builds on these; the
rule machinery they use is :mod:`kappa.api.rules`. Conditions come in two forms:
:class:`Condition`, the model of one as the API holds it, and :class:`ConditionState`,
one as the operator decides it, which it writes with :meth:`ConditionState.as_dict`.
Pure: pydantic and the standard library.
"""

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from kappa.api.names import DNS1123_LABEL_MAX_LENGTH
from kappa.api.rules import Rule, add_validations, pattern_rule

DNS1123_LABEL_PATTERN: Final = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_PATTERN: Final = rf"{DNS1123_LABEL_PATTERN}(\.{DNS1123_LABEL_PATTERN})*"
CONFIG_MAP_KEY_PATTERN: Final = r"[-._a-zA-Z0-9]+"
OBJECT_NAME_MAX_LENGTH: Final = 253
CONCURRENCY_MAX: Final = 1_000_000

FROM_CLUSTER: Final[Mapping[str, bool]] = {"from_cluster": True}
"""Validation context for an object read from the API server (``model_validate(obj,
context=FROM_CLUSTER)``): fields this version does not know are left out, not refused.

The API server has already pruned the object against the CRD it has installed; a field
unknown here is one a newer CRD added (an upgrade in progress: the CRDs are applied
before the pods roll). Refusing it would make the old operator and gateway treat every
Function as invalid until they are replaced. What users apply (the admission webhook,
the CLI) is still checked strictly.
"""


def list_map(key: str) -> JsonDict:
    """Schema extension of a list the API server merges item by item, matched by ``key``."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key]}


def _model_rules_schema(schema: dict[str, Any], model: type[Any]) -> None:
    add_validations(schema, getattr(model, "rules", ()))


class KappaModel(BaseModel):
    """Base of the API models: camelCase on the wire, frozen, strict, no unknown fields.

    Strict so that a string never passes for a number, as with the API server;
    enum and timestamp fields opt out, since they arrive as strings.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        strict=True,
        json_schema_extra=_model_rules_schema,
    )

    rules: ClassVar[tuple[Rule, ...]] = ()
    """Rules on the model as a whole, checked after its fields."""

    @model_validator(mode="before")
    @classmethod
    def _leave_out_newer_fields(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or not info.context or not info.context.get("from_cluster"):
            return data
        known = set(cls.model_fields)
        known.update(field.alias for field in cls.model_fields.values() if field.alias)
        return {key: value for key, value in data.items() if key in known}

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        for rule in self.rules:
            rule.check(self)
        return self


# --------------------------------------------------------------- reusable types

ApiVersion = Annotated[Literal["kappa.dev/v1alpha1"], Field(description="kappa.dev/v1alpha1.")]
"""``apiVersion`` of every kind of the API."""

ObjectName = Annotated[
    str,
    Field(max_length=OBJECT_NAME_MAX_LENGTH),
    pattern_rule(
        DNS1123_SUBDOMAIN_PATTERN,
        "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', "
        "starting and ending with a letter or a digit",
    ),
]

FunctionName = Annotated[
    str,
    Field(max_length=DNS1123_LABEL_MAX_LENGTH),
    pattern_rule(
        DNS1123_LABEL_PATTERN,
        "must be the name of a Function: lowercase letters, digits and '-', "
        "starting and ending with a letter or a digit",
    ),
]

ConfigMapKey = Annotated[
    str,
    Field(max_length=OBJECT_NAME_MAX_LENGTH),
    pattern_rule(
        CONFIG_MAP_KEY_PATTERN,
        "must be a key of a Secret or ConfigMap: letters, digits, '-', '_', '.'",
    ),
]


class ConditionStatus(enum.StrEnum):
    """The status of a condition, as in Kubernetes' metav1.Condition."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionType(enum.StrEnum):
    """Condition types the operator writes (kstatus reads ``Ready``)."""

    READY = "Ready"
    CODE_READY = "CodeReady"
    SCALED = "Scaled"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    DESTINATIONS_READY = "DestinationsReady"
    FUNCTION_FOUND = "FunctionFound"
    POLLER_READY = "PollerReady"
    SOURCE_CONNECTED = "SourceConnected"
    INVOKING = "Invoking"
    POOL_ELIGIBLE = "PoolEligible"


class Condition(KappaModel):
    """One aspect of the Function's state, as Kubernetes' metav1.Condition."""

    type: Annotated[
        str,
        Field(min_length=1, max_length=316),
        pattern_rule(
            r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])",
            "a condition type is CamelCase, optionally prefixed by a domain and '/'",
        ),
    ] = Field(description="Type of the condition, e.g. Ready or CodeReady.")
    status: ConditionStatus = Field(strict=False, description="True, False or Unknown.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation the condition was set from."
    )
    last_transition_time: datetime = Field(
        strict=False, description="When the status last changed."
    )
    reason: Annotated[
        str,
        Field(min_length=1, max_length=1024),
        pattern_rule(
            r"[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?",
            "a condition reason is CamelCase: letters, digits, '_', ',' and ':'",
        ),
    ] = Field(description="Why the condition has its status, CamelCase, e.g. InitError.")
    message: str = Field(
        max_length=32768, description="What happened and, when it is a problem, what to do."
    )


StatusConditions = Annotated[
    tuple[Condition, ...], Field(strict=False, json_schema_extra=list_map("type"))
]
"""``status.conditions`` of a kind: at most one condition of each type."""

ObservedGeneration = Annotated[
    int | None, Field(ge=0, description="metadata.generation the status was written from.")
]
"""``status.observedGeneration`` of a kind."""


@dataclass(frozen=True)
class ConditionState:
    """A condition as the operator decides it, before it is written.

    A :class:`Condition` but for the ``observedGeneration`` and ``lastTransitionTime``
    that :meth:`as_dict` adds.
    """

    type: ConditionType
    status: ConditionStatus
    reason: str
    message: str

    def as_dict(
        self, *, generation: int, now: datetime, previous: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The API form; keeps the previous transition time when the status is unchanged."""
        before = next((c for c in previous if c.get("type") == self.type), None)
        since = now.isoformat().replace("+00:00", "Z")
        if before and before.get("status") == self.status and before.get("lastTransitionTime"):
            since = str(before["lastTransitionTime"])
        return {
            "type": str(self.type),
            "status": str(self.status),
            "reason": self.reason,
            "message": self.message,
            "observedGeneration": generation,
            "lastTransitionTime": since,
        }


class ObjectMeta(BaseModel):
    """The parts of a Function's metadata Kappa reads; the API server owns the rest."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )

    name: str
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
