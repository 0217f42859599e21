"""CreateFunction, UpdateFunctionCode and UpdateFunctionConfiguration bodies, as Kappa's.

Pure: the request's JSON in, the Function's spec fields and the zip out.

Lambda's fields and what they become::

    FunctionName                  metadata.name (and namespace: ``namespace/name``)
    Runtime, Handler              spec.runtime, spec.handler
    MemorySize, Timeout           spec.memoryMB, spec.timeoutSeconds
    Environment.Variables         spec.env (name/value)
    Code.ZipFile                  the zip (at most Lambda's 50 MB): in the ConfigMap
                                  <name>-package up to a ConfigMap's size, else in the
                                  code store, named by spec.code.url
    Code.ImageUri                 spec.runtime image, spec.code.image
    DurableConfig                 spec.durable: ExecutionTimeout → executionTimeoutSeconds
                                  (required), RetentionPeriodInDays → retentionPeriodInDays
                                  (default 14); the whole block, as Lambda replaces it
    Publish                       a version published with the change

``Role`` is taken and not used (RBAC decides, not IAM); ``Code.S3Bucket`` is refused
with what to do instead, and so is a non-empty ``DurableConfig.KMSKeyArn`` (the
payloads of durable executions are kept in NATS JetStream, not encrypted by KMS).
Each field is checked for its type (and ``DurableConfig``'s for Lambda's bounds) here;
the Function the fields make is checked by the API's models before anything is written.
"""

import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kappa.api import function as api
from kappa.gateway.control_shapes import text
from kappa.invocation.errors import invalid_parameter, request_too_large
from kappa.resources.package import PACKAGE_MAX_BYTES

