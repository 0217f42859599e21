"""What a Function asks for, worked out from its spec.

Pod parameters, revision, code ConfigMap and replica count.

Pure: the Function's body, the operator settings and the digest of the ConfigMap the
Function's code refers to (if any) in, a `DesiredFunction` out.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from kappa.api.function import IMAGE_PATH_DEFAULT, FunctionSpec, Runtime
from kappa.api.function_version import published_as
from kappa.api.meta import FROM_CLUSTER, ConditionState, ConditionStatus, ConditionType
from kappa.api.names import unit_name
from kappa.autoscaler.decider import Spec as ScalingSpec
from kappa.base.arn import function_arn
from kappa.base.code_paths import ARCHIVE_URL
from kappa.controller.adoption import adoption, layer_adoption
from kappa.controller.layers import LayerSource, layer_configmap, layer_mounts
from kappa.resources.code_configmap import (
    CodeDigest,
    code_configmap_name,
    code_sha256,
    make_code_configmap,
)
from kappa.resources.pods import CodeMount, PodParams, logging_params, make_pod, revision_of
from kappa.settings import Settings


@dataclass(frozen=True)
class DesiredFunction:
    """The desired state of one Function."""

    params: PodParams | None
    revision: str
    replicas: int
    provisioned: int
    arn: str
    code_sha256: str | None = None
    code_configmap: Mapping[str, Any] | None = None
    referenced_configmap: str | None = None
    code_problem: ConditionState | None = None
    scaling: ScalingSpec = field(default_factory=ScalingSpec)
    # The owner reference to add to the referenced package ConfigMap (kappa.controller.adoption).
    adopt_configmap: Mapping[str, Any] | None = None
    # (ConfigMap, owner reference) of each package of the Function's Layers to adopt.
    adopt_layer_configmaps: tuple[tuple[str, Mapping[str, Any]], ...] = ()

    @property
    def hold(self) -> bool:
        """The spec or its code is broken: make no pods, keep those that may serve."""
        return self.code_problem is not None

    @property
    def provisioned_pods(self) -> int:
        """Pods that count towards provisioned concurrency."""
        return math.ceil(self.provisioned / self.per_pod)

    @property
    def per_pod(self) -> int:
        """Invocations one pod takes at once (perPod x perRuntime): what provisioned counts."""
        return self.scaling.per_pod

    @property
    def code_configmap_name(self) -> str | None:
        """Name of the ConfigMap Kappa made for inline code, if any."""
        return None if self.code_configmap is None else str(self.code_configmap["metadata"]["name"])

    def pod(
        self,
        name: str,
        *,
        attempt: int,
        provisioned: bool = False,
        ready_push: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The manifest of a new pod named `name` (``ready_push``: the gateways it tells)."""
        if self.params is None:
            msg = "no pod can be made for an invalid Function"
            raise ValueError(msg)
        return make_pod(
            self.params,
            name=name,
            revision=self.revision,
            attempt=attempt,
            provisioned=provisioned,
            ready_push=ready_push,
        )


def referenced_configmap(body: Mapping[str, Any]) -> str | None:
    """The name of the ConfigMap that holds the Function's code (spec.code.configMap), if any.

    Read before `desired_function`, so that the caller can fetch that ConfigMap's data.
    """
    spec = body.get("spec")
    code = spec.get("code") if isinstance(spec, Mapping) else None
    source = code.get("configMap") if isinstance(code, Mapping) else None
    name = source.get("name") if isinstance(source, Mapping) else None
    return name if isinstance(name, str) and name else None


def _check_referenced(name: str, found: CodeDigest | None) -> ConditionState | None:
    """CodeReady=False when the referenced ConfigMap is missing or empty."""
    if found is None:
        return ConditionState(
            ConditionType.CODE_READY,
            ConditionStatus.FALSE,
            "ConfigMapNotFound",
            f"ConfigMap {name!r} (spec.code.configMap.name) does not "
            "exist in this namespace: create it or fix the name",
        )
    if not found.files:
        return ConditionState(
            ConditionType.CODE_READY,
            ConditionStatus.FALSE,
            "ConfigMapEmpty",
            f"ConfigMap {name!r} holds no files: add the handler's code",
        )
    return None


