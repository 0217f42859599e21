"""kopf wiring for WarmPools: their pods kept at the size ``pool_sizing`` decides, and status.

Watch events of WarmPools and of pool pods (``kappa.dev/component=pool``) feed the
``PoolRegistry``; every ``TICK_SECONDS`` a timer per pool sizes it (the floor, the claims
of the last minute, ``size.max`` and the namespace's ConcurrencyQuota, which a pool pod
counts against as one slot), makes or deletes pool pods, and writes its status (ready,
starting, target, claims; ``Ready`` with the sizing's reason and message).
"""

import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import kopf
from kubernetes.client.exceptions import ApiException

from kappa.api import warm_pool
from kappa.api.meta import ConditionState, ConditionStatus, ConditionType
from kappa.api.names import GROUP, POOL_OBJECTS, VERSION
from kappa.controller.pool_key import PoolKey
from kappa.controller.pool_registry import Key, Pool, PoolRegistry
from kappa.controller.pool_sizing import PoolSize, PoolSpec, size
from kappa.k8s.objects import Objects, api_message
from kappa.resources.pool_pod import PoolPodParams, pool_pod
from kappa.settings import Settings

log = logging.getLogger("kappa.controller.pools")

TICK_SECONDS: Final = 2.0
Headroom = Callable[[Key], int | None]


def register_pools(  # noqa: PLR0913 - the registry, and what keeping the pools takes
    registry: PoolRegistry,
    objects: Objects,
    settings: Settings,
    headroom: Headroom,
    key: PoolKey,
    *,
    pools_changed: Callable[[str], None] = lambda _namespace: None,
) -> None:
    """Register the WarmPool handlers with kopf's default registry.

    ``pools_changed(namespace)``: the namespace's pools, as eligibility reads them, changed
    (its Functions' ``PoolEligible`` follows at once, not at their resync).
    """

    @kopf.on.event("pods", labels=POOL_OBJECTS, id="pool_pod_changed")
    async def pool_pod_changed(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
        registry.pod_changed(body, deleted=event.get("type") == "DELETED")

    @kopf.on.event(GROUP, VERSION, warm_pool.PLURAL, id="warm_pool_changed")
    async def warm_pool_changed(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
        meta = body["metadata"]
        before = registry.classes(meta["namespace"])
        problem = registry.pool_changed(body, deleted=event.get("type") == "DELETED")
        if problem is not None:
            log.warning("WarmPool %s/%s is ignored: %s", meta["namespace"], meta["name"], problem)
        if registry.classes(meta["namespace"]) != before:
            pools_changed(meta["namespace"])

    @kopf.timer(GROUP, VERSION, warm_pool.PLURAL, interval=TICK_SECONDS, id="warm_pool_size")
    async def keep(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        meta = body["metadata"]
        pool = registry.pools.get((meta["namespace"], meta["name"]))
        if pool is not None:
            await keep_pool(
                registry,
                objects=objects,
                settings=settings,
                headroom=headroom,
                pool_key=key,
                pool=pool,
                body=body,
                patch=patch,
            )


async def keep_pool(  # noqa: PLR0913 - the pool, and what keeping it takes
    registry: PoolRegistry,
    *,
    objects: Objects,
    settings: Settings,
    headroom: Headroom,
    pool_key: PoolKey,
    pool: Pool,
    body: kopf.Body,
    patch: kopf.Patch,
) -> None:
    """One tick of one pool: size it, make and delete its pods, write its status."""
    key = (pool.namespace, pool.name)
    live = registry.live(key)
    free = headroom((pool.namespace, f"warmpool.{pool.name}"))
    spec = pool.spec
    decision = size(
        PoolSpec(spec.size.min, spec.size.max, float(spec.refill_seconds)),
        live,
        registry.claims.get(key, []),
        quota_headroom=None if free is None else free - len(live),
        now=time.time(),
    )
    params = PoolPodParams(
        pool=pool.name,
        namespace=pool.namespace,
        uid=pool.uid,
        runtime=spec.runtime.value,
        image=f"{settings.image_prefix}/runtime-{spec.runtime.value}:{settings.image_tag}",
        memory_mb=spec.memory_mb,
        ephemeral_storage_mb=spec.ephemeral_storage_mb,
        region=settings.region,
        pull_policy=str(settings.image_pull_policy),
    )
    refused = None
    secret = b""
    if decision.create:
        try:
            secret = await pool_key.get()
        except (ApiException, ValueError) as exc:
            refused = (
                f"the pool pods' key: {api_message(exc) if isinstance(exc, ApiException) else exc}"
            )
            log.warning("pool %s/%s makes no pods: %s", pool.namespace, pool.name, refused)
    for _ in range(decision.create if secret else 0):
        name = f"{pool.name}-{secrets.token_hex(4)}"
        try:
            await objects.create_pod(pool_pod(params, name=name, key=secret))
        except ApiException as exc:
            refused = api_message(exc)
            log.warning("creating pool pod %s/%s was refused: %s", pool.namespace, name, refused)
            break
    for name in decision.remove:
        await objects.delete_pod(pool.namespace, name)
    ready = sum(1 for pod in live if pod.ready)
    status = _status(
        pool,
        decision,
        ready=ready,
        starting=len(live) - ready,
        claims=registry.claimed_total.get(key, 0),
        refused=refused,
        body=body,
    )
    if any(body.get("status", {}).get(k) != v for k, v in status.items()):
        for field, value in status.items():
            patch.status[field] = value


def _status(  # noqa: PLR0913 - what the status is made of
    pool: Pool,
    decision: PoolSize,
    *,
    ready: int,
    starting: int,
    claims: int,
    refused: str | None,
    body: kopf.Body,
) -> dict[str, Any]:
    if refused is not None:
        condition = ConditionState(
            ConditionType.READY, ConditionStatus.FALSE, "PodCreateFailed", refused
        )
    elif ready >= decision.target:
        condition = ConditionState(
            ConditionType.READY, ConditionStatus.TRUE, str(decision.reason), decision.message
        )
    else:
        condition = ConditionState(
            ConditionType.READY,
            ConditionStatus.FALSE,
            "Filling",
            f"{ready} of {decision.target} pool pod(s) ready: {decision.message}",
        )
    previous = list((body.get("status") or {}).get("conditions") or [])
    return {
        "conditions": [
            condition.as_dict(generation=pool.generation, now=datetime.now(UTC), previous=previous)
        ],
        "observedGeneration": pool.generation,
        "ready": ready,
        "starting": starting,
        "target": decision.target,
        "claims": claims,
    }
