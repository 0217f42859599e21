"""The ``Function`` resource (``kappa.dev/v1alpha1``): pydantic models of its spec and status.

These models are the single source of the Function API. ``kappa.api.crd``
generates the CRD (``crds/functions.kappa.dev.yaml``) from them, and the
operator parses every Function it sees with them, so both must refuse the
same manifests with the same words. Each validation rule is therefore one
`Rule`: a CEL expression for the API server's ``x-kubernetes-validations``
and a Python predicate for the models, side by side, with one message that
says what to change. Bounds (``ge``/``le``, lengths, item counts) are plain
pydantic constraints, which both sides enforce from the same numbers.

Limits Kappa chose where Lambda has none that fits (see each constant):

- Function names are DNS-1123 labels of at most 63 characters: the name is
  the value of the ``kappa.dev/function`` label and prefixes the names of the
  pods and ConfigMaps made for the Function.
- Inline code is at most 128 KiB (file names plus contents, UTF-8): it is
  copied into a ConfigMap (1 MiB at most), and client-side ``kubectl apply``
  keeps the whole manifest, JSON-escaped, in an annotation (256 KiB at most).
  Larger code belongs in a ``configMap`` of its own or a ``url`` archive.
- Literal environment values are at most 4 KiB in total (Lambda's limit;
  Lambda also counts the names, Kappa does not). Values from Secrets and
  ConfigMaps (``valueFrom``) do not count.
- Code archive URLs may be ``http://`` as well as ``https://``: the mandatory
  ``sha256`` is what makes a download trustworthy, and in-cluster servers
  (MinIO, nginx) rarely have certificates.
- ``scaling.scaleToZeroAfterSeconds: 0`` removes an idle pod as soon as the
  autoscaler sees it idle; to keep pods warm, set ``concurrency.provisioned``.

Pure: no I/O, no kopf, no kubernetes client, no clock.
"""

import enum
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, ClassVar, Final, Literal

from pydantic import (
    Field,
)

from kappa.api.meta import (
    CONCURRENCY_MAX,
    DNS1123_LABEL_PATTERN,
    OBJECT_NAME_MAX_LENGTH,
    ApiVersion,
    Condition,
    ConfigMapKey,
    FunctionName,
    KappaModel,
    ObjectMeta,
    ObjectName,
    ObservedGeneration,
    StatusConditions,
    list_map,
)
from kappa.api.names import DNS1123_LABEL_MAX_LENGTH
from kappa.api.rules import (
    Reason,
    Rule,
    cel_list,
    cel_matches,
    cel_string,
    exactly_one,
    pattern_rule,
)
from kappa.base.code_paths import MAX_LAYERS

KIND: Final = "Function"
PLURAL: Final = "functions"
SINGULAR: Final = "function"
SHORT_NAMES: Final = ("fn",)
CATEGORIES: Final = ("kappa",)

MEMORY_MB_MIN: Final = 128
MEMORY_MB_MAX: Final = 10240
MEMORY_MB_DEFAULT: Final = 128
TIMEOUT_SECONDS_MIN: Final = 1
TIMEOUT_SECONDS_MAX: Final = 900
TIMEOUT_SECONDS_DEFAULT: Final = 3
EPHEMERAL_STORAGE_MB_MIN: Final = 512
EPHEMERAL_STORAGE_MB_MAX: Final = 10240
EPHEMERAL_STORAGE_MB_DEFAULT: Final = 512
ASYNC_RETRY_ATTEMPTS_MAX: Final = 2
ASYNC_RETRY_ATTEMPTS_DEFAULT: Final = 2
"""Lambda's MaximumRetryAttempts when ``spec.async.maximumRetryAttempts`` is unset."""
DURABLE_EXECUTION_TIMEOUT_MIN: Final = 1
DURABLE_EXECUTION_TIMEOUT_MAX: Final = 31_622_400
"""366 days: Lambda's bound of DurableConfig.ExecutionTimeout, in seconds."""
DURABLE_RETENTION_DAYS_MIN: Final = 1
DURABLE_RETENTION_DAYS_MAX: Final = 90
DURABLE_RETENTION_DAYS_DEFAULT: Final = 14

INLINE_CODE_MAX_BYTES: Final = 128 * 1024
"""File names plus contents (UTF-8) of ``spec.code.inline``; see the module docstring."""
INLINE_CODE_MAX_FILES: Final = 128
ENV_VALUES_MAX_BYTES: Final = 4096
"""Literal ``spec.env[].value`` bytes (UTF-8) in total, Lambda's limit."""
ENV_MAX_ITEMS: Final = 256
ENV_NAME_MAX_LENGTH: Final = 256
HANDLER_MAX_LENGTH: Final = 128  # Lambda's limit
URL_MAX_LENGTH: Final = 2048
IMAGE_MAX_LENGTH: Final = 512
IMAGE_PATH_MAX_LENGTH: Final = 256
IMAGE_PATH_DEFAULT: Final = "/var/task"
"""Where a code-only image keeps the task root, unless spec.code.imagePath says otherwise."""
NATS_SUBJECT_MAX_LENGTH: Final = 256
PER_POD_MAX: Final = 64
# Lambda's largest PerExecutionEnvironmentMaxConcurrency (Lambda Managed Instances).
PER_RUNTIME_MAX: Final = 1600
"""Bounds reserved, provisioned and maxReplicas so that CEL arithmetic cannot overflow."""

# Environment variables the pod's Lambda environment defines itself (LAMBDA-COMPAT.md,
# docs/internals/function-pods.md). Lambda refuses these keys, and so does Kappa. Unlike
# Lambda, Kappa lets users set AWS credentials (AWS_ACCESS_KEY_ID...), from a Secret: it
# injects none of its own. AWS_LAMBDA_* (Kappa sets several; AWS_LAMBDA_EXEC_WRAPPER is not
# supported yet) and KAPPA_* (the agent's own settings) are reserved as prefixes.
RESERVED_ENV_NAMES: Final = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_REGION",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)
RESERVED_ENV_PREFIXES: Final = ("AWS_LAMBDA_", "KAPPA_")

# fieldRef paths the kubelet resolves for a container's environment.
POD_FIELD_PATHS: Final = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
POD_FIELD_PATH_PREFIXES: Final = ("metadata.labels['", "metadata.annotations['")

