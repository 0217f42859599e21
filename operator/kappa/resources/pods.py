"""The pod of a Function: one Lambda execution environment group.

See docs/internals/function-pods.md for the contract with the agent and the
runtime images. The builder is pure: everything it needs comes in `PodParams`.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from kappa.api.function import LogFormat, LoggingConfig
from kappa.api.names import unit_labels, unit_name
from kappa.base.code_paths import (
    ARCHIVE_DIR,
    ARCHIVE_FILE,
    OPT_ROOT,
    layer_archive_dir,
    layer_archive_url,
)
from kappa.base.ready_push import (
    POD_NAME_VARIABLE,
    POD_NAMESPACE_VARIABLE,
    POD_UID_VARIABLE,
    READY_PUSH_VARIABLE,
)
from kappa.resources.code_configmap import config_map_key
from kappa.resources.gateway_token import TOKEN_FILE, token_env, token_mount, token_volume
from kappa.resources.owner import owner_reference

REVISION_LABEL: Final = "kappa.dev/revision"
# "true" on pods made for provisioned concurrency (absent on on-demand ones).
PROVISIONED_LABEL: Final = "kappa.dev/provisioned"
ATTEMPT_ANNOTATION: Final = "kappa.dev/attempt"
AGENT_PORT: Final = 8080
# The variable that tells the agent how many slots it runs (a Function's perPod).
SLOTS_VARIABLE: Final = "KAPPA_SLOTS"
# Lambda Managed Instances' variable: invocations one runtime process takes at once
# (spec.concurrency.perRuntime), read by the agent and by the runtime clients.
MAX_CONCURRENCY_VARIABLE: Final = "AWS_LAMBDA_MAX_CONCURRENCY"
AGENT_MEMORY_LIMIT: Final = "128Mi"
# Durable Functions: the Lambda API's address for the SDK's boto3 client, and the token
# file the agent makes the pod credential of (kappa.agent.credentials).
LAMBDA_ENDPOINT_VARIABLE: Final = "AWS_ENDPOINT_URL_LAMBDA"
POD_TOKEN_VARIABLE: Final = "KAPPA_POD_TOKEN_FILE"  # noqa: S105 - a variable's name
URL_CODE_VOLUME_MB: Final = 300
URL_CODE_VOLUME_LIMIT: Final = f"{URL_CODE_VOLUME_MB}Mi"
# Disk beside the volumes: the container's logs (the kubelet rotates them) and what a
# read-only root file system still lets it write. Requested and allowed on top of /tmp and
# the code: a pod that writes more is evicted by its node, not the node's disk filled.
LOG_ROOM_MB: Final = 64
TASK_ROOT: Final = "/var/task"
RUN_AS_USER: Final = 1000
# Lambda gives 1 vCPU at 1,769 MB and scales CPU linearly with memory.
MB_PER_VCPU: Final = 1769
# Time the agent gets after SIGTERM beyond the longest invocation, to drain.
DRAIN_GRACE_SECONDS: Final = 5
# The Runtime API the agent serves a `runtime: image` function (one slot, first port).
IMAGE_RUNTIME_API: Final = "127.0.0.1:9001"
# A code-only image (spec.code.image with a managed runtime): the runtime image carries a
# static copy program alone in its directory (runtime-images/base/copy-code.c). The first
# init container has it copy that directory, itself, into a volume; the second runs it from
# there inside the code image, which may have no shell, into the code volume.
COPY_CODE_DIR: Final = "/usr/lib/kappa-copy-code"
COPY_CODE_PROGRAM: Final = "copy-code"
# Top-level mount points: with imagePath "/" the program skips them (another file system).
COPY_CODE_MOUNT: Final = "/kappa-copy-code"
CODE_IMAGE_MOUNT: Final = "/kappa-code"
# Lambda's 250 MB unzipped, as the agent holds a URL archive to; and a bound on entries.
CODE_IMAGE_MAX_BYTES: Final = 250 * 1024 * 1024
CODE_IMAGE_MAX_ENTRIES: Final = 100_000
COPY_CODE_VOLUME_LIMIT: Final = "8Mi"
INIT_MEMORY_LIMIT: Final = "64Mi"
# Readiness: checked every second; three misses in a row take a pod out of service, so
# one slow answer (a busy node, a GC pause) does not.
READINESS_PERIOD_SECONDS: Final = 1
READINESS_FAILURE_THRESHOLD: Final = 3


@dataclass(frozen=True)
class CodeMount:
    """Where a pod's code comes from: a ConfigMap, an archive URL, a code image, or nothing.

    Nothing: runtime image, whose image is the code. ``image`` with ``image_path``: a
    code-only image whose directory the init containers copy into the task root.
    """

    config_map: str | None = None
    files: Sequence[str] = ()  # paths inside the ConfigMap (keys are flattened paths)
    url: str | None = None
    sha256: str | None = None
    archive: str | None = None  # the ConfigMap's key that holds a zip (url is ARCHIVE_URL)
    image: str | None = None  # a code-only image
    image_path: str | None = None  # its directory copied to the task root


@dataclass(frozen=True)
class LayerMount:
    """A layer's zip: in a ConfigMap key (mounted for the agent) or at a URL."""

    sha256: str
    config_map: str | None = None
    archive: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class PodParams:
    """Everything that shapes a Function's pod; the revision hash covers all but the name."""

    function: str
    namespace: str
    uid: str
    runtime: str
    handler: str
    image: str  # the runtime image, or the user's image for runtime `image`
    agent_image: str
    code: CodeMount
    memory_mb: int
    timeout_seconds: int
    ephemeral_storage_mb: int
    per_pod: int  # runtime processes (KAPPA_SLOTS)
    arn: str
    region: str
    pull_policy: str = "IfNotPresent"
    service_account_name: str | None = None
    env: Sequence[Mapping[str, Any]] = ()
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    # spec.loggingConfig with logFormat JSON (None: Text, Lambda's default); the levels
    # are the effective ones (INFO when unset).
    log_format: str | None = None
    application_log_level: str | None = None
    system_log_level: str | None = None
    layers: Sequence[LayerMount] = ()
    # A published version's number (its pods belong to the FunctionVersion); None: $LATEST.
    version: str | None = None
    # Where the agent sends its spans (the chart's tracing.otlpEndpoint); None: tracing off.
    tracing_endpoint: str | None = None
    tracing_sample_ratio: float | None = None
    # Invocations each runtime process takes at once (AWS_LAMBDA_MAX_CONCURRENCY); None: one.
    per_runtime: int | None = None
    # A durable Function's (spec.durable): the gateway's URL as its pods reach it, for
    # AWS_ENDPOINT_URL_LAMBDA, and the pod credential; None: not durable.
    durable_endpoint: str | None = None

    @property
    def unit(self) -> str:
        """The object the pods belong to: ``hello``, or ``hello.2`` for a version."""
        return unit_name(self.function, self.version)

    def owner(self) -> dict[str, Any]:
        """The controller reference of what is made for the Function or the version."""
        kind = "Function" if self.version is None else "FunctionVersion"
        return owner_reference(self.unit, self.uid, kind)