def _check_archive(name: str, key: str, found: CodeDigest | None) -> ConditionState | None:
    """CodeReady=False when the ConfigMap lacks the archive key or it is not base64."""
    if found is not None and found.archive(key) is not None:
        return None
    return ConditionState(
        ConditionType.CODE_READY,
        ConditionStatus.FALSE,
        "ConfigMapArchiveNotFound",
        f"ConfigMap {name!r} has no binaryData key {key!r} (spec.code.configMap.archive) "
        "holding a zip: run kappa deploy again or fix the key",
    )


def _arn(body: Mapping[str, Any], settings: Settings) -> str:
    """The Function's ARN; a version's is qualified by its number (``...:function:hello:2``)."""
    meta = body["metadata"]
    published = published_as(body)
    if published is None:
        return function_arn(settings.region, meta["namespace"], meta["name"])
    return f"{function_arn(settings.region, meta['namespace'], published[0])}:{published[1]}"


def _invalid(body: Mapping[str, Any], settings: Settings, message: str) -> DesiredFunction:
    arn = _arn(body, settings)
    problem = ConditionState(
        ConditionType.CODE_READY, ConditionStatus.FALSE, "InvalidSpec", message
    )
    return DesiredFunction(
        params=None, revision="invalid", replicas=0, provisioned=0, arn=arn, code_problem=problem
    )


