"""The Lambda control-plane API's bodies, in and out. Pure: JSON and objects in, values out.

Requests are checked before anything is written: a body is a JSON object of the fields
Lambda's model gives the call, with their types and bounds, else 400
``InvalidParameterValueException`` saying which field to fix. Answers are Lambda's
shapes (``AliasConfiguration``, ``ProvisionedConcurrencyConfig``...) made from the
FunctionAlias and FunctionVersion objects as the API server holds them.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.function_alias import valid_alias
from kappa.base.arn import function_arn
from kappa.invocation.errors import invalid_parameter

DESCRIPTION_MAX: Final = 256
CONCURRENCY_MAX: Final = 100_000
_NUMBER: Final = re.compile(r"[1-9][0-9]{0,9}")


def json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (empty body: ``{}``); 400 for anything else."""
    if not body.strip():
        return {}
    try:
        found = json.loads(body)
    except ValueError as exc:
        raise invalid_parameter(f"The request body is not JSON: {exc}") from None
    if not isinstance(found, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    return found


def text(body: Mapping[str, Any], field: str, *, limit: int = DESCRIPTION_MAX) -> str | None:
    """The string field ``field`` of a request (None: not given); 400 when it is not one."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid_parameter(f"{field} must be a string of at most {limit} characters.")
    return value


def _count(body: Mapping[str, Any], field: str) -> int:
    value = body.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= CONCURRENCY_MAX:
        raise invalid_parameter(f"{field} must be a whole number from 0 to {CONCURRENCY_MAX}.")
    return value


def description(body: Mapping[str, Any]) -> str | None:
    """``Description`` of PublishVersion, CreateAlias, UpdateAlias (None: not given)."""
    return text(body, "Description")


def version_number(value: object, field: str = "FunctionVersion") -> str:
    """A published version's number (``$LATEST`` too for an alias's FunctionVersion)."""
    if isinstance(value, str) and (value == "$LATEST" or _NUMBER.fullmatch(value)):
        return value
    raise invalid_parameter(f"{field} must be $LATEST or a published version's number.")


@dataclass(frozen=True, slots=True)
class AliasRequest:
    """What CreateAlias or UpdateAlias asks for; None: not given (UpdateAlias keeps it)."""

    name: str
    version: str | None
    description: str | None
    weights: dict[str, float] | None


def alias_name(value: object) -> str:
    """An alias's ``Name``: a DNS-1123 label that is not only digits (Kubernetes' rule)."""
    if isinstance(value, str) and valid_alias(value):
        return value
    raise invalid_parameter(
        f"Invalid alias Name {value!r}: use lowercase letters, digits and '-' (at most 63, "
        "not only digits); Kappa's aliases are Kubernetes names, so no capitals or '_'."
    )


def alias_request(body: Mapping[str, Any], name: str | None = None) -> AliasRequest:
    """CreateAlias's body (``name`` None: the body's ``Name``) or UpdateAlias's (the path's)."""
    chosen = alias_name(body.get("Name") if name is None else name)
    version = body.get("FunctionVersion")
    if name is None and version is None:
        raise invalid_parameter("FunctionVersion is required.")
    weights = None
    routing = body.get("RoutingConfig")
    if routing is not None:
        if not isinstance(routing, dict):
            raise invalid_parameter("RoutingConfig must be an object.")
        raw = routing.get("AdditionalVersionWeights") or {}
        if not isinstance(raw, dict) or len(raw) > 1:
            raise invalid_parameter(
                "RoutingConfig.AdditionalVersionWeights takes at most one version."
            )
        weights = {}
        for key, weight in raw.items():
            number = version_number(key, "AdditionalVersionWeights' version")
            if number == "$LATEST":
                raise invalid_parameter("AdditionalVersionWeights must name a published version.")
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise invalid_parameter("An additional version's weight must be a number.")
            if not 0 <= weight <= 1:
                raise invalid_parameter("An additional version's weight must be from 0 to 1.")
            weights[number] = float(weight)
    return AliasRequest(
        name=chosen,
        version=None if version is None else version_number(version),
        description=description(body),
        weights=weights,
    )


def reserved(body: Mapping[str, Any]) -> int:
    """PutFunctionConcurrency's ``ReservedConcurrentExecutions``."""
    return _count(body, "ReservedConcurrentExecutions")


def provisioned(body: Mapping[str, Any]) -> int:
    """PutProvisionedConcurrencyConfig's ``ProvisionedConcurrentExecutions``."""
    return _count(body, "ProvisionedConcurrentExecutions")


def alias_configuration(obj: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Lambda's ``AliasConfiguration`` of the FunctionAlias ``obj``."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    function = str(spec.get("function") or "")
    alias = str(meta.get("name") or "")[len(function) + 1 :]
    weights = (spec.get("routingConfig") or {}).get("additionalVersionWeights") or {}
    config: dict[str, Any] = {
        "AliasArn": f"{function_arn(region, str(meta.get('namespace') or ''), function)}:{alias}",
        "Name": alias,
        "FunctionVersion": str(spec.get("functionVersion") or ""),
        "Description": str(spec.get("description") or ""),
        "RevisionId": str(meta.get("resourceVersion") or ""),
    }
    if weights:
        config["RoutingConfig"] = {"AdditionalVersionWeights": dict(weights)}
    return config


def alias_manifest(
    namespace: str, function: str, request: AliasRequest, current: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The FunctionAlias that CreateAlias or UpdateAlias applies (``current``: the one held)."""
    spec: dict[str, Any] = dict((current or {}).get("spec") or {})
    spec["function"] = function
    if request.version is not None:
        spec["functionVersion"] = request.version
    if request.description is not None:
        spec["description"] = request.description
    if request.weights is not None:
        if request.weights:
            spec["routingConfig"] = {"additionalVersionWeights": request.weights}
        else:
            spec.pop("routingConfig", None)
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "FunctionAlias",
        "metadata": {"name": f"{function}.{request.name}", "namespace": namespace},
        "spec": spec,
    }


def provisioned_configuration(version: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's ``GetProvisionedConcurrencyConfig`` answer for a FunctionVersion."""
    spec, status = version.get("spec") or {}, version.get("status") or {}
    requested = int(spec.get("provisionedConcurrency") or 0)
    ready = min(requested, int(status.get("readyReplicas") or 0) * _per_pod(spec))
    return {
        "RequestedProvisionedConcurrentExecutions": requested,
        "AvailableProvisionedConcurrentExecutions": ready,
        "AllocatedProvisionedConcurrentExecutions": ready,
        "Status": "READY" if ready >= requested else "IN_PROGRESS",
        "LastModified": str((version.get("metadata") or {}).get("creationTimestamp") or ""),
    }


def _per_pod(spec: Mapping[str, Any]) -> int:
    """Invocations one of the version's pods takes at once: perPod x perRuntime."""
    concurrency = ((spec.get("snapshot") or {}).get("concurrency")) or {}
    calls = 1
    for key in ("perPod", "perRuntime"):
        value = concurrency.get(key)
        calls *= value if isinstance(value, int) and value > 0 else 1
    return calls