# Fields added after pods were made: left out of the revision while unset, so that an
# upgrade of the operator does not roll the pods of every Function.
_NEW_FIELDS: Final = (
    "log_format",
    "application_log_level",
    "system_log_level",
    "version",
    "tracing_endpoint",
    "tracing_sample_ratio",
    "per_runtime",
    "durable_endpoint",
)


def logging_params(config: LoggingConfig) -> tuple[str | None, str | None, str | None]:
    """PodParams' (log_format, application_log_level, system_log_level) for ``config``."""
    if config.log_format is not LogFormat.JSON:
        return None, None, None
    application = config.effective_application_level
    return (
        config.log_format.value,
        None if application is None else application.value,
        config.effective_system_level.value,
    )


def cpu_millicores(memory_mb: int) -> int:
    """CPU proportional to memory, as Lambda allots it; never below 10m."""
    return max(10, round(memory_mb * 1000 / MB_PER_VCPU))


def agent_env(params: PodParams) -> list[dict[str, Any]]:
    """Kappa's agent settings (KAPPA_*, and _HANDLER, which the agent passes on)."""
    values = {
        "KAPPA_RUNTIME": params.runtime,
        SLOTS_VARIABLE: str(params.per_pod),
        "KAPPA_TIMEOUT_SECONDS": str(params.timeout_seconds),
        "KAPPA_FUNCTION_ARN": params.arn,
    }
    if params.system_log_level is not None:
        values["KAPPA_SYSTEM_LOG_LEVEL"] = params.system_log_level
    if params.tracing_endpoint:
        values["KAPPA_TRACING_OTLP_ENDPOINT"] = params.tracing_endpoint
        if params.tracing_sample_ratio is not None:
            values["KAPPA_TRACING_SAMPLE_RATIO"] = repr(params.tracing_sample_ratio)
    if params.durable_endpoint is not None:
        # The agent serves its runtimes a pod credential made from this token.
        values[POD_TOKEN_VARIABLE] = TOKEN_FILE
    if params.code.url:
        values["KAPPA_CODE_URL"] = params.code.url
        values["KAPPA_CODE_SHA256"] = params.code.sha256 or ""
    if params.layers:
        values["KAPPA_LAYERS"] = json.dumps(
            [
                {"url": layer.url or layer_archive_url(index), "sha256": layer.sha256}
                for index, layer in enumerate(params.layers)
            ],
            separators=(",", ":"),
        )
    return [{"name": k, "value": v} for k, v in values.items()]


