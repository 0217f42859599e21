"""A Function's pass takes pods from a warm pool instead of making them (the shell).

When a pass would make on-demand pods and the Function may use a pool of its namespace
(``kappa.controller.pool_eligibility``), each pod it can take from that pool is
claimed, specialised and adopted (docs/warm-pools.md, "The claim protocol"):

1. claim and adopt: one merge patch with the pod's resourceVersion as precondition
   gives it the labels of the pod the pass would have made, the Function as its
   controller and the pool's name in an annotation, and takes the pool's label away;
   409 means another claim won (the pod is skipped), and the pool stops counting it
   either way. The gateway may route a call to it from now on: its agent holds calls
   until its Function runs (``kappa.agent.pool_mode``);
2. specialise: ``POST /specialise`` to its agent with its token, the variables and code
   of that pod (``kappa.resources.specialisation``).

A pool pod made before 2026-12-04 (its token in its spec, not the digest) does not hold
early calls: it is claimed first and adopted once specialised, as then.

A pod whose specialisation fails is deleted (its agent ends with the init error, which
the Function's next pod will show as well); the pass makes a new pod for it as before.
"""

import logging
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

import aiohttp
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from kappa.api.function import FunctionSpec
from kappa.api.meta import FROM_CLUSTER, ConditionState
from kappa.api.names import CLAIMED_FROM_ANNOTATION, POOL_LABEL
from kappa.controller.desired import DesiredFunction
from kappa.controller.pool_eligibility import eligibility, eligibility_condition
from kappa.controller.pool_key import PoolKey
from kappa.controller.pool_registry import PoolPodView, PoolRegistry
from kappa.k8s.objects import Objects, api_message
from kappa.resources.pods import AGENT_PORT
from kappa.resources.pool_pod import pool_token
from kappa.resources.specialisation import (
    NotSpecialisableError,
    adoption_patch,
    code_source,
    config_map_files,
    environment,
    request,
)

log = logging.getLogger("kappa.controller.claims")

SPECIALISE_TIMEOUT_SECONDS: Final = 60.0


class Claims:
    """Takes pool pods for Functions; ``claim`` is called by a pass that makes pods."""

    def __init__(self, registry: PoolRegistry, objects: Objects, key: PoolKey) -> None:
        self.registry = registry
        self._objects = objects
        self._key = key
        self._session: aiohttp.ClientSession | None = None

    def conditions(self, function: Mapping[str, Any]) -> list[ConditionState]:
        """``PoolEligible`` where the Function's namespace has pools (none elsewhere)."""
        classes = self.registry.classes(str(function["metadata"]["namespace"]))
        if not classes:
            return []
        try:
            spec = FunctionSpec.model_validate(function.get("spec") or {}, context=FROM_CLUSTER)
        except ValidationError:
            return []
        return [eligibility_condition(eligibility(spec, classes))]

    async def claim(
        self, function: Mapping[str, Any], desired: DesiredFunction, count: int
    ) -> tuple[str, list[str]]:
        """Up to ``count`` pool pods made the Function's: (the pool, their names)."""
        namespace = str(function["metadata"]["namespace"])
        if count <= 0 or not self.registry.classes(namespace):
            return "", []
        try:
            spec = FunctionSpec.model_validate(function.get("spec") or {}, context=FROM_CLUSTER)
        except ValidationError:
            return "", []
        verdict = eligibility(spec, self.registry.classes(namespace))
        if verdict.pool is None:
            return "", []
        key = (namespace, verdict.pool)
        pods = self.registry.claimable(key)[:count]
        if not pods:
            return verdict.pool, []
        try:
            secret = await self._key.get()
        except (ApiException, ValueError) as exc:
            why = api_message(exc) if isinstance(exc, ApiException) else str(exc)
            log.warning("%s: no pool pods taken, the pool pods' key: %s", namespace, why)
            return verdict.pool, []
        taken: list[str] = []
        for pod in pods:
            self.registry.claiming.add(pod.name)
            started = time.monotonic()
            token = pod.token or pool_token(secret, namespace, pod.name)
            if await self._one(namespace, verdict.pool, pod, token, desired):
                taken.append(pod.name)
                self.registry.claimed(key, time.time())
                log.info("%s/%s: pod %s taken from warm pool %s in %.0f ms",
                         namespace, function["metadata"]["name"], pod.name, verdict.pool,
                         (time.monotonic() - started) * 1000)  # fmt: skip
        return verdict.pool, taken

    async def _one(
        self, namespace: str, pool: str, pod: PoolPodView, token: str, desired: DesiredFunction
    ) -> bool:
        manifest = desired.pod(pod.name, attempt=0)
        adoption = adoption_patch(manifest, pool)
        # A pool pod that holds the token's digest (made since 2026-12-04) holds a call that
        # reaches it before its Function does: it is claimed and adopted in one patch, so
        # the gateway routes to it while it specialises. An older one answers such a call
        # 404: it is claimed first and adopted once specialised.
        at_once = pod.digest is not None
        claim = adoption if at_once else {
            "metadata": {"labels": {POOL_LABEL: None},
                         "annotations": {CLAIMED_FROM_ANNOTATION: pool}},
        }  # fmt: skip
        claim["metadata"]["resourceVersion"] = pod.resource_version
        try:
            await self._objects.patch_pod(namespace, pod.name, claim)
        except ApiException as exc:
            if exc.status not in {HTTPStatus.CONFLICT, HTTPStatus.NOT_FOUND}:
                log.warning("claiming pod %s/%s failed: %s", namespace, pod.name, api_message(exc))
            return False
        try:
            body = request(environment(manifest), await self._code(namespace, manifest))
            why = await self._specialise(pod, token, body)
            if why is None and not at_once:
                await self._objects.patch_pod(namespace, pod.name, adoption)
        except NotSpecialisableError as exc:
            why = str(exc)
        except ApiException as exc:
            why = api_message(exc)
        if why is not None:
            log.warning("pool pod %s/%s not specialised: %s", namespace, pod.name, why)
            await self._objects.delete_pod(namespace, pod.name)
            return False
        return True

    async def _code(self, namespace: str, manifest: Mapping[str, Any]) -> bytes | None:
        source = code_source(manifest)
        if source is None:
            return None
        configmap = await self._objects.configmap(namespace, source.config_map)
        if configmap is None:
            msg = f"ConfigMap {source.config_map} is gone"
            raise NotSpecialisableError(msg)
        return config_map_files(source, configmap)

    async def _specialise(
        self, pod: PoolPodView, token: str, body: Mapping[str, Any]
    ) -> str | None:
        """None once the pod's runtimes are ready; else what went wrong."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        url = f"http://{pod.ip}:{AGENT_PORT}/specialise"
        try:
            async with self._session.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=SPECIALISE_TIMEOUT_SECONDS),
            ) as response:
                answer = await response.content.read(64 * 1024)
                if response.status == HTTPStatus.OK:
                    return None
                return f"{response.status}: {answer.decode(errors='replace')[:500]}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            return f"{exc.__class__.__name__}: {exc}"
