"""The ``FunctionVersion`` resource (``kappa.dev/v1alpha1``): a Function frozen under a number.

As Lambda's published versions: publishing (``kappa publish``) takes the Function's spec
as it is, with its code pinned, and keeps it under the next number (1, 2, …; a number is
never given twice, even after its version is deleted). The version's pods run exactly
that snapshot whatever later happens to the Function, and scale on their own: a version
is invoked with its number as the ``Qualifier`` (``hello:2``), or through an alias
(``FunctionAlias``).

The object is named ``<function>.<number>`` (``hello.2``): a Function's name has no
``.``, so a version never shares a name with a Function. Its spec never changes after
it is made; the Function owns it, so deleting the Function deletes its versions, and a
version no alias uses can be deleted alone (``kubectl delete functionversion hello.1``).

Pure: no I/O, no kopf, no kubernetes client, no clock.
"""

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import Field

from kappa.api.function import FunctionSpec, FunctionStatus
from kappa.api.meta import CONCURRENCY_MAX, ApiVersion, FunctionName, KappaModel, ObjectMeta
from kappa.api.rules import Rule, pattern_rule

KIND: Final = "FunctionVersion"
PLURAL: Final = "functionversions"
SINGULAR: Final = "functionversion"
SHORT_NAMES: Final = ("fnv",)
CATEGORIES: Final = ("kappa",)
DESCRIPTION_MAX_LENGTH: Final = 256
VERSION_MAX: Final = 1_000_000_000
SHA256_PATTERN: Final = r"[0-9a-f]{64}"

_NAME_MESSAGE: Final = (
    "metadata.name must be <spec.function>.<spec.version>, e.g. hello.2: "
    "versions are published with kappa publish"
)
_PROVISIONED_MESSAGE: Final = (
    "spec.provisionedConcurrency must not exceed spec.reservedConcurrency: lower it or "
    "raise reservedConcurrency"
)
_IMMUTABLE_MESSAGE: Final = (
    "a FunctionVersion never changes: publish a new version (kappa publish) instead"
)


def version_name(function: str, version: int) -> str:
    """The object name of version ``version`` of ``function``: ``hello.2``."""
    return f"{function}.{version}"


IMMUTABLE: Final = Rule(
    cel="self == oldSelf", message=_IMMUTABLE_MESSAGE, problem=lambda _value: None
)
"""A field that never changes once the version is made (a transition rule: no old, no check)."""


class FunctionVersionSpec(KappaModel):
    """The Function's spec as published, with its number; only its concurrency may change.

    As Lambda's: a version is published without provisioned concurrency, and it is given
    (or taken) later (``provisionedConcurrency``, the Lambda API's
    PutProvisionedConcurrencyConfig); the Function's own provisioned and reserved
    concurrency stay the Function's and are not copied.
    """

    rules: ClassVar = (
        # The optional fields too: a field-level transition rule does not run when the old
        # object lacks the field, which would let a description or hash be added later.
        Rule(
            cel=(
                "has(self.description) == has(oldSelf.description) && "
                "has(self.codeSha256) == has(oldSelf.codeSha256)"
            ),
            message=_IMMUTABLE_MESSAGE,
            problem=lambda _spec: None,
        ),
        Rule(
            cel=(
                "!has(self.reservedConcurrency) || !has(self.provisionedConcurrency) || "
                "self.provisionedConcurrency <= self.reservedConcurrency"
            ),
            message=_PROVISIONED_MESSAGE,
            field_path=".provisionedConcurrency",
            problem=lambda spec: (
                _PROVISIONED_MESSAGE
                if spec.reserved_concurrency is not None
                and (spec.provisioned_concurrency or 0) > spec.reserved_concurrency
                else None
            ),
        ),
    )

    function: Annotated[FunctionName, IMMUTABLE] = Field(
        description="The Function this is a version of."
    )
    version: Annotated[int, IMMUTABLE] = Field(
        ge=1, le=VERSION_MAX, description="The version's number: 1, 2, ..."
    )
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH), IMMUTABLE] | None = Field(
        default=None, description="What this version is (PublishVersion's Description)."
    )
    code_sha256: (
        Annotated[
            str, pattern_rule(SHA256_PATTERN, "must be 64 lowercase hexadecimal digits"), IMMUTABLE
        ]
        | None
    ) = Field(
        default=None,
        description="SHA-256 of the version's code package when known (its CodeSha256).",
    )
    snapshot: Annotated[FunctionSpec, IMMUTABLE] = Field(
        description=(
            "The Function's spec when it was published (without its provisioned and reserved "
            "concurrency); a ConfigMap's code is copied into an immutable ConfigMap the "
            "version owns (<function>.<version>-code)."
        )
    )
    provisioned_concurrency: int | None = Field(
        default=None,
        ge=0,
        le=CONCURRENCY_MAX,
        description="Environments kept initialized for this version (0 or unset: none).",
    )
    reserved_concurrency: int | None = Field(
        default=None,
        ge=0,
        le=CONCURRENCY_MAX,
        description="The most invocations of this version at once (unset: no cap of its own).",
    )