def lambda_env(params: PodParams, pod_name: str, initialization_type: str) -> list[dict[str, Any]]:
    """Lambda's reserved variables, as a function's runtime sees them."""
    values = {
        "_HANDLER": params.handler,
        "AWS_LAMBDA_FUNCTION_NAME": params.function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(params.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": params.version or "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{params.function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": pod_name,
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
        "AWS_REGION": params.region,
        "AWS_DEFAULT_REGION": params.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{params.runtime}",
        "LAMBDA_TASK_ROOT": TASK_ROOT,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": "UTC",
    }
    # As Lambda hands LoggingConfig to runtimes: their loggers write JSON at this level.
    if params.log_format is not None:
        values["AWS_LAMBDA_LOG_FORMAT"] = params.log_format
    if params.application_log_level is not None:
        values["AWS_LAMBDA_LOG_LEVEL"] = params.application_log_level
    # Set only when over one: runtime clients switch to their concurrent mode on its presence.
    if params.per_runtime is not None:
        values[MAX_CONCURRENCY_VARIABLE] = str(params.per_runtime)
    # The durable SDK's boto3 client finds the Lambda API here, unless the Function names one.
    user_names = {str(variable.get("name")) for variable in params.env}
    if params.durable_endpoint is not None and LAMBDA_ENDPOINT_VARIABLE not in user_names:
        values[LAMBDA_ENDPOINT_VARIABLE] = params.durable_endpoint
    return [{"name": k, "value": v} for k, v in values.items()]


def reserved_env(
    params: PodParams, pod_name: str, initialization_type: str
) -> list[dict[str, Any]]:
    """The agent's environment before the user's: its settings, then Lambda's variables."""
    return agent_env(params) + lambda_env(params, pod_name, initialization_type)


def security_context() -> dict[str, Any]:
    """The restricted Pod Security profile, plus a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _volumes(params: PodParams) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts for the container that runs the code)."""
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {"sizeLimit": f"{params.ephemeral_storage_mb}Mi"}}
    ]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 - Lambda's /tmp
    if params.code.config_map and params.code.archive:
        # The zip only, where the agent's ARCHIVE_URL points; it unpacks it into the task root.
        items = [{"key": params.code.archive, "path": ARCHIVE_FILE}]
        archive = {"name": params.code.config_map, "items": items}
        volumes.append({"name": "archive", "configMap": archive})
        mounts.append({"name": "archive", "mountPath": ARCHIVE_DIR, "readOnly": True})
    for index, layer in enumerate(params.layers):
        if layer.config_map and layer.archive:
            layer_items = [{"key": layer.archive, "path": ARCHIVE_FILE}]
            volumes.append(
                {
                    "name": f"layer-{index}",
                    "configMap": {"name": layer.config_map, "items": layer_items},
                }
            )
            mounts.append(
                {"name": f"layer-{index}", "mountPath": layer_archive_dir(index), "readOnly": True}
            )
    if params.layers:
        # Lambda's /opt: the agent unpacks the layers here (the root file system is read-only).
        volumes.append({"name": "opt", "emptyDir": {"sizeLimit": URL_CODE_VOLUME_LIMIT}})
        mounts.append({"name": "opt", "mountPath": OPT_ROOT})
    if params.code.config_map and not params.code.archive:
        items = [{"key": config_map_key(p), "path": p} for p in params.code.files]
        # Executable, as files in a Lambda zip may be: a `provided` bootstrap must be.
        source: dict[str, Any] = {"name": params.code.config_map, "defaultMode": 0o755}
        if items:
            source["items"] = items
        volumes.append({"name": "code", "configMap": source})
        mounts.append({"name": "code", "mountPath": TASK_ROOT, "readOnly": True})
    elif params.code.url:
        # Lambda's 250 MB unzipped, which the agent enforces, and room for the file system.
        volumes.append({"name": "code", "emptyDir": {"sizeLimit": URL_CODE_VOLUME_LIMIT}})
        mounts.append({"name": "code", "mountPath": TASK_ROOT})
    elif params.code.image:
        # Filled by the init containers (code_image_init_containers), read-only afterwards
        # as Lambda's /var/task is.
        volumes.append({"name": "code", "emptyDir": {"sizeLimit": URL_CODE_VOLUME_LIMIT}})
        volumes.append({"name": "copy-code", "emptyDir": {"sizeLimit": COPY_CODE_VOLUME_LIMIT}})
        mounts.append({"name": "code", "mountPath": TASK_ROOT, "readOnly": True})
    return volumes, mounts


