"""What the operator knows of the WarmPools and their pods, kept from their watch events.

No I/O: the kopf handlers (``kappa.controller.pools``) feed it, the pool timer and a
Function's pass read it. A pool pod is claimable while it is Ready, not being deleted,
still labelled with its pool, and not taken by a claim in flight here.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from kappa.api.meta import FROM_CLUSTER
from kappa.api.names import POOL_LABEL
from kappa.api.warm_pool import WarmPoolSpec
from kappa.controller.pool_eligibility import PoolClass
from kappa.controller.pool_sizing import PoolPod
from kappa.resources.pool_pod import POOL_DIGEST_VARIABLE, POOL_TOKEN_VARIABLE

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Pool:
    """One WarmPool: its object's uid and generation, and its spec."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec: WarmPoolSpec

    @property
    def pool_class(self) -> PoolClass:
        """What a Function must match to use it."""
        return PoolClass(
            self.name,
            self.spec.runtime.value,
            self.spec.memory_mb,
            self.spec.ephemeral_storage_mb,
        )


@dataclass(frozen=True, slots=True)
class PoolPodView:
    """A pool pod as its last watch event showed it."""

    name: str
    ready: bool
    created: float
    ip: str | None
    token: str | None  # a pod made before 2026-12-04 holds its token; newer ones its digest
    digest: str | None
    resource_version: str
    deleting: bool


@dataclass
class PoolRegistry:
    """The pools and their pods, by (namespace, pool name)."""

    pools: dict[Key, Pool] = field(default_factory=dict)
    pods: dict[Key, dict[str, PoolPodView]] = field(default_factory=dict)
    claiming: set[str] = field(default_factory=set)
    claims: dict[Key, list[float]] = field(default_factory=dict)
    claimed_total: dict[Key, int] = field(default_factory=dict)

    def pool_changed(self, body: Mapping[str, Any], *, deleted: bool = False) -> str | None:
        """Keep a WarmPool's event; the problem with its spec, if it has one."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace")), str(meta.get("name")))
        if deleted:
            self.pools.pop(key, None)
            return None
        try:
            spec = WarmPoolSpec.model_validate(body.get("spec") or {}, context=FROM_CLUSTER)
        except ValidationError as exc:
            self.pools.pop(key, None)
            return str(exc.errors(include_url=False)[0]["msg"])
        generation = int(meta.get("generation") or 0)
        self.pools[key] = Pool(key[1], key[0], str(meta.get("uid")), generation, spec)
        return None

    def pod_changed(self, body: Mapping[str, Any], *, deleted: bool = False) -> None:
        """Keep a pool pod's event (a pod no longer labelled with a pool is forgotten)."""
        meta = body.get("metadata") or {}
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        pool = (meta.get("labels") or {}).get(POOL_LABEL)
        for key, pods in self.pods.items():
            if key[0] == namespace:  # the pod may have left its pool (claimed)
                pods.pop(name, None)
        if deleted or pool is None:
            self.claiming.discard(name)
            return
        self.pods.setdefault((namespace, str(pool)), {})[name] = _view(body)

    def classes(self, namespace: str) -> list[PoolClass]:
        """The pools of ``namespace``, as eligibility reads them."""
        return [pool.pool_class for key, pool in self.pools.items() if key[0] == namespace]

    def live(self, key: Key) -> list[PoolPod]:
        """The pool's pods that are not being deleted or claimed, for its sizing."""
        return [
            PoolPod(pod.name, pod.ready, pod.created)
            for pod in self.pods.get(key, {}).values()
            if not pod.deleting and pod.name not in self.claiming
        ]

    def claimable(self, key: Key) -> list[PoolPodView]:
        """The pool's pods a Function may take now, oldest first."""
        pods = self.pods.get(key, {}).values()
        ready = [
            p
            for p in pods
            if p.ready
            and not p.deleting
            and p.ip
            and (p.token or p.digest)
            and p.name not in self.claiming
        ]
        return sorted(ready, key=lambda p: p.created)

    def claimed(self, key: Key, when: float) -> None:
        """A pod of the pool became a Function's at ``when``."""
        self.claims.setdefault(key, []).append(when)
        self.claims[key] = self.claims[key][-1000:]
        self.claimed_total[key] = self.claimed_total.get(key, 0) + 1


def _view(body: Mapping[str, Any]) -> PoolPodView:
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    conditions = status.get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    created = meta.get("creationTimestamp")
    when = datetime.fromisoformat(str(created)).timestamp() if created else 0.0
    variables = {
        variable.get("name"): variable.get("value")
        for container in (body.get("spec") or {}).get("containers") or []
        for variable in container.get("env") or []
    }
    return PoolPodView(
        name=str(meta.get("name")),
        ready=ready,
        created=when,
        ip=status.get("podIP"),
        token=variables.get(POOL_TOKEN_VARIABLE),
        digest=variables.get(POOL_DIGEST_VARIABLE),
        resource_version=str(meta.get("resourceVersion") or ""),
        deleting=meta.get("deletionTimestamp") is not None,
    )