# Regular expressions shared by Python (re.fullmatch) and CEL (RE2, anchored by `cel_matches`):
# only syntax both read alike, and explicit ASCII classes instead of \s or \w.
INLINE_FILE_PATTERN: Final = r"[-._a-zA-Z0-9]+(/[-._a-zA-Z0-9]+)*"
ENV_NAME_PATTERN: Final = r"[A-Za-z_][A-Za-z0-9_]*"
HANDLER_PATTERN: Final = r"[!-~]+"  # printable ASCII, no spaces
PYTHON_HANDLER_PATTERN: Final = r"[A-Za-z0-9_][-A-Za-z0-9_/.]*\.[A-Za-z_][A-Za-z0-9_]*"
NODEJS_HANDLER_PATTERN: Final = r"[A-Za-z0-9_][-A-Za-z0-9_/.]*\.[A-Za-z_$][A-Za-z0-9_$]*"
# Lambda's Java handlers: a class (package.Class, a RequestHandler) or package.Class::method.
_JAVA_NAME: Final = r"[A-Za-z_$][A-Za-z0-9_$]*"
JAVA_HANDLER_PATTERN: Final = rf"{_JAVA_NAME}(\.{_JAVA_NAME})*(::{_JAVA_NAME})?"
URL_PATTERN: Final = r"https?://[A-Za-z0-9]([-.A-Za-z0-9]*[A-Za-z0-9])?(:[0-9]+)?(/[!-~]*)?"
SHA256_PATTERN: Final = r"[0-9a-f]{64}"
# An absolute directory: "/" or parts that do not start with "." (so no "." or ".." parts).
IMAGE_PATH_PATTERN: Final = r"/|(/[-_a-zA-Z0-9][-._a-zA-Z0-9]*)+"
_NATS_SUBJECT_PART: Final = r"[!-)+,\-/-=?-~]+"  # printable ASCII but '*', '.' and '>'
NATS_SUBJECT_PATTERN: Final = rf"{_NATS_SUBJECT_PART}(\.{_NATS_SUBJECT_PART})*"
# The grammar of github.com/distribution/reference (without IPv6 hosts).
_IMAGE_DOMAIN: Final = (
    r"([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])"
    r"(\.([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9]))*(:[0-9]+)?"
)
_IMAGE_PATH: Final = r"[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*"
IMAGE_PATTERN: Final = (
    rf"({_IMAGE_DOMAIN}/)?{_IMAGE_PATH}(/{_IMAGE_PATH})*"
    r"(:[A-Za-z0-9_][-.A-Za-z0-9_]{0,127})?(@sha256:[0-9a-f]{64})?"
)


# --------------------------------------------------------------------- enums


class Runtime(enum.StrEnum):
    """The language runtime that runs the handler (image: the image brings its own)."""

    PYTHON_3_11 = "python3.11"
    PYTHON_3_12 = "python3.12"
    PYTHON_3_13 = "python3.13"
    NODEJS_20 = "nodejs20"
    NODEJS_22 = "nodejs22"
    JAVA_17 = "java17"
    PROVIDED = "provided"
    IMAGE = "image"

    @property
    def is_python(self) -> bool:
        """Whether handlers are ``module.function``, run by awslambdaric."""
        return self.value.startswith("python")

    @property
    def is_nodejs(self) -> bool:
        """Whether handlers are ``file.export``, run by the Node.js runtime client."""
        return self.value.startswith("nodejs")

    @property
    def is_java(self) -> bool:
        """Whether handlers are ``package.Class[::method]``, run by the Java runtime client."""
        return self.value.startswith("java")

    @property
    def takes_concurrent_calls(self) -> bool:
        """Whether one runtime process can take several calls at once (``perRuntime`` > 1).

        python: Kappa's asyncio loop for ``async def`` handlers, awslambdaric's own
        multi-concurrency mode (a process per call) for others; nodejs22: AWS's
        aws-lambda-ric 4 (Node >= 22, Lambda Managed Instances' client) beside 3.3.0;
        provided: the bootstrap reads AWS_LAMBDA_MAX_CONCURRENCY (aws-lambda-go, Rust's
        lambda_runtime). Not nodejs20 (aws-lambda-ric 4 needs Node 22, as Lambda), not
        java17 (Lambda offers it from Java 21), not image (the agent cannot end an outside
        runtime's calls on a timeout).
        """
        return self.is_python or self in {Runtime.NODEJS_22, Runtime.PROVIDED}

    @property
    def needs_handler(self) -> bool:
        """Whether ``spec.handler`` is required (``provided``/``image`` may use it or not)."""
        return self.is_python or self.is_nodejs or self.is_java

    @property
    def runs_durable(self) -> bool:
        """Whether ``spec.durable`` may be set (docs/internals/durable.md, "The Function spec").

        python: the durable execution SDK is tested here for Python only (Node.js and Java
        follow when their SDKs are); provided and image: the user brings the SDK.
        """
        return self.is_python or self in {Runtime.PROVIDED, Runtime.IMAGE}


PYTHON_RUNTIMES: Final = tuple(r.value for r in Runtime if r.is_python)
NODEJS_RUNTIMES: Final = tuple(r.value for r in Runtime if r.is_nodejs)
JAVA_RUNTIMES: Final = tuple(r.value for r in Runtime if r.is_java)
HANDLER_RUNTIMES: Final = tuple(r.value for r in Runtime if r.needs_handler)
CONCURRENT_RUNTIMES: Final = tuple(r.value for r in Runtime if r.takes_concurrent_calls)
DURABLE_RUNTIMES: Final = tuple(r.value for r in Runtime if r.runs_durable)


class CodeSource(enum.StrEnum):
    """Where a Function's code comes from: the field of ``spec.code`` that is set."""

    INLINE = "inline"
    CONFIG_MAP = "configMap"
    URL = "url"
    IMAGE = "image"


# ---------------------------------------------------------------------- code


def _bad_inline_names(files: Mapping[str, str]) -> list[str]:
    compiled = re.compile(INLINE_FILE_PATTERN)
    return [
        name for name in files if not compiled.fullmatch(name) or {".", ".."} & set(name.split("/"))
    ]


def _inline_bytes(files: Mapping[str, str]) -> int:
    return sum(len(name.encode()) + len(content.encode()) for name, content in files.items())


_INLINE_EMPTY_MESSAGE: Final = (
    "spec.code.inline has no files: add at least one, as file name: content"
)
_INLINE_NOT_EMPTY: Final = Rule(
    cel="size(self) > 0",
    message=_INLINE_EMPTY_MESSAGE,
    problem=lambda files: None if files else _INLINE_EMPTY_MESSAGE,
)

_INLINE_NAMES_MESSAGE: Final = (
    "spec.code.inline file names must be relative paths of letters, digits, '-', '_' and '.' "
    "separated by '/', without '.' or '..' parts"
)
_INLINE_NAMES: Final = Rule(
    cel=(
        f"self.all(f, f.matches({cel_matches(INLINE_FILE_PATTERN)})"
        " && !('/' + f + '/').contains('/./') && !('/' + f + '/').contains('/../'))"
    ),
    message=_INLINE_NAMES_MESSAGE,
    problem=lambda files: _INLINE_NAMES_MESSAGE if _bad_inline_names(files) else None,
)