def code_image_init_containers(params: PodParams) -> list[dict[str, Any]]:
    """The init containers that copy a code-only image's files into the code volume.

    None unless ``params.code.image`` is set. Both run as the function does (non-root,
    read-only root file system, no capabilities), so the code image's files must be
    readable by others, as Lambda wants of a zip's. A failure ends the pod with the
    program's error (Lambda's shape) as its termination message.
    """
    if not params.code.image:
        return []
    restricted = {
        "imagePullPolicy": params.pull_policy,
        "securityContext": security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "resources": {
            "requests": {"memory": "16Mi", "cpu": "10m", "ephemeral-storage": "1Mi"},
            "limits": {"memory": INIT_MEMORY_LIMIT, "ephemeral-storage": f"{LOG_ROOM_MB}Mi"},
        },
    }
    program = f"{COPY_CODE_MOUNT}/{COPY_CODE_PROGRAM}"
    return [
        {
            "name": "install-copy-code",
            "image": params.image,
            "command": [f"{COPY_CODE_DIR}/{COPY_CODE_PROGRAM}", COPY_CODE_DIR, COPY_CODE_MOUNT],
            "volumeMounts": [{"name": "copy-code", "mountPath": COPY_CODE_MOUNT}],
            **restricted,
        },
        {
            "name": "copy-code",
            "image": params.code.image,
            "command": [
                program,
                params.code.image_path or TASK_ROOT,
                CODE_IMAGE_MOUNT,
                str(CODE_IMAGE_MAX_BYTES),
                str(CODE_IMAGE_MAX_ENTRIES),
            ],
            "volumeMounts": [
                {"name": "copy-code", "mountPath": COPY_CODE_MOUNT, "readOnly": True},
                {"name": "code", "mountPath": CODE_IMAGE_MOUNT},
            ],
            **restricted,
        },
    ]


