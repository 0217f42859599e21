"""A WarmPool's pod: the agent and a runtime image, no Function yet. Pure.

It is a Function's pod less what only a Function gives (its variables, its code): the
same image, security context, resources for the pool's size class, the readiness probe,
an empty writable ``/var/task`` for the code ``/specialise`` brings, and
``KAPPA_POOL_TOKEN_SHA256``, the digest of the token the operator proves itself with when
it claims the pod (``kappa.agent.specialise``). The token itself is in no object: the
operator derives it from its own key (a Secret in its namespace) and the pod's namespace
and name, so whoever may read pods cannot claim one. Its termination grace is Lambda's
longest timeout
and the drain: a pod's grace cannot change once made, and a pool pod may become a pod
of any Function (an idle agent ends at once on SIGTERM).
"""

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.names import POOL_LABEL, POOL_OBJECTS
from kappa.resources.owner import owner_reference
from kappa.resources.pods import (
    AGENT_PORT,
    DRAIN_GRACE_SECONDS,
    LOG_ROOM_MB,
    TASK_ROOT,
    URL_CODE_VOLUME_LIMIT,
    URL_CODE_VOLUME_MB,
    cpu_millicores,
    readiness_probe,
    security_context,
)

POOL_TOKEN_VARIABLE: Final = "KAPPA_POOL_TOKEN"  # noqa: S105 - before 2026-12-04: the token
POOL_DIGEST_VARIABLE: Final = "KAPPA_POOL_TOKEN_SHA256"
LONGEST_TIMEOUT_SECONDS: Final = 900


@dataclass(frozen=True, slots=True)
class PoolPodParams:
    """What a pool's pods are made of."""

    pool: str
    namespace: str
    uid: str
    runtime: str
    image: str
    memory_mb: int
    ephemeral_storage_mb: int
    region: str
    pull_policy: str = "IfNotPresent"


def pool_token(key: bytes, namespace: str, name: str) -> str:
    """The token that claims the pool pod ``namespace/name``: HMAC-SHA256 under ``key``."""
    return hmac.new(key, f"{namespace}/{name}".encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """What the pod keeps of its token: the SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def pool_pod(params: PoolPodParams, *, name: str, key: bytes) -> dict[str, Any]:
    """The manifest of the pool pod ``name``, claimed with its token under ``key``."""
    memory = f"{params.memory_mb}Mi"
    env = {
        POOL_DIGEST_VARIABLE: token_digest(pool_token(key, params.namespace, name)),
        "KAPPA_RUNTIME": params.runtime,
        "LAMBDA_TASK_ROOT": TASK_ROOT,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        # The size class's, as its Functions have it: a node runtime started ahead sizes its
        # heap from it when it starts (kappa.agent.start_env).
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(params.memory_mb),
        "AWS_REGION": params.region,
        "AWS_DEFAULT_REGION": params.region,
        "TZ": "UTC",
    }
    disk = params.ephemeral_storage_mb + URL_CODE_VOLUME_MB + LOG_ROOM_MB
    container = {
        "name": "function",
        "image": params.image,
        "imagePullPolicy": params.pull_policy,
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "ports": [{"name": "invoke", "containerPort": AGENT_PORT, "protocol": "TCP"}],
        "readinessProbe": readiness_probe(),
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - Lambda's /tmp
            {"name": "code", "mountPath": TASK_ROOT},
        ],
        "resources": {
            "requests": {
                "memory": memory,
                "cpu": f"{cpu_millicores(params.memory_mb)}m",
                "ephemeral-storage": f"{LOG_ROOM_MB}Mi",
            },
            "limits": {"memory": memory, "ephemeral-storage": f"{disk}Mi"},
        },
        "securityContext": security_context(),
        "terminationMessagePolicy": "File",
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": params.namespace,
            "labels": {**POOL_OBJECTS, POOL_LABEL: params.pool},
            "ownerReferences": [owner_reference(params.pool, params.uid, kind="WarmPool")],
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": [
                {"name": "tmp", "emptyDir": {"sizeLimit": f"{params.ephemeral_storage_mb}Mi"}},
                {"name": "code", "emptyDir": {"sizeLimit": URL_CODE_VOLUME_LIMIT}},
            ],
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": LONGEST_TIMEOUT_SECONDS + DRAIN_GRACE_SECONDS,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        },
    }