_INLINE_SIZE_MESSAGE: Final = (
    f"spec.code.inline is too large: file names and contents may hold at most "
    f"{INLINE_CODE_MAX_BYTES} bytes (128 KiB); put larger code in a ConfigMap "
    "(spec.code.configMap) or a zip archive (spec.code.url)"
)
_INLINE_SIZE: Final = Rule(
    cel=f"self.map(f, size(bytes(f)) + size(bytes(self[f]))).sum() <= {INLINE_CODE_MAX_BYTES}",
    message=_INLINE_SIZE_MESSAGE,
    problem=lambda files: (
        _INLINE_SIZE_MESSAGE if _inline_bytes(files) > INLINE_CODE_MAX_BYTES else None
    ),
)


class ConfigMapCode(KappaModel):
    """Code in a ConfigMap of the Function's namespace: each key is a file of the task root.

    With ``archive``, one key holds a zip of the task root instead (``kappa deploy``
    stores dependencies so): the pods unpack it, checked as a ``url`` archive is.
    """

    name: ObjectName = Field(description="Name of the ConfigMap, in the Function's namespace.")
    archive: ConfigMapKey | None = Field(
        default=None,
        description=(
            "A key (binaryData) holding a zip of the task root, unpacked by the pods "
            "instead of mounting the keys as files; what kappa deploy writes."
        ),
    )


class UrlCode(KappaModel):
    """A zip archive that the function pods download and check before they start."""

    url: Annotated[
        str,
        Field(max_length=URL_MAX_LENGTH),
        pattern_rule(
            URL_PATTERN,
            "spec.code.url.url must be an http:// or https:// URL (host[:port]/path, "
            "no credentials, no spaces) of a zip archive",
        ),
    ] = Field(
        description=(
            "http:// or https:// URL of a zip archive of the task root. http is allowed "
            "because the sha256 is checked: in-cluster servers rarely have certificates."
        )
    )
    sha256: Annotated[
        str,
        Field(max_length=64),
        pattern_rule(
            SHA256_PATTERN,
            "spec.code.url.sha256 must be the SHA-256 of the archive as 64 lowercase "
            "hexadecimal digits (what sha256sum prints)",
        ),
    ] = Field(
        description="SHA-256 of the archive, 64 lowercase hex digits; a mismatch fails the pods."
    )


class LayerRef(KappaModel):
    """A Layer of the Function's namespace."""

    name: ObjectName = Field(description="Name of the Layer.")


_IMAGE_PATH_MESSAGE: Final = (
    "spec.code.imagePath applies to spec.code.image only: remove it, or give the code as image"
)