def disk_limit_mb(params: PodParams) -> int:
    """The function container's ephemeral storage: /tmp, URL code, logs.

    The volumes count towards the pod's limit (the sum of its containers'), so a pod that
    fills /tmp past its size is evicted rather than the node's disk filled.
    """
    code = URL_CODE_VOLUME_MB if params.code.url or params.code.image else 0
    layers = URL_CODE_VOLUME_MB if params.layers else 0
    return params.ephemeral_storage_mb + code + layers + LOG_ROOM_MB


def readiness_probe() -> dict[str, Any]:
    """The kubelet asks the agent's ``/readyz`` (200 once every slot reached ``/next``)."""
    return {
        "httpGet": {"path": "/readyz", "port": "invoke"},
        "periodSeconds": READINESS_PERIOD_SECONDS,
        "failureThreshold": READINESS_FAILURE_THRESHOLD,
        "successThreshold": 1,
    }


def ready_push_env(addresses: Sequence[str]) -> list[dict[str, Any]]:
    """Where the agent tells it can take calls, and the pod's uid that proves which pod it is.

    The gateways' addresses (``host:port``, as the autoscaler heard them) go to the agent,
    which posts its readiness to each at once: the gateways route to the pod before the
    kubelet reports its IP (up to a second later). The uid, from the downward API, is the
    proof: a gateway takes a push only for a pod it knows, with that uid, from the push's
    own source address (docs/internals/function-pods.md, "Readiness pushed by the agent").
    """
    if not addresses:
        return []

    def field(path: str) -> dict[str, Any]:
        return {"fieldRef": {"fieldPath": path}}

    return [
        {"name": READY_PUSH_VARIABLE, "value": ",".join(addresses)},
        {"name": POD_NAME_VARIABLE, "valueFrom": field("metadata.name")},
        {"name": POD_NAMESPACE_VARIABLE, "valueFrom": field("metadata.namespace")},
        {"name": POD_UID_VARIABLE, "valueFrom": field("metadata.uid")},
    ]