def desired_function(
    body: Mapping[str, Any],
    settings: Settings,
    *,
    referenced: CodeDigest | None = None,
    layers: Mapping[str, LayerSource] | None = None,
) -> DesiredFunction:
    """Work out the desired state of the Function in `body`.

    `referenced` is the digest of the ConfigMap named by `referenced_configmap(body)`,
    None when it does not exist. Its hash is part of the revision, so changing the
    ConfigMap rolls the pods. ``layers`` holds what was read for each Layer the Function
    names (``kappa.controller.layers``); their hashes are part of the revision too.

    A published version's body (``kappa.api.function_version.as_function_body``) gives
    the pods of that version: owned by the FunctionVersion, labelled with its number,
    named by the Function (``AWS_LAMBDA_FUNCTION_NAME``) with the number as
    ``AWS_LAMBDA_FUNCTION_VERSION``.
    """
    meta = body["metadata"]
    name, namespace, uid = str(meta["name"]), str(meta["namespace"]), str(meta["uid"])
    published = published_as(body)
    version = None if published is None else published[1]
    if published is not None:
        name = published[0]
    try:
        spec = FunctionSpec.model_validate(body.get("spec") or {}, context=FROM_CLUSTER)
    except ValidationError as exc:
        # The CRD schema refuses most of this at apply time; what gets through shows here.
        return _invalid(body, settings, f"spec is invalid: {exc.errors()[0]['msg']}")
    arn = _arn(body, settings)
    runtime = str(spec.runtime)
    code = spec.code
    configmap: dict[str, Any] | None = None
    sha: str | None = None
    referenced_name: str | None = None
    problem: ConditionState | None = None
    if code.inline is not None:
        configmap = make_code_configmap(
            function=name, namespace=namespace, uid=uid, files=code.inline, version=version
        )
        sha = code_sha256(code.inline)
        mount = CodeMount(
            config_map=code_configmap_name(unit_name(name, version), code.inline),
            files=tuple(sorted(code.inline)),
        )
    elif code.config_map is not None and code.config_map.archive is not None:
        referenced_name, key = code.config_map.name, code.config_map.archive
        problem = _check_referenced(referenced_name, referenced) or _check_archive(
            referenced_name, key, referenced
        )
        sha = referenced.archive(key) if problem is None and referenced is not None else None
        mount = CodeMount(config_map=referenced_name, archive=key, url=ARCHIVE_URL, sha256=sha)
    elif code.config_map is not None:
        referenced_name = code.config_map.name
        problem = _check_referenced(referenced_name, referenced)
        sha = None if referenced is None else referenced.sha256
        # The hash only shapes the revision: the pod mounts the ConfigMap by name.
        mount = CodeMount(config_map=referenced_name, sha256=sha)
    elif code.url is not None:
        sha = code.url.sha256
        mount = CodeMount(url=code.url.url, sha256=code.url.sha256)
    elif code.image is not None and spec.runtime is not Runtime.IMAGE:
        # A code-only image: its files are copied in; the runtime's image runs them.
        mount = CodeMount(image=code.image, image_path=code.image_path or IMAGE_PATH_DEFAULT)
    else:
        mount = CodeMount()
    mounted_layers, layer_problem = layer_mounts([r.name for r in spec.layers], layers or {})
    problem = problem or layer_problem
    prefix, tag = settings.image_prefix, settings.image_tag
    runtime_image = f"{prefix}/runtime-{runtime}:{tag}"
    image = code.image if spec.runtime is Runtime.IMAGE and code.image else runtime_image
    log_format, application_log_level, system_log_level = logging_params(spec.logging_config)
    params = PodParams(
        function=name,
        namespace=namespace,
        uid=uid,
        runtime=runtime,
        handler=spec.handler or "",
        image=image,
        agent_image=f"{prefix}/base:{tag}",
        code=mount,
        memory_mb=spec.memory_mb,
        timeout_seconds=spec.timeout_seconds,
        ephemeral_storage_mb=spec.ephemeral_storage_mb,
        per_pod=spec.concurrency.per_pod,
        per_runtime=spec.concurrency.per_runtime if spec.concurrency.per_runtime > 1 else None,
        arn=arn,
        region=settings.region,
        pull_policy=str(settings.image_pull_policy),
        service_account_name=spec.service_account_name,
        env=tuple(e.model_dump(by_alias=True, exclude_none=True) for e in spec.env),
        log_format=log_format,
        application_log_level=application_log_level,
        system_log_level=system_log_level,
        layers=mounted_layers,
        version=version,
        tracing_endpoint=settings.tracing_otlp_endpoint or None,
        tracing_sample_ratio=settings.tracing_sample_ratio
        if settings.tracing_otlp_endpoint
        else None,
        durable_endpoint=settings.durable_endpoint if spec.durable is not None else None,
    )
    provisioned = spec.concurrency.provisioned
    scaling = ScalingSpec(
        per_pod=spec.concurrency.per_pod_calls,
        target_utilization=spec.scaling.target_utilization,
        scale_to_zero_after=float(spec.scaling.scale_to_zero_after_seconds),
        max_replicas=spec.scaling.max_replicas,
        provisioned=provisioned,
        reserved=spec.concurrency.reserved,
    )
    return DesiredFunction(
        params=params,
        revision=revision_of(params),
        # The pods of a new Function before the autoscaler decides: max(1, provisioned)
        # concurrent invocations, a pod taking `perPod x perRuntime` of them.
        replicas=max(1, math.ceil(provisioned / spec.concurrency.per_pod_calls)),
        provisioned=provisioned,
        arn=arn,
        code_sha256=sha,
        code_configmap=configmap,
        referenced_configmap=referenced_name,
        code_problem=problem,
        scaling=scaling,
        adopt_configmap=None
        if referenced_name is None
        else adoption(name, uid, referenced, version=version),
        adopt_layer_configmaps=_layer_adoptions(layers or {}),
    )


def _layer_adoptions(
    layers: Mapping[str, LayerSource],
) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    """(ConfigMap, reference) of each Layer's package its Layer is to adopt, by Layer name."""
    found = []
    for _, source in sorted(layers.items()):
        configmap = layer_configmap(source.body) if source.body is not None else None
        reference = layer_adoption(source.body, source.data)
        if configmap is not None and reference is not None:
            found.append((configmap, reference))
    return tuple(found)