class Code(KappaModel):
    """Where the code comes from: exactly one of inline, configMap, url, image.

    ``image`` with ``runtime: image`` is a whole image that runs as it is (Lambda's
    PackageType Image); with a managed runtime it only carries the code (``FROM scratch``
    and files, as ``docker build``, ko or buildpacks make it): the pods copy its
    ``imagePath`` into the task root, checked as an unpacked zip is, and run it on the
    runtime's image (Lambda's PackageType Zip).
    """

    rules: ClassVar = (
        exactly_one(
            ("inline", "configMap", "url", "image"),
            "spec.code must set exactly one of inline, configMap, url, image",
        ),
        Rule(
            cel="!has(self.imagePath) || has(self.image)",
            message=_IMAGE_PATH_MESSAGE,
            field_path=".imagePath",
            problem=lambda code: (
                _IMAGE_PATH_MESSAGE if code.image_path is not None and code.image is None else None
            ),
        ),
    )

    inline: (
        Annotated[
            dict[
                str,
                Annotated[
                    str, Field(max_length=INLINE_CODE_MAX_BYTES, description="Content of the file.")
                ],
            ],
            Field(max_length=INLINE_CODE_MAX_FILES),
            _INLINE_NOT_EMPTY,
            _INLINE_NAMES,
            _INLINE_SIZE,
        ]
        | None
    ) = Field(
        default=None,
        description=(
            "Source files, file name (a relative path) to content, kept in a ConfigMap the "
            f"Function owns. At most {INLINE_CODE_MAX_BYTES} bytes (128 KiB) of names and "
            "contents: larger code belongs in configMap or url."
        ),
    )
    config_map: ConfigMapCode | None = Field(
        default=None, description="A ConfigMap of the Function's namespace that holds the code."
    )
    url: UrlCode | None = Field(
        default=None, description="A zip archive downloaded by the pods and checked by sha256."
    )
    image: (
        Annotated[
            str,
            Field(max_length=IMAGE_MAX_LENGTH),
            pattern_rule(
                IMAGE_PATTERN,
                "spec.code.image must be an image reference such as registry.example/fn:1 "
                "(lowercase repository, optional :tag and @sha256:digest)",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description=(
            "A container image. With runtime image: the function and a Lambda Runtime API "
            "client (as a Lambda container image), run as it is. With a managed runtime "
            "(python3.11...): an image that only carries the code (FROM scratch and files); "
            "the pods copy its imagePath into /var/task (at most 250 MB) before they start."
        ),
    )
    image_path: (
        Annotated[
            str,
            Field(max_length=IMAGE_PATH_MAX_LENGTH),
            pattern_rule(
                IMAGE_PATH_PATTERN,
                "spec.code.imagePath must be an absolute directory such as /var/task or / "
                "(parts of letters, digits, '-', '_' and '.', not starting with '.')",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description=(
            f"The directory of a code-only image that holds the task root (default "
            f"{IMAGE_PATH_DEFAULT}, where Lambda's base images keep it; / for the whole "
            "image). Only with image and a managed runtime."
        ),
    )

    @property
    def source(self) -> CodeSource:
        """Which of the code sources is set."""
        if self.inline is not None:
            return CodeSource.INLINE
        if self.config_map is not None:
            return CodeSource.CONFIG_MAP
        if self.url is not None:
            return CodeSource.URL
        return CodeSource.IMAGE


# ----------------------------------------------------------------------- env


def _reserved_env_name(name: str) -> bool:
    return name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIXES)


_ENV_RESERVED_MESSAGE: Final = (
    "is reserved: Kappa sets it in every function pod, as Lambda does; choose another name "
    f"(reserved: {', '.join(sorted(RESERVED_ENV_NAMES))} and names starting with "
    f"{' or '.join(RESERVED_ENV_PREFIXES)})"
)
_ENV_RESERVED: Final = Rule(
    cel=(
        f"!(self in {cel_list(RESERVED_ENV_NAMES)})"
        + "".join(f" && !self.startsWith({cel_string(p)})" for p in RESERVED_ENV_PREFIXES)
    ),
    message=f"spec.env name {_ENV_RESERVED_MESSAGE}",
    message_expression=f"'spec.env name ' + self + ' ' + {cel_string(_ENV_RESERVED_MESSAGE)}",
    problem=lambda name: (
        f"spec.env name {name} {_ENV_RESERVED_MESSAGE}" if _reserved_env_name(name) else None
    ),
)


class KeySelector(KappaModel):
    """A key of a Secret or ConfigMap in the Function's namespace."""

    name: ObjectName = Field(description="Name of the Secret or ConfigMap.")
    key: ConfigMapKey = Field(description="The key whose value becomes the variable's value.")
    optional: bool | None = Field(
        default=None, description="Start the pods even when the object or the key is missing."
    )


def _pod_field_path(path: str) -> bool:
    return path in POD_FIELD_PATHS or (
        path.startswith(POD_FIELD_PATH_PREFIXES) and path.endswith("']")
    )


_POD_FIELD_MESSAGE: Final = (
    f"must be one of {', '.join(POD_FIELD_PATHS)}, metadata.labels['KEY'] "
    "or metadata.annotations['KEY']"
)


class PodFieldSelector(KappaModel):
    """A field of the function pod, as Kubernetes' fieldRef."""

    api_version: Literal["v1"] | None = Field(
        default=None, description="API version of fieldPath's schema; only v1."
    )
    field_path: Annotated[
        str,
        Field(max_length=OBJECT_NAME_MAX_LENGTH),
        Rule(
            cel=(
                f"self in {cel_list(POD_FIELD_PATHS)} || ("
                + " || ".join(f"self.startsWith({cel_string(p)})" for p in POD_FIELD_PATH_PREFIXES)
                + ') && self.endsWith("\']")'
            ),
            message=_POD_FIELD_MESSAGE,
            problem=lambda path: None if _pod_field_path(path) else _POD_FIELD_MESSAGE,
        ),
    ] = Field(description="The pod field, e.g. metadata.name or status.podIP.")


class EnvVarSource(KappaModel):
    """Where a variable's value comes from: exactly one of the three references."""

    rules: ClassVar = (
        exactly_one(
            ("secretKeyRef", "configMapKeyRef", "fieldRef"),
            "valueFrom must set exactly one of secretKeyRef, configMapKeyRef, fieldRef",
        ),
    )

    secret_key_ref: KeySelector | None = Field(default=None, description="A key of a Secret.")
    config_map_key_ref: KeySelector | None = Field(
        default=None, description="A key of a ConfigMap."
    )
    field_ref: PodFieldSelector | None = Field(default=None, description="A field of the pod.")


_ENV_VALUE_OR_FROM: Final = "an env variable takes either value or valueFrom, not both: remove one"


class EnvVar(KappaModel):
    """An environment variable of the function, as Kubernetes' EnvVar (no resourceFieldRef)."""

    rules: ClassVar = (
        Rule(
            cel="!has(self.value) || !has(self.valueFrom)",
            message=_ENV_VALUE_OR_FROM,
            problem=lambda var: (
                _ENV_VALUE_OR_FROM if var.value is not None and var.value_from is not None else None
            ),
        ),
    )

    name: Annotated[
        str,
        Field(min_length=1, max_length=ENV_NAME_MAX_LENGTH),
        pattern_rule(
            ENV_NAME_PATTERN,
            "spec.env name must start with a letter or '_' and hold only letters, digits and '_'",
        ),
        _ENV_RESERVED,
    ] = Field(description="Name of the variable; Lambda's reserved names are refused.")
    value: Annotated[str, Field(max_length=ENV_VALUES_MAX_BYTES)] | None = Field(
        default=None,
        description=(
            f"Literal value. All literal values together: at most {ENV_VALUES_MAX_BYTES} bytes."
        ),
    )
    value_from: EnvVarSource | None = Field(
        default=None, description="Take the value from a Secret, a ConfigMap or the pod."
    )


def _env_bytes(env: tuple[EnvVar, ...]) -> int:
    return sum(len(var.value.encode()) for var in env if var.value is not None)


def _duplicate_env_names(env: tuple[EnvVar, ...]) -> list[str]:
    seen: set[str] = set()
    duplicates: list[str] = []
    for var in env:
        if var.name in seen and var.name not in duplicates:
            duplicates.append(var.name)
        seen.add(var.name)
    return duplicates


_ENV_SIZE_MESSAGE: Final = (
    f"spec.env literal values may hold at most {ENV_VALUES_MAX_BYTES} bytes in total (as in "
    "Lambda): move large values to a Secret or ConfigMap and use valueFrom"
)
_ENV_SIZE: Final = Rule(
    cel=f"self.map(e, has(e.value) ? size(bytes(e.value)) : 0).sum() <= {ENV_VALUES_MAX_BYTES}",
    message=_ENV_SIZE_MESSAGE,
    problem=lambda env: _ENV_SIZE_MESSAGE if _env_bytes(env) > ENV_VALUES_MAX_BYTES else None,
)
# The API server checks uniqueness itself (list type map, keyed by name): no CEL needed.
_ENV_UNIQUE: Final = Rule(
    cel=None,
    message="spec.env names must be unique",
    problem=lambda env: (
        f"spec.env names must be unique: {', '.join(dup)} appears more than once"
        if (dup := _duplicate_env_names(env))
        else None
    ),
)

# The API server checks uniqueness itself (list type map, keyed by name), as for env.
_LAYERS_UNIQUE: Final = Rule(
    cel=None,
    message="spec.layers names each Layer once",
    problem=lambda layers: (
        "spec.layers names each Layer once"
        if len({layer.name for layer in layers}) != len(layers)
        else None
    ),
)


# ---------------------------------------------------------- concurrency & co.


_PROVISIONED_MESSAGE: Final = (
    "spec.concurrency.provisioned must not exceed spec.concurrency.reserved: "
    "lower provisioned or raise reserved"
)


_POD_CALLS_MESSAGE: Final = (
    f"spec.concurrency.perPod x spec.concurrency.perRuntime is over {PER_RUNTIME_MAX}, the most "
    "invocations one pod (as one Lambda execution environment) takes at once: lower one of them "
    "and let the autoscaler add pods"
)


class Concurrency(KappaModel):
    """How many invocations the function runs at once, as Lambda's concurrency controls."""

    rules: ClassVar = (
        Rule(
            cel="!has(self.reserved) || self.provisioned <= self.reserved",
            message=_PROVISIONED_MESSAGE,
            field_path=".provisioned",
            problem=lambda c: (
                _PROVISIONED_MESSAGE
                if c.reserved is not None and c.provisioned > c.reserved
                else None
            ),
        ),
        Rule(
            # Guarded: the API server checks rules on the schema's default ({}) as it is.
            cel=(
                "!has(self.perPod) || !has(self.perRuntime) || "
                f"self.perPod * self.perRuntime <= {PER_RUNTIME_MAX}"
            ),
            message=_POD_CALLS_MESSAGE,
            field_path=".perRuntime",
            problem=lambda c: _POD_CALLS_MESSAGE if c.per_pod_calls > PER_RUNTIME_MAX else None,
        ),
    )

    reserved: int | None = Field(
        default=None,
        ge=0,
        le=CONCURRENCY_MAX,
        description=(
            "Concurrent invocations reserved for this function and its cap; 0 throttles every "
            "invocation. Unset: the function shares the unreserved pool."
        ),
    )
    provisioned: int = Field(
        default=0,
        ge=0,
        le=CONCURRENCY_MAX,
        description=(
            "Execution environments kept initialised even when idle (Lambda's provisioned "
            "concurrency); at most reserved."
        ),
    )
    per_pod: int = Field(
        default=1,
        ge=1,
        le=PER_POD_MAX,
        description=(
            "Runtime processes per pod; 1 is Lambda's one execution environment per pod. A pod "
            "takes perPod x perRuntime invocations at once."
        ),
    )
    per_runtime: int = Field(
        default=1,
        ge=1,
        le=PER_RUNTIME_MAX,
        description=(
            "Invocations one runtime process takes at once (Lambda Managed Instances' "
            "AWS_LAMBDA_MAX_CONCURRENCY); 1 is Lambda's one invocation per environment. Over 1 "
            "for python (async def handlers share one event loop), nodejs22 (async handlers) "
            "and provided (a bootstrap that reads AWS_LAMBDA_MAX_CONCURRENCY); docs/runtimes.md."
        ),
    )

    @property
    def per_pod_calls(self) -> int:
        """Invocations one pod takes at once: its runtime processes times each one's calls."""
        return self.per_pod * self.per_runtime


class Scaling(KappaModel):
    """How the autoscaler sizes the function's pods."""

    target_utilization: float = Field(
        default=0.7,
        ge=0.1,
        le=1.0,
        description="Fraction of the pods' slots the autoscaler aims to keep busy.",
    )
    scale_to_zero_after_seconds: int = Field(
        default=60,
        ge=0,
        le=3600,
        description=(
            "Idle seconds before the last on-demand pod goes; 0 removes idle pods at once. "
            "To keep pods warm, set concurrency.provisioned."
        ),
    )
    max_replicas: int | None = Field(
        default=None,
        ge=1,
        le=CONCURRENCY_MAX,
        description="Upper bound on pods; unset: bounded by reserved concurrency and quotas.",
    )


class Destination(KappaModel):
    """Where the outcome of an asynchronous invocation goes: a Function or a NATS subject."""

    rules: ClassVar = (
        exactly_one(
            ("function", "natsSubject"),
            "a destination must set exactly one of function, natsSubject",
        ),
    )

    function: FunctionName | None = Field(
        default=None, description="A Function of the same namespace, invoked with the record."
    )
    nats_subject: (
        Annotated[
            str,
            Field(max_length=NATS_SUBJECT_MAX_LENGTH),
            pattern_rule(
                NATS_SUBJECT_PATTERN,
                "natsSubject must be a NATS subject: non-empty '.'-separated tokens without "
                "spaces or the wildcards '*' and '>'",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description=(
            "A NATS subject the record is published to; it starts with the Function's "
            "namespace and a dot (team-a.orders.failed), as the operator's webhook checks."
        ),
    )


class Async(KappaModel):
    """Asynchronous invocation (Event): retries, event age and destinations, as in Lambda."""

    # No schema default: the API server would write it into every Function, and a durable
    # Function (which refuses the field) could then never be applied.
    maximum_retry_attempts: int | None = Field(
        default=None,
        ge=0,
        le=ASYNC_RETRY_ATTEMPTS_MAX,
        description=(
            f"Retries after a function error (Lambda: 0-{ASYNC_RETRY_ATTEMPTS_MAX}; unset: "
            f"{ASYNC_RETRY_ATTEMPTS_DEFAULT}). Not with spec.durable."
        ),
    )
    maximum_event_age_seconds: int = Field(
        default=21600,
        ge=60,
        le=21600,
        description="Oldest event still invoked, in seconds (Lambda: 60-21600).",
    )
    on_success: Destination | None = Field(
        default=None, description="Destination of records of successful invocations."
    )
    on_failure: Destination | None = Field(
        default=None, description="Destination of records of events that failed for good."
    )

    @property
    def retry_attempts(self) -> int:
        """The retries after a function error: ``maximumRetryAttempts``, Lambda's 2 when unset."""
        if self.maximum_retry_attempts is None:
            return ASYNC_RETRY_ATTEMPTS_DEFAULT
        return self.maximum_retry_attempts


class Durable(KappaModel):
    """Durable execution (Lambda's ``DurableConfig``): the Function's invocations start executions.

    docs/internals/durable.md: a handler written with AWS's durable execution SDK
    checkpoints its steps, waits without running and is replayed from its checkpoints.
    Only the configuration is kept yet; the durable API follows.
    """

    execution_timeout_seconds: int = Field(
        ge=DURABLE_EXECUTION_TIMEOUT_MIN,
        le=DURABLE_EXECUTION_TIMEOUT_MAX,
        description=(
            f"Longest a durable execution may run, all its invocations and waits together, in "
            f"seconds ({DURABLE_EXECUTION_TIMEOUT_MIN}-{DURABLE_EXECUTION_TIMEOUT_MAX}, 366 "
            "days); timeoutSeconds still bounds each invocation."
        ),
    )
    retention_period_in_days: int = Field(
        default=DURABLE_RETENTION_DAYS_DEFAULT,
        ge=DURABLE_RETENTION_DAYS_MIN,
        le=DURABLE_RETENTION_DAYS_MAX,
        description=(
            f"Days an ended execution's history is kept ({DURABLE_RETENTION_DAYS_MIN}-"
            f"{DURABLE_RETENTION_DAYS_MAX})."
        ),
    )


class UrlAuthType(enum.StrEnum):
    """Who may call the Function's HTTP trigger (Lambda's function URL ``AuthType``)."""

    KUBERNETES = "KUBERNETES"
    AWS_IAM = "AWS_IAM"
    NONE = "NONE"


class UrlInvokeMode(enum.StrEnum):
    """How the Function's HTTP trigger answers (Lambda's function URL ``InvokeMode``)."""

    BUFFERED = "BUFFERED"
    RESPONSE_STREAM = "RESPONSE_STREAM"


class FunctionUrl(KappaModel):
    """The Function's HTTP trigger, ``/fn/<namespace>/<name>/...`` (Lambda's function URL)."""

    auth_type: UrlAuthType = Field(
        default=UrlAuthType.KUBERNETES,
        strict=False,
        description=(
            "KUBERNETES: a Kubernetes token (audience kappa) or a SigV4 signature, and RBAC's "
            "invoke; AWS_IAM: a SigV4 signature only, and invoke; NONE: anyone may call this "
            "HTTP trigger, unauthenticated (nothing else of the Function opens)."
        ),
    )
    invoke_mode: UrlInvokeMode = Field(
        default=UrlInvokeMode.BUFFERED,
        strict=False,
        description=(
            "BUFFERED: the HTTP trigger answers once the handler has finished. "
            "RESPONSE_STREAM: a streaming handler's bytes (awslambda.streamifyResponse) "
            "are sent as it writes them, with the status and headers of its "
            "HttpResponseStream prelude; a handler that returns its result answers whole."
        ),
    )


class LogFormat(enum.StrEnum):
    """How the function's logs are written (Lambda's ``LoggingConfig.LogFormat``)."""

    TEXT = "Text"
    JSON = "JSON"


class ApplicationLogLevel(enum.StrEnum):
    """The least severe level of the handler's own log records that is written."""

    TRACE = "TRACE"
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"
    FATAL = "FATAL"


class SystemLogLevel(enum.StrEnum):
    """The least severe level of the platform's lines (START, END, REPORT) that is written."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"


_LOG_LEVELS_NEED_JSON_MESSAGE: Final = (
    "spec.loggingConfig.applicationLogLevel and systemLogLevel need logFormat JSON: set "
    "logFormat to JSON or remove the levels"
)


class LoggingConfig(KappaModel):
    """Lambda's ``LoggingConfig``: the log format, and with JSON the levels written."""

    rules: ClassVar = (
        Rule(
            cel=(
                "self.logFormat == 'JSON' || "
                "(!has(self.applicationLogLevel) && !has(self.systemLogLevel))"
            ),
            message=_LOG_LEVELS_NEED_JSON_MESSAGE,
            field_path=".logFormat",
            problem=lambda c: (
                None
                if c.log_format is LogFormat.JSON
                or (c.application_log_level is None and c.system_log_level is None)
                else _LOG_LEVELS_NEED_JSON_MESSAGE
            ),
        ),
    )

    log_format: LogFormat = Field(
        default=LogFormat.TEXT,
        strict=False,
        description=(
            "Text: lines as the handler and Lambda print them; JSON: one JSON object a line, "
            "the handler's (AWS_LAMBDA_LOG_FORMAT for its runtime) and START/END/REPORT "
            "alike (platform.start, platform.runtimeDone, platform.report)."
        ),
    )
    application_log_level: ApplicationLogLevel | None = Field(
        default=None,
        strict=False,
        description=(
            "JSON only: the least severe of the handler's records written (AWS_LAMBDA_LOG_LEVEL "
            "for its runtime's logger); INFO when unset."
        ),
    )
    system_log_level: SystemLogLevel | None = Field(
        default=None,
        strict=False,
        description=(
            "JSON only: the least severe platform record written (start, runtimeDone and a "
            "successful report are INFO, a report of a timeout or a crash WARN); INFO when unset."
        ),
    )

    @property
    def effective_application_level(self) -> ApplicationLogLevel | None:
        """The level the runtime gets: INFO by default with JSON, none with Text."""
        if self.log_format is not LogFormat.JSON:
            return None
        return self.application_log_level or ApplicationLogLevel.INFO

    @property
    def effective_system_level(self) -> SystemLogLevel:
        """The level the agent writes its lines at (Text: INFO, every line)."""
        return self.system_log_level or SystemLogLevel.INFO


# ---------------------------------------------------------------------- spec


_HANDLER_REQUIRED_MESSAGE: Final = (
    "set it to module.function for python (e.g. app.handler), file.export for nodejs "
    "(e.g. index.handler) or package.Class::method for java (e.g. example.Hello::handleRequest)"
)
_PYTHON_HANDLER_MESSAGE: Final = (
    "spec.handler must be module.function for python runtimes, e.g. app.handler or pkg/app.handler"
)
_NODEJS_HANDLER_MESSAGE: Final = (
    "spec.handler must be file.export for nodejs runtimes, e.g. index.handler or src/index.handler"
)
_JAVA_HANDLER_MESSAGE: Final = (
    "spec.handler must be package.Class or package.Class::method for java runtimes, e.g. "
    "example.Hello or example.Hello::handleRequest"
)
_IMAGE_CODE_MESSAGE: Final = (
    "runtime image takes its code from spec.code.image: set spec.code.image to the function's image"
)
# The user's image runs one Runtime API client, on the one port the agent gives it.
_IMAGE_PER_POD_MESSAGE: Final = (
    "spec.concurrency.perPod must be 1 for runtime image: the image runs a single runtime "
    "client; scale out with more pods instead"
)
_IMAGE_PATH_RUNTIME_MESSAGE: Final = (
    "spec.code.imagePath applies to an image that only carries code, run on a managed "
    "runtime (python3.11...): with runtime image the image runs as it is; remove imagePath "
    "or set spec.runtime to the code's runtime"
)


_MAX_REPLICAS_MESSAGE: Final = (
    "spec.scaling.maxReplicas x spec.concurrency.perPod x spec.concurrency.perRuntime is less "
    "than spec.concurrency.provisioned: raise maxReplicas or lower provisioned"
)
_PER_RUNTIME_MESSAGE: Final = (
    "spec.concurrency.perRuntime over 1 needs a runtime whose process takes concurrent "
    f"calls: {', '.join(CONCURRENT_RUNTIMES)} (the nodejs20 and java17 images' clients take one "
    "call at a time; image: the agent cannot end an outside runtime's calls on a timeout); "
    "set perRuntime to 1 or use perPod"
)


def _handler_rule(runtimes: tuple[str, ...], pattern: str, message: str) -> Rule:
    """``spec.handler``, when set for one of ``runtimes``, matches ``pattern``."""

    def problem(spec: "FunctionSpec") -> str | None:
        handler = spec.handler
        if spec.runtime.value not in runtimes or handler is None or re.fullmatch(pattern, handler):
            return None
        return message

    return Rule(
        cel=(
            f"!(self.runtime in {cel_list(runtimes)}) || !has(self.handler)"
            f" || self.handler.matches({cel_matches(pattern)})"
        ),
        message=message,
        field_path=".handler",
        problem=problem,
    )


def _max_replicas_problem(spec: "FunctionSpec") -> str | None:
    max_replicas = spec.scaling.max_replicas
    per_pod, provisioned = spec.concurrency.per_pod_calls, spec.concurrency.provisioned
    if max_replicas is None or max_replicas * per_pod >= provisioned:
        return None
    return _MAX_REPLICAS_MESSAGE


_IMAGE_LAYERS_MESSAGE: Final = (
    "spec.layers does not apply to runtime image (as Lambda's container images, the image "
    "carries what it needs): build the layers into the image or use a managed runtime"
)
_DURABLE_RETRIES_MESSAGE: Final = (
    "spec.async.maximumRetryAttempts does not apply to a durable Function (spec.durable): "
    "its executions retry their own invocations, as Lambda's do; remove maximumRetryAttempts "
    "(a Function made before spec.durable existed holds its old default, 2: kubectl patch "
    "--type json it away)"
)
_DURABLE_RUNTIME_MESSAGE: Final = (
    f"needs a Python runtime ({', '.join(PYTHON_RUNTIMES)}), or provided or image with the "
    "durable execution SDK in the code (Node.js and Java follow when their SDKs are tested "
    "here): change spec.runtime or remove spec.durable"
)


class FunctionSpec(KappaModel):
    """What the function is and how it runs: runtime, handler, code, limits, concurrency."""

    rules: ClassVar = (
        Rule(
            cel="self.runtime != 'image' || !has(self.layers) || size(self.layers) == 0",
            message=_IMAGE_LAYERS_MESSAGE,
            field_path=".layers",
            problem=lambda spec: (
                _IMAGE_LAYERS_MESSAGE if spec.runtime == "image" and spec.layers else None
            ),
        ),
        Rule(
            cel=f"!(self.runtime in {cel_list(HANDLER_RUNTIMES)}) || has(self.handler)",
            message=(
                f"spec.handler is required for python, nodejs and java runtimes: "
                f"{_HANDLER_REQUIRED_MESSAGE}"
            ),
            message_expression=(
                "'spec.handler is required for runtime ' + self.runtime + ': ' + "
                f"{cel_string(_HANDLER_REQUIRED_MESSAGE)}"
            ),
            field_path=".handler",
            reason=Reason.REQUIRED,
            problem=lambda spec: (
                f"spec.handler is required for runtime {spec.runtime}: {_HANDLER_REQUIRED_MESSAGE}"
                if spec.runtime.needs_handler and spec.handler is None
                else None
            ),
        ),
        _handler_rule(PYTHON_RUNTIMES, PYTHON_HANDLER_PATTERN, _PYTHON_HANDLER_MESSAGE),
        _handler_rule(NODEJS_RUNTIMES, NODEJS_HANDLER_PATTERN, _NODEJS_HANDLER_MESSAGE),
        _handler_rule(JAVA_RUNTIMES, JAVA_HANDLER_PATTERN, _JAVA_HANDLER_MESSAGE),
        Rule(
            cel="self.runtime != 'image' || has(self.code.image)",
            message=_IMAGE_CODE_MESSAGE,
            field_path=".code",
            problem=lambda spec: (
                _IMAGE_CODE_MESSAGE
                if spec.runtime is Runtime.IMAGE and spec.code.image is None
                else None
            ),
        ),
        Rule(
            cel="self.runtime != 'image' || !has(self.code.imagePath)",
            message=_IMAGE_PATH_RUNTIME_MESSAGE,
            field_path=".code.imagePath",
            problem=lambda spec: (
                _IMAGE_PATH_RUNTIME_MESSAGE
                if spec.runtime is Runtime.IMAGE and spec.code.image_path is not None
                else None
            ),
        ),
        Rule(
            cel="self.runtime != 'image' || self.concurrency.perPod == 1",
            message=_IMAGE_PER_POD_MESSAGE,
            field_path=".concurrency.perPod",
            problem=lambda spec: (
                _IMAGE_PER_POD_MESSAGE
                if spec.runtime is Runtime.IMAGE and spec.concurrency.per_pod != 1
                else None
            ),
        ),
        Rule(
            cel=(
                "self.concurrency.perRuntime == 1 || "
                f"self.runtime in {cel_list(CONCURRENT_RUNTIMES)}"
            ),
            message=_PER_RUNTIME_MESSAGE,
            field_path=".concurrency.perRuntime",
            problem=lambda spec: (
                _PER_RUNTIME_MESSAGE
                if spec.concurrency.per_runtime != 1 and not spec.runtime.takes_concurrent_calls
                else None
            ),
        ),
        Rule(
            cel=(
                "!has(self.scaling.maxReplicas) || self.concurrency.provisioned <= "
                "self.scaling.maxReplicas * self.concurrency.perPod * self.concurrency.perRuntime"
            ),
            message=_MAX_REPLICAS_MESSAGE,
            field_path=".scaling.maxReplicas",
            problem=_max_replicas_problem,
        ),
        Rule(
            cel="!has(self.durable) || !has(self.async) || !has(self.async.maximumRetryAttempts)",
            message=_DURABLE_RETRIES_MESSAGE,
            field_path=".async.maximumRetryAttempts",
            problem=lambda spec: (
                _DURABLE_RETRIES_MESSAGE
                if spec.durable is not None and spec.async_.maximum_retry_attempts is not None
                else None
            ),
        ),
        Rule(
            cel=f"!has(self.durable) || self.runtime in {cel_list(DURABLE_RUNTIMES)}",
            message=f"spec.durable {_DURABLE_RUNTIME_MESSAGE}",
            message_expression=(
                "'spec.durable with runtime ' + self.runtime + ' ' + "
                f"{cel_string(_DURABLE_RUNTIME_MESSAGE)}"
            ),
            field_path=".durable",
            problem=lambda spec: (
                f"spec.durable with runtime {spec.runtime} {_DURABLE_RUNTIME_MESSAGE}"
                if spec.durable is not None and not spec.runtime.runs_durable
                else None
            ),
        ),
    )

    runtime: Runtime = Field(
        strict=False,
        description=(
            "Language runtime: python3.11-3.13 (awslambdaric), nodejs20/22, java17 (AWS's Java "
            "runtime interface client), provided (a "
            "bootstrap executable in the code), or image (spec.code.image brings its own; "
            "with another runtime, spec.code.image only carries the code)."
        ),
    )
    handler: (
        Annotated[
            str,
            Field(max_length=HANDLER_MAX_LENGTH),
            pattern_rule(HANDLER_PATTERN, "spec.handler must not be empty or hold spaces"),
        ]
        | None
    ) = Field(
        default=None,
        description=(
            "Entry point: module.function for python (app.handler), file.export for nodejs "
            "(index.handler), package.Class[::method] for java (example.Hello::handleRequest). "
            "Required for those runtimes; for provided and image it is "
            "passed on as _HANDLER."
        ),
    )
    code: Code = Field(description="The function's code: exactly one of its four sources.")
    layers: Annotated[
        tuple[LayerRef, ...], Field(max_length=MAX_LAYERS, strict=False), _LAYERS_UNIQUE
    ] = Field(
        default=(),
        description=(
            f"Layers (at most {MAX_LAYERS}, each named once) unpacked under /opt in this "
            "order before the code, a later one's file replacing an earlier one's."
        ),
        json_schema_extra=list_map("name"),
    )
    memory_mb: int = Field(
        default=MEMORY_MB_DEFAULT,
        ge=MEMORY_MB_MIN,
        le=MEMORY_MB_MAX,
        alias="memoryMB",
        description=(
            f"Memory in MiB ({MEMORY_MB_MIN}-{MEMORY_MB_MAX}): the pod's memory request and "
            "limit; CPU is proportional to it (1769 MiB = 1 vCPU), as in Lambda."
        ),
    )
    timeout_seconds: int = Field(
        default=TIMEOUT_SECONDS_DEFAULT,
        ge=TIMEOUT_SECONDS_MIN,
        le=TIMEOUT_SECONDS_MAX,
        description=(
            f"Longest an invocation may run, in seconds ({TIMEOUT_SECONDS_MIN}-"
            f"{TIMEOUT_SECONDS_MAX})."
        ),
    )
    ephemeral_storage_mb: int = Field(
        default=EPHEMERAL_STORAGE_MB_DEFAULT,
        ge=EPHEMERAL_STORAGE_MB_MIN,
        le=EPHEMERAL_STORAGE_MB_MAX,
        alias="ephemeralStorageMB",
        description=(
            f"Size of /tmp in MiB ({EPHEMERAL_STORAGE_MB_MIN}-{EPHEMERAL_STORAGE_MB_MAX})."
        ),
    )
    env: Annotated[
        tuple[EnvVar, ...],
        Field(max_length=ENV_MAX_ITEMS, strict=False),
        _ENV_SIZE,
        _ENV_UNIQUE,
    ] = Field(
        default=(),
        description=(
            "Environment variables (literal, or from Secrets, ConfigMaps and the pod); "
            f"literal values at most {ENV_VALUES_MAX_BYTES} bytes in total."
        ),
        json_schema_extra=list_map("name"),
    )
    service_account_name: ObjectName | None = Field(
        default=None,
        description=(
            "Service account of the pods (the execution role); without it no token is mounted."
        ),
    )
    concurrency: Concurrency = Field(
        default_factory=Concurrency,
        description="Reserved and provisioned concurrency, and invocations per pod.",
        json_schema_extra={"default": {}},
    )
    scaling: Scaling = Field(
        default_factory=Scaling,
        description="Autoscaling: target utilisation, scale to zero, maximum pods.",
        json_schema_extra={"default": {}},
    )
    async_: Async = Field(
        default_factory=Async,
        alias="async",
        description="Asynchronous invocation: retries, maximum event age, destinations.",
        json_schema_extra={"default": {}},
    )
    url: FunctionUrl = Field(
        default_factory=FunctionUrl,
        description="The HTTP trigger's access: who may call /fn/<namespace>/<name>/.",
        json_schema_extra={"default": {}},
    )
    logging_config: LoggingConfig = Field(
        default_factory=LoggingConfig,
        description="Log format (Text or JSON) and, with JSON, the levels written.",
        json_schema_extra={"default": {}},
    )
    durable: Durable | None = Field(
        default=None,
        description=(
            "Durable execution (Lambda's durable functions, AWS's durable execution SDK): "
            "set, the Function is durable. Only the configuration is kept yet."
        ),
    )
    publish: bool = Field(
        default=False,
        description=(
            "Publish a version (FunctionVersion) of each change once it is Ready; versions "
            "are also published on request (kappa publish, the Lambda API's PublishVersion)."
        ),
    )

    @property
    def needs_handler(self) -> bool:
        """Whether the runtime requires ``handler``."""
        return self.runtime.needs_handler

    @property
    def code_source(self) -> CodeSource:
        """Which of the code sources is set."""
        return self.code.source

    @property
    def env_value_bytes(self) -> int:
        """Bytes of literal environment values, the quantity bounded by 4 KiB."""
        return _env_bytes(self.env)


# -------------------------------------------------------------------- status


class FunctionStatus(KappaModel):
    """What the operator observed of the Function; written by Kappa only."""

    conditions: StatusConditions = Field(
        default=(),
        max_length=32,
        description="Ready, CodeReady, Scaled... with the generation they were set from.",
    )
    observed_generation: ObservedGeneration = None
    replicas: int | None = Field(default=None, ge=0, description="Pods of the Function.")
    ready_replicas: int | None = Field(
        default=None, ge=0, description="Pods ready to take invocations."
    )
    provisioned_ready: int | None = Field(
        default=None, ge=0, description="Provisioned execution environments ready."
    )
    desired_replicas: int | None = Field(
        default=None, ge=0, description="Pods the autoscaler (or the provisioned floor) asks for."
    )
    in_flight: int | None = Field(
        default=None, ge=0, description="Invocations running when the status was written."
    )
    url: str | None = Field(default=None, description="HTTP trigger URL of the function.")
    arn: str | None = Field(
        default=None,
        description="Lambda-style ARN: arn:aws:lambda:REGION:NAMESPACE:function:NAME.",
    )
    code_sha256: str | None = Field(
        default=None, description="SHA-256 of the code the pods run (inline or url code)."
    )
    last_scale_time: datetime | None = Field(
        default=None, strict=False, description="When the number of pods last changed."
    )

    def condition(self, type_: str) -> Condition | None:
        """The condition of type ``type_``, if there is one."""
        return next((c for c in self.conditions if c.type == type_), None)


# ------------------------------------------------------------------ Function


_NAME_LENGTH_MESSAGE: Final = (
    f"metadata.name must be at most {DNS1123_LABEL_MAX_LENGTH} characters: it becomes the "
    "value of the kappa.dev/function label"
)
_NAME_PATTERN_MESSAGE: Final = (
    "metadata.name must be a DNS-1123 label: lowercase letters, digits and '-' (no '.'), "
    "starting and ending with a letter or a digit, since it names the function's pods"
)


class Function(KappaModel):
    """A function run Lambda-style: invoked over HTTP or the Lambda Invoke API, scaled by load."""

    rules: ClassVar = (
        Rule(
            cel=f"size(self.metadata.name) <= {DNS1123_LABEL_MAX_LENGTH}",
            message=_NAME_LENGTH_MESSAGE,
            field_path=".metadata.name",
            problem=lambda fn: (
                _NAME_LENGTH_MESSAGE if len(fn.metadata.name) > DNS1123_LABEL_MAX_LENGTH else None
            ),
        ),
        Rule(
            cel=f"self.metadata.name.matches({cel_matches(DNS1123_LABEL_PATTERN)})",
            message=_NAME_PATTERN_MESSAGE,
            field_path=".metadata.name",
            problem=lambda fn: (
                None
                if re.fullmatch(DNS1123_LABEL_PATTERN, fn.metadata.name)
                else _NAME_PATTERN_MESSAGE
            ),
        ),
    )

    api_version: ApiVersion = "kappa.dev/v1alpha1"
    kind: Literal["Function"] = Field(default=KIND, description="Function.")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: FunctionSpec = Field(description="What the function is and how it runs.")
    status: FunctionStatus | None = Field(
        default=None, description="What Kappa observed; written by the operator."
    )

    @property
    def name(self) -> str:
        """The Function's name."""
        return self.metadata.name

    def code_source(self) -> CodeSource:
        """Which of the code sources the spec sets."""
        return self.spec.code_source