def make_pod(  # noqa: PLR0913 - the pod's parts, keyword-only
    params: PodParams,
    *,
    name: str,
    revision: str,
    attempt: int = 0,
    provisioned: bool = False,
    ready_push: Sequence[str] = (),
) -> dict[str, Any]:
    """The pod manifest for one environment of the Function in `params`.

    ``ready_push``: the gateways the agent tells when it can take calls (:func:`ready_push_env`).
    """
    init_type = "provisioned-concurrency" if provisioned else "on-demand"
    # The user's variables come last, so `$(VAR)` references in them can use the reserved
    # ones (the CRD refuses reserved names, so none is overridden).
    user_env = [dict(e) for e in params.env]
    token = [token_env()] if params.service_account_name else []
    push = ready_push_env(ready_push)
    env = reserved_env(params, name, init_type) + push + token + user_env
    memory = f"{params.memory_mb}Mi"
    cpu = f"{cpu_millicores(params.memory_mb)}m"
    # No CPU limit, on purpose: the request gives Lambda's share under contention, and a
    # limit that small (72m at 128 MB) would throttle the agent and the runtime's start
    # (CFS quota) far below what Lambda gives; idle CPU is free to use.
    resources = {
        "requests": {"memory": memory, "cpu": cpu, "ephemeral-storage": f"{LOG_ROOM_MB}Mi"},
        "limits": {"memory": memory, "ephemeral-storage": f"{disk_limit_mb(params)}Mi"},
    }
    volumes, mounts = _volumes(params)
    # A function that invokes others calls as its account; a durable one's agent makes its
    # pod credential of the token, whatever automountServiceAccountToken says.
    agent_mounts: list[dict[str, Any]] = []
    if params.service_account_name or params.durable_endpoint is not None:
        volumes.append(token_volume())
        if params.service_account_name:
            mounts.append(token_mount())
        if params.durable_endpoint is not None:
            agent_mounts.append(token_mount())
    probe = readiness_probe()
    agent_port = [{"name": "invoke", "containerPort": AGENT_PORT, "protocol": "TCP"}]
    common = {
        "imagePullPolicy": params.pull_policy,
        "securityContext": security_context(),
        "terminationMessagePolicy": "File",
    }
    if params.runtime == "image":
        # The user's image carries its own Runtime API client; the agent runs beside it.
        containers = [
            {
                "name": "agent",
                "image": params.agent_image,
                "command": ["python3", "-m", "kappa", "agent"],
                "env": env,
                "ports": agent_port,
                "readinessProbe": probe,
                **({"volumeMounts": agent_mounts} if agent_mounts else {}),
                # A limit as every container has: the agent holds at most a 6 MB payload
                # and its answer beside its own ~30 MB.
                "resources": {
                    "requests": {"memory": "32Mi", "cpu": "10m", "ephemeral-storage": "16Mi"},
                    "limits": {
                        "memory": AGENT_MEMORY_LIMIT,
                        "ephemeral-storage": f"{LOG_ROOM_MB}Mi",
                    },
                },
                **common,
            },
            {
                "name": "function",
                "image": params.image,
                # Lambda's variables only: the agent's settings are not the function's business.
                "env": [
                    *lambda_env(params, name, init_type),
                    {"name": "AWS_LAMBDA_RUNTIME_API", "value": IMAGE_RUNTIME_API},
                    *token,
                    *user_env,
                ],
                "volumeMounts": mounts,
                "resources": resources,
                **common,
            },
        ]
    else:
        containers = [
            {
                "name": "function",
                "image": params.image,
                "env": env,
                "ports": agent_port,
                "readinessProbe": probe,
                "volumeMounts": _merged(mounts, agent_mounts),
                "resources": resources,
                **common,
            }
        ]
    labels = {
        **unit_labels(params.function, params.version),
        REVISION_LABEL: revision,
        **params.extra_labels,
    }
    if provisioned:
        labels[PROVISIONED_LABEL] = "true"
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": containers,
        "volumes": volumes,
        "automountServiceAccountToken": params.service_account_name is not None,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": params.timeout_seconds + DRAIN_GRACE_SECONDS,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    if init_containers := code_image_init_containers(params):
        spec["initContainers"] = init_containers
    if params.service_account_name:
        spec["serviceAccountName"] = params.service_account_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": params.namespace,
            "labels": labels,
            "annotations": {ATTEMPT_ANNOTATION: str(attempt)},
            "ownerReferences": [params.owner()],
        },
        "spec": spec,
    }


def _merged(mounts: list[dict[str, Any]], more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``mounts`` and those of ``more`` it does not have yet (a volume is mounted once)."""
    return mounts + [mount for mount in more if mount not in mounts]


def revision_of(params: PodParams) -> str:
    """A short hash of everything that shapes the pod: a new value rolls the pods.

    Fields added later are left out while unused, so an upgrade of the operator does not
    roll every pod that does not use them.
    """
    shape = asdict(params)
    for name in _NEW_FIELDS:
        if shape[name] is None:
            del shape[name]
    if not params.layers:
        del shape["layers"]
    for key in ("archive", "image", "image_path"):
        if shape["code"][key] is None:
            del shape["code"][key]
    canonical = json.dumps(shape, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]