class FunctionVersion(KappaModel):
    """A published, immutable version of a Function, with pods of its own."""

    rules: ClassVar = (
        Rule(
            # substring, not concatenation: the API server costs a concatenation of the
            # unbounded metadata.name far over its budget.
            cel=(
                "size(self.metadata.name) > size(self.spec.function) + 1 && "
                "self.metadata.name.substring(0, size(self.spec.function)) == self.spec.function"
                " && self.metadata.name.substring(size(self.spec.function), "
                "size(self.spec.function) + 1) == '.' && "
                "self.metadata.name.substring(size(self.spec.function) + 1) == "
                "string(self.spec.version)"
            ),
            message=_NAME_MESSAGE,
            field_path=".metadata.name",
            problem=lambda v: (
                None
                if v.metadata.name == version_name(v.spec.function, v.spec.version)
                else _NAME_MESSAGE
            ),
        ),
    )

    api_version: ApiVersion = "kappa.dev/v1alpha1"
    kind: Literal["FunctionVersion"] = Field(default=KIND, description="FunctionVersion.")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: FunctionVersionSpec = Field(description="The snapshot and its number.")
    status: FunctionStatus | None = Field(
        default=None, description="What Kappa observed of the version's pods."
    )


VERSION_OF: Final = "versionOf"
"""The key under which ``as_function_body`` keeps which Function and number a body is."""


def as_function_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A FunctionVersion's body (API JSON) shaped as a Function's: its spec is the snapshot.

    What reads a Function's spec (its code, layers, destinations, pods) then reads the
    version's alike; ``published_as`` tells the two apart. Kind and metadata stay the
    version's, so its status, Events and owner references name the FunctionVersion.
    """
    spec = body.get("spec") or {}
    snapshot = spec.get("snapshot") if isinstance(spec, Mapping) else None
    function_spec = dict(snapshot) if isinstance(snapshot, Mapping) else {}
    concurrency = function_spec.get("concurrency")
    concurrency = dict(concurrency) if isinstance(concurrency, Mapping) else {}
    for mine, theirs in (("provisionedConcurrency", "provisioned"),
                         ("reservedConcurrency", "reserved")):  # fmt: skip
        value = spec.get(mine)
        if value is None:
            concurrency.pop(theirs, None)
        else:
            concurrency[theirs] = value
    function_spec["concurrency"] = concurrency
    return {
        **body,
        "kind": KIND,
        "spec": function_spec,
        VERSION_OF: {"function": spec.get("function"), "version": spec.get("version")},
    }


def published_as(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(function, number) of a body made by ``as_function_body``; None for a Function's."""
    of = body.get(VERSION_OF)
    if not isinstance(of, Mapping):
        return None
    function, version = of.get("function"), of.get("version")
    if not isinstance(function, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    return function, str(version)