ZIP_BASE64_MAX: Final = -(-PACKAGE_MAX_BYTES // 3) * 4
"""Lambda's 50 MB zip, base64: 69,905,068 characters (their body: ``body.CODE_BODY_MAX``)."""


@dataclass(frozen=True)
class CodeRequest:
    """The code a request gives: a zip, or an image; and whether to publish a version."""

    archive: bytes | None = None
    image: str | None = None
    publish: bool = False


@dataclass(frozen=True)
class FunctionRequest:
    """The spec fields a request sets (Kappa's names) and its code."""

    spec: dict[str, Any] = field(default_factory=dict)
    code: CodeRequest = field(default_factory=CodeRequest)


def _int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_parameter(f"{name} must be a whole number.")
    return value


def _bounded(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    """``body[name]``, a whole number from ``low`` to ``high`` (None: not given); 400 otherwise."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid_parameter(
            f"DurableConfig.{name} must be a whole number from {low} to {high}, not {value!r}."
        )
    return value


_KMS_REFUSED: Final = (
    "DurableConfig.KMSKeyArn is not supported: Kappa keeps the payloads of durable "
    "executions in NATS JetStream, where KMS keys do not apply; leave KMSKeyArn out (encrypt "
    "JetStream's store at rest with JetStream's own encryption)."
)


def durable_fields(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """``spec.durable`` from a request's ``DurableConfig`` (None: not given); 400 when wrong."""
    config = body.get("DurableConfig")
    if config is None:
        return None
    if not isinstance(config, dict):
        raise invalid_parameter(
            "DurableConfig must be an object: {ExecutionTimeout, RetentionPeriodInDays}."
        )
    kms = config.get("KMSKeyArn")
    if kms is not None and not isinstance(kms, str):
        raise invalid_parameter("DurableConfig.KMSKeyArn must be a string.")
    if kms:
        raise invalid_parameter(_KMS_REFUSED)
    timeout = _bounded(
        config,
        "ExecutionTimeout",
        api.DURABLE_EXECUTION_TIMEOUT_MIN,
        api.DURABLE_EXECUTION_TIMEOUT_MAX,
    )
    if timeout is None:
        raise invalid_parameter(
            "DurableConfig.ExecutionTimeout is required: the longest a durable execution may "
            f"run, from {api.DURABLE_EXECUTION_TIMEOUT_MIN} to "
            f"{api.DURABLE_EXECUTION_TIMEOUT_MAX} seconds."
        )
    retention = _bounded(
        config,
        "RetentionPeriodInDays",
        api.DURABLE_RETENTION_DAYS_MIN,
        api.DURABLE_RETENTION_DAYS_MAX,
    )
    return {
        "executionTimeoutSeconds": timeout,
        "retentionPeriodInDays": (
            api.DURABLE_RETENTION_DAYS_DEFAULT if retention is None else retention
        ),
    }


def _publish(body: Mapping[str, Any]) -> bool:
    value = body.get("Publish", False)
    if not isinstance(value, bool):
        raise invalid_parameter("Publish must be true or false.")
    return value


def configuration_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The spec fields of UpdateFunctionConfiguration (and of CreateFunction)."""
    spec: dict[str, Any] = {}
    for lambda_name, kappa_name in (("Runtime", "runtime"), ("Handler", "handler")):
        if (given := text(body, lambda_name, limit=128)) is not None:
            spec[kappa_name] = given
    for lambda_name, kappa_name in (("MemorySize", "memoryMB"), ("Timeout", "timeoutSeconds")):
        if (number := _int(body, lambda_name)) is not None:
            spec[kappa_name] = number
    environment = body.get("Environment")
    if environment is not None:
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        if not isinstance(variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
        ):
            raise invalid_parameter("Environment.Variables must map names to strings.")
        spec["env"] = [{"name": k, "value": v} for k, v in sorted(variables.items())]
    if (durable := durable_fields(body)) is not None:
        spec["durable"] = durable
    return spec


def code_request(code: Mapping[str, Any], *, publish: bool) -> CodeRequest:
    """The code of CreateFunction's ``Code`` or of UpdateFunctionCode's body."""
    if any(code.get(k) is not None for k in ("S3Bucket", "S3Key", "S3ObjectVersion")):
        raise invalid_parameter(
            "Kappa has no S3: send the zip as ZipFile (up to Lambda's 50 MB), or set "
            "spec.code.url to where the cluster can fetch it (kubectl apply)."
        )
    zip_file, image = code.get("ZipFile"), code.get("ImageUri")
    if (zip_file is None) == (image is None):
        raise invalid_parameter("Code must give exactly one of ZipFile and ImageUri.")
    if image is not None:
        if not isinstance(image, str) or len(image) > 512:  # noqa: PLR2004 - an image reference's bound
            raise invalid_parameter("ImageUri must be an image reference.")
        return CodeRequest(image=image, publish=publish)
    if not isinstance(zip_file, str):
        raise invalid_parameter("ZipFile must be base64 of a zip.")
    if len(zip_file) > ZIP_BASE64_MAX:
        raise request_too_large(ZIP_BASE64_MAX)
    try:
        # Decoded from the string itself (no ASCII copy of it first, as b64decode makes).
        archive = binascii.a2b_base64(zip_file, strict_mode=True)
    except (binascii.Error, ValueError):
        raise invalid_parameter("ZipFile is not base64.") from None
    if not archive.startswith(b"PK"):
        raise invalid_parameter("ZipFile is not a zip archive.")
    return CodeRequest(archive=archive, publish=publish)


def create_request(body: Mapping[str, Any]) -> tuple[str, FunctionRequest]:
    """CreateFunction's FunctionName and what it asks for."""
    name = text(body, "FunctionName")
    if not name:
        raise invalid_parameter("FunctionName is required.")
    code = body.get("Code")
    if not isinstance(code, dict):
        raise invalid_parameter("Code is required: {ZipFile} or {ImageUri}.")
    return name, FunctionRequest(
        configuration_fields(body), code_request(code, publish=_publish(body))
    )


def update_code_request(body: Mapping[str, Any]) -> CodeRequest:
    """UpdateFunctionCode's body."""
    return code_request(body, publish=_publish(body))
