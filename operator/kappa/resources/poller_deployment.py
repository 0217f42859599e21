"""The Deployment that runs an EventSourceMapping's poller, and the RBAC its pods use.

One Deployment per mapping, in the mapping's namespace, rather than a shared
pool of pollers: a mapping's failure (a broker down, a bad Secret, a hot
queue) stays its own; credentials come straight from the namespace's Secrets
through ``secretKeyRef`` (no copying of Secrets across namespaces, and a
missing one shows as the pod's CreateContainerConfigError); scaling is the
Deployment's replicas; and the pods' logs are ``kubectl logs deploy/esm-NAME``.
The cost is a pod per mapping (about 60 MiB), acceptable for the dozens of
mappings a namespace holds.

Replicas: stream sources (kafka, nats, redisStreams) get
``parallelizationFactor`` pods, consumers of one group that split the
partitions and keep each in order; queues (sqs, rabbitmq) get one pod running
``parallelizationFactor`` loops; a schedule gets one pod, always.

The pods run as the namespace's ``kappa-poller`` ServiceAccount, or as the
mapping's ``serviceAccountName``: an account carrying a cloud identity (an IRSA
role annotation, an EKS Pod Identity association), which the SQS source's
credential chain then finds in the pod (``kappa.eventsources.sqs_credentials``).
Such an account needs the ``kappa-poller`` Role bound to it, as the pollers read
their mapping, report its status and invoke through the gateway as their account.

The spec is passed whole in ``KAPPA_ESM_MAPPING``, so a spec change rolls the
pods. Pure: inputs in, manifests out.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.event_source_mapping import (
    KIND,
    STREAM_SOURCES,
    EventSourceMapping,
    SecretKeyRef,
    SourceKind,
    secret_refs,
)
from kappa.api.names import API_VERSION, COMPONENT_LABEL, GROUP
from kappa.resources.gateway_token import token_env, token_mount, token_volume
from kappa.resources.poller_env import secret_variable

MAPPING_LABEL: Final = f"{GROUP}/event-source-mapping"
POLLER_COMPONENT: Final = "poller"
POLLER_SERVICE_ACCOUNT: Final = "kappa-poller"
TEMPLATE_HASH_ANNOTATION: Final = f"{GROUP}/template-hash"
METRICS_PORT: Final = 9102


def poller_name(mapping: str) -> str:
    """The Deployment (and pod prefix) of a mapping's poller."""
    return f"esm-{mapping}"


def poller_labels(mapping: str) -> dict[str, str]:
    """Labels of the poller's Deployment and pods."""
    return {MAPPING_LABEL: mapping, COMPONENT_LABEL: POLLER_COMPONENT}


@dataclass(frozen=True)
class PollerParams:
    """What the poller's Deployment is made of besides the mapping."""

    image: str
    pull_policy: str
    gateway_url: str | None
    region: str
    log_level: str = "INFO"
    log_format: str = "text"


def replicas(mapping: EventSourceMapping) -> int:
    """Poller pods for the mapping (0 when disabled)."""
    spec = mapping.spec
    if not spec.enabled:
        return 0
    if spec.kind.value in STREAM_SOURCES:
        return spec.parallelization_factor
    return 1


def service_account(mapping: EventSourceMapping) -> str:
    """The ServiceAccount the poller pods run as."""
    return mapping.spec.service_account_name or POLLER_SERVICE_ACCOUNT


def _secret_env(field: str, ref: SecretKeyRef) -> dict[str, Any]:
    return {
        "name": secret_variable(field),
        "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}},
    }


def _env(mapping: EventSourceMapping, params: PollerParams) -> list[dict[str, Any]]:
    document = {
        "metadata": {
            "name": mapping.metadata.name,
            "namespace": mapping.metadata.namespace,
            "uid": mapping.metadata.uid,
        },
        "spec": mapping.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    env: list[dict[str, Any]] = [
        {"name": "KAPPA_ESM_MAPPING", "value": json.dumps(document, sort_keys=True)},
        {"name": "KAPPA_REGION", "value": params.region},
        {"name": "KAPPA_LOG_LEVEL", "value": params.log_level},
        {"name": "KAPPA_LOG_FORMAT", "value": params.log_format},
        {"name": "KAPPA_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "KAPPA_ESM_METRICS_PORT", "value": str(METRICS_PORT)},
        token_env(),  # the pollers call the gateway as their ServiceAccount
    ]
    if params.gateway_url is not None:
        env.append({"name": "KAPPA_GATEWAY_URL", "value": params.gateway_url})
    env.extend(_secret_env(f, ref) for f, ref in sorted(secret_refs(mapping.spec.block).items()))
    return env


def poller_deployment(mapping: EventSourceMapping, params: PollerParams) -> dict[str, Any]:
    """The poller Deployment of ``mapping``, owned by it (deleted with it)."""
    name = mapping.metadata.name
    labels = poller_labels(name)
    template: dict[str, Any] = {
        "metadata": {"labels": labels},
        "spec": {
            "serviceAccountName": service_account(mapping),
            "enableServiceLinks": False,
            # In-flight batches finish on SIGTERM; what does not comes back by the broker.
            "terminationGracePeriodSeconds": 30,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [token_volume()],
            "containers": [
                {
                    "name": "poller",
                    "image": params.image,
                    "imagePullPolicy": params.pull_policy,
                    "args": ["poller"],
                    "env": _env(mapping, params),
                    "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
                    "volumeMounts": [token_mount()],
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": "metrics"},
                        "periodSeconds": 5,
                    },
                    "resources": {
                        # Logs and nothing else on disk (read-only root file system).
                        "requests": {"cpu": "20m", "memory": "64Mi", "ephemeral-storage": "16Mi"},
                        "limits": {"memory": "256Mi", "ephemeral-storage": "64Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]
    # The schedule must never run twice at once: stop the old pod before the new one starts.
    strategy = (
        {"type": "Recreate"}
        if mapping.spec.kind is SourceKind.SCHEDULE
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": poller_name(name),
            "namespace": mapping.metadata.namespace,
            "labels": labels,
            "annotations": {TEMPLATE_HASH_ANNOTATION: digest},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": KIND,
                    "name": name,
                    "uid": mapping.metadata.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas(mapping),
            "selector": {"matchLabels": labels},
            "strategy": strategy,
            "template": template,
        },
    }


def poller_rbac(namespace: str) -> list[Mapping[str, Any]]:
    """ServiceAccount, Role and RoleBinding the pollers of ``namespace`` run as.

    They may read mappings and write their status (``status.source``), and invoke the
    Functions of their namespace through the gateway (``invoke`` and ``get`` on
    functions, what the ClusterRole kappa-invoker grants), nothing else: a mapping feeds
    only its own namespace's Functions. Broker credentials reach them through their pods'
    env, not the API.
    """
    meta = {
        "name": POLLER_SERVICE_ACCOUNT,
        "namespace": namespace,
        "labels": {COMPONENT_LABEL: POLLER_COMPONENT},
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {
                    "apiGroups": [GROUP],
                    "resources": ["eventsourcemappings"],
                    "verbs": ["get"],
                },
                {
                    "apiGroups": [GROUP],
                    "resources": ["eventsourcemappings/status"],
                    "verbs": ["get", "patch"],
                },
                {"apiGroups": [GROUP], "resources": ["functions"], "verbs": ["get", "invoke"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": POLLER_SERVICE_ACCOUNT,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": POLLER_SERVICE_ACCOUNT, "namespace": namespace}
            ],
        },
    ]
