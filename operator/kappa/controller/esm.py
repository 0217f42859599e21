"""kopf wiring for EventSourceMappings: one poller Deployment per mapping, and its status.

Thin: each pass parses the mapping, makes sure the namespace has the
pollers' ServiceAccount/Role/RoleBinding, creates or replaces the
Deployment that ``kappa.resources.poller_deployment`` builds (not while the
ServiceAccount the mapping names is missing), and writes the conditions
``kappa.controller.esm_status`` computes from the Function's existence, that
ServiceAccount, the poller pods and what the poller reported (``status.source``).
It runs on every spec change and every ``RESYNC_SECONDS`` (so a Function
created later, a fixed Secret or a broker back up show within seconds).
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from kappa.api.cron import CronError, zone
from kappa.api.cron import parse as parse_cron
from kappa.api.event_source_mapping import PLURAL, EventSourceMapping
from kappa.api.filters import FilterPatternError, parse_all
from kappa.api.meta import FROM_CLUSTER
from kappa.api.names import GROUP, VERSION
from kappa.controller.announce import announce_ready
from kappa.controller.esm_status import (
    Observed,
    mapping_conditions,
    mapping_state,
    missing_service_account,
)
from kappa.resources.poller_deployment import (
    TEMPLATE_HASH_ANNOTATION,
    PollerParams,
    poller_deployment,
    poller_labels,
    poller_name,
    poller_rbac,
    replicas,
)
from kappa.settings import Settings

log = logging.getLogger(__name__)

RESYNC_SECONDS: Final = 5.0
GATEWAY_SERVICE: Final = "kappa-gateway"
# Pod states that mean the poller cannot start until the user fixes something.
_STUCK_REASONS: Final = frozenset(
    {
        "CreateContainerConfigError",
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CrashLoopBackOff",
    }
)


class EsmCluster:
    """The API calls the mapping handlers make (synchronous client, run in threads)."""

    def __init__(self, api: client.ApiClient) -> None:
        self._apps = client.AppsV1Api(api)
        self._core = client.CoreV1Api(api)
        self._rbac = client.RbacAuthorizationV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self._rbac_done: set[str] = set()

    async def ensure_rbac(self, namespace: str) -> None:
        """The pollers' ServiceAccount, Role and RoleBinding (once per namespace and process).

        A Role or RoleBinding that exists is replaced, so an upgrade that changes the
        pollers' rules reaches namespaces made by an older version.
        """
        if namespace in self._rbac_done:
            return
        creators = {
            "ServiceAccount": self._core.create_namespaced_service_account,
            "Role": self._rbac.create_namespaced_role,
            "RoleBinding": self._rbac.create_namespaced_role_binding,
        }
        replacers = {
            "Role": self._rbac.replace_namespaced_role,
            "RoleBinding": self._rbac.replace_namespaced_role_binding,
        }
        for manifest in poller_rbac(namespace):
            kind = manifest["kind"]
            try:
                await asyncio.to_thread(creators[kind], namespace, dict(manifest))
            except ApiException as error:
                if error.status != HTTPStatus.CONFLICT:
                    raise
                if kind in replacers:
                    name = manifest["metadata"]["name"]
                    await asyncio.to_thread(replacers[kind], name, namespace, dict(manifest))
        self._rbac_done.add(namespace)

    async def service_account_exists(self, namespace: str, name: str) -> bool:
        """Whether the ServiceAccount exists."""
        try:
            await asyncio.to_thread(self._core.read_namespaced_service_account, name, namespace)
        except ApiException as error:
            if error.status == HTTPStatus.NOT_FOUND:
                return False
            raise
        return True

    async def gateway_url(self, namespace: str) -> str | None:
        """``http://CLUSTER-IP:PORT`` of the gateway Service (the cluster may have no DNS)."""
        try:
            service = await asyncio.to_thread(
                self._core.read_namespaced_service, GATEWAY_SERVICE, namespace
            )
        except ApiException as error:
            if error.status == HTTPStatus.NOT_FOUND:
                return None
            raise
        port = service.spec.ports[0].port if service.spec.ports else 80
        return f"http://{service.spec.cluster_ip}:{port}"

    async def function_exists(self, namespace: str, name: str) -> bool:
        """Whether the Function exists."""
        try:
            await asyncio.to_thread(
                self._custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                "functions",
                name,
            )
        except ApiException as error:
            if error.status == HTTPStatus.NOT_FOUND:
                return False
            raise
        return True

    async def apply_deployment(self, manifest: Mapping[str, Any]) -> Any:
        """Create the Deployment, or replace it when its template or replicas differ; return it.

        A Deployment of that name that the mapping does not control (someone else's) is
        never touched: ForeignDeploymentError.
        """
        meta = manifest["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        try:
            found = await asyncio.to_thread(self._apps.read_namespaced_deployment, name, namespace)
        except ApiException as error:
            if error.status != HTTPStatus.NOT_FOUND:
                raise
            return await asyncio.to_thread(
                self._apps.create_namespaced_deployment, namespace, dict(manifest)
            )
        if not _controlled_by(found, meta["ownerReferences"][0]["uid"]):
            raise ForeignDeploymentError(f"{namespace}/{name}")
        annotations = found.metadata.annotations or {}
        same = annotations.get(TEMPLATE_HASH_ANNOTATION) == meta["annotations"][
            TEMPLATE_HASH_ANNOTATION
        ] and (found.spec.replicas == manifest["spec"]["replicas"])
        if same:
            return found
        # Replaced whole: a merge patch would keep env entries the new spec dropped.
        replacement = {
            **manifest,
            "metadata": {**meta, "resourceVersion": found.metadata.resource_version},
        }
        return await asyncio.to_thread(
            self._apps.replace_namespaced_deployment, name, namespace, replacement
        )

    async def delete_deployment(self, namespace: str, name: str, owner_uid: str) -> None:
        """Delete the Deployment if the mapping ``owner_uid`` controls it; a missing one is fine."""
        try:
            found = await asyncio.to_thread(self._apps.read_namespaced_deployment, name, namespace)
            if not _controlled_by(found, owner_uid):
                raise ForeignDeploymentError(f"{namespace}/{name}")
            await asyncio.to_thread(self._apps.delete_namespaced_deployment, name, namespace)
        except ApiException as error:
            if error.status != HTTPStatus.NOT_FOUND:
                raise

    async def pod_problem(self, namespace: str, mapping: str) -> tuple[str, str] | None:
        """The first poller container stuck in a state a user must fix, if any."""
        selector = ",".join(f"{k}={v}" for k, v in poller_labels(mapping).items())
        pods = await asyncio.to_thread(
            self._core.list_namespaced_pod, namespace, label_selector=selector
        )
        for pod in pods.items:
            for status in pod.status.container_statuses or []:
                waiting = status.state.waiting if status.state else None
                if waiting is not None and waiting.reason in _STUCK_REASONS:
                    return str(waiting.reason), str(waiting.message or "")
        return None


def _spec_problem(body: Mapping[str, Any]) -> tuple[EventSourceMapping | None, str | None]:
    document = {k: v for k, v in body.items() if k in {"apiVersion", "kind", "metadata", "spec"}}
    try:
        mapping = EventSourceMapping.model_validate(document, context=FROM_CLUSTER)
    except ValidationError as error:
        return None, "; ".join(
            f"spec.{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()
        )
    try:
        if mapping.spec.filter_criteria is not None:
            parse_all([f.pattern for f in mapping.spec.filter_criteria.filters])
        if mapping.spec.schedule is not None:
            parse_cron(mapping.spec.schedule.cron)
            zone(mapping.spec.schedule.time_zone)
    except FilterPatternError as error:
        return None, str(error)
    except CronError as error:
        return None, f"spec.schedule: {error}"
    return mapping, None


class ForeignDeploymentError(Exception):
    """A Deployment of the poller's name exists that the mapping does not control."""


def _controlled_by(deployment: Any, uid: str) -> bool:
    owners = getattr(deployment.metadata, "owner_references", None) or ()
    return any(getattr(o, "controller", False) and o.uid == uid for o in owners)


async def reconcile(
    cluster: EsmCluster, settings: Settings, body: kopf.Body, patch: kopf.Patch
) -> None:
    """One pass over a mapping (see the module doc)."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    spec = body.get("spec", {})
    status = dict(body.get("status") or {})
    mapping, problem = _spec_problem(body)
    deployment = None
    desired = 0
    foreign = None
    missing_account = None
    try:
        if mapping is not None:
            desired = replicas(mapping)
            if desired and (account := mapping.spec.service_account_name) is not None:
                exists = await cluster.service_account_exists(namespace, account)
                missing_account = missing_service_account(account, exists=exists)
            if desired == 0:
                await cluster.delete_deployment(namespace, poller_name(name), str(meta["uid"]))
            elif missing_account is None:
                await cluster.ensure_rbac(namespace)
                params = PollerParams(
                    image=f"{settings.image_prefix}/kappa:{settings.image_tag}",
                    pull_policy=settings.image_pull_policy.value,
                    gateway_url=await cluster.gateway_url(settings.namespace),
                    region=settings.region,
                    log_level=settings.log_level.value,
                    log_format=settings.log_format.value,
                )
                deployment = await cluster.apply_deployment(poller_deployment(mapping, params))
    except ForeignDeploymentError as error:
        foreign = str(error)
        log.warning("%s/%s: %s is not this mapping's; left alone", namespace, name, foreign)
    function = str(spec.get("functionRef", {}).get("name", ""))
    observed = Observed(
        spec_problem=problem,
        enabled=bool(spec.get("enabled", True)),
        function=function,
        function_exists=await cluster.function_exists(namespace, function),
        desired_pollers=desired,
        ready_pollers=int(getattr(getattr(deployment, "status", None), "ready_replicas", 0) or 0),
        pod_problem=await cluster.pod_problem(namespace, name) if desired else None,
        source=status.get("source"),
        foreign_deployment=foreign,
        namespace=namespace,
        missing_service_account=missing_account,
    )
    generation = int(meta.get("generation") or 0)
    now = datetime.now(UTC)
    previous = list(status.get("conditions") or [])
    conditions = [
        c.as_dict(generation=generation, now=now, previous=previous)
        for c in mapping_conditions(observed)
    ]
    new = {
        "conditions": conditions,
        "observedGeneration": generation,
        "state": str(mapping_state(observed)),
        "pollers": observed.ready_pollers,
        "uuid": meta.get("uid"),
    }
    if any(status.get(k) != v for k, v in new.items()):
        announce_ready(body, previous, conditions)
        for key, value in new.items():
            patch.status[key] = value


def register_esm(api: client.ApiClient, settings: Settings) -> None:
    """Register the EventSourceMapping handlers with kopf's default registry."""
    cluster = EsmCluster(api)

    @kopf.on.resume(GROUP, VERSION, PLURAL)
    @kopf.on.create(GROUP, VERSION, PLURAL)
    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
    async def changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        await reconcile(cluster, settings, body, patch)

    @kopf.timer(GROUP, VERSION, PLURAL, interval=RESYNC_SECONDS, initial_delay=RESYNC_SECONDS)
    async def resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        await reconcile(cluster, settings, body, patch)
