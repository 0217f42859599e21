"""Asks the agents of not-yet-Ready pods whether they can take calls (the shell).

The decisions are ``kappa.invocation.agent_readiness``'s; this holds the probes.
While calls of a Function wait for capacity (``watch(key)`` from the dispatcher),
one task per such Function asks, every ``interval`` seconds, the agents of its
pods that the registry reports but the kubelet has not yet marked Ready
(``GET /status``, ``timeout`` seconds each). A confirmed pod counts as ready in
``endpoints(key)`` and ``on_ready(key)`` wakes the waiting calls. Probes in flight
across every Function are at most ``max_probes``; the task ends when no call of
the Function waits any more.

An agent that turns out not to be ready after all answers ``/invoke`` with 503,
which the dispatcher already treats as "try another pod a moment later".
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Final

import aiohttp

from kappa.gateway.metrics import GatewayMetrics, ProbeOutcome
from kappa.invocation.agent_readiness import (
    MAX_STATUS_BYTES,
    answer_confirms,
    routable,
    still_confirmed,
    to_probe,
)
from kappa.invocation.registry import Registry
from kappa.invocation.routing import Endpoint, FunctionKey

log = logging.getLogger("kappa.gateway.readiness")

_PROBE_TIMEOUT_SECONDS: Final = 0.5


class AgentReadiness:
    """Pods confirmed ready by their agents, per Function, and the probes that find them."""

    def __init__(  # noqa: PLR0913 - collaborators and bounds, injected
        self,
        registry: Registry,
        session: aiohttp.ClientSession,
        metrics: GatewayMetrics,
        *,
        interval: float,
        max_probes: int,
        wanted: Callable[[FunctionKey], bool],
        on_ready: Callable[[FunctionKey], None],
    ) -> None:
        self._registry = registry
        self._session = session
        self._metrics = metrics
        self._interval = interval
        self._max_probes = max_probes
        self._wanted = wanted
        self._on_ready = on_ready
        self._confirmed: dict[FunctionKey, dict[str, str]] = {}
        self._probing: dict[FunctionKey, set[str]] = {}
        self._last: dict[FunctionKey, dict[str, float]] = {}
        self._watchers: dict[FunctionKey, asyncio.Task[None]] = {}
        self._probes: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        """Whether agents are asked at all (``KAPPA_GATEWAY_READINESS_PROBE_MS`` > 0)."""
        return self._interval > 0 and self._max_probes > 0

    def endpoints(self, key: FunctionKey) -> Sequence[Endpoint]:
        """The registry's endpoints of ``key``, those confirmed by their agent counted ready."""
        found = self._registry.endpoints(key)
        confirmed = self._confirmed.get(key)
        return routable(found, confirmed) if confirmed else found

    def endpoints_changed(self, key: FunctionKey) -> None:
        """The registry's endpoints of ``key`` changed: keep what still holds."""
        confirmed = self._confirmed.get(key)
        if confirmed is None:
            return
        kept = still_confirmed(self._registry.endpoints(key), confirmed)
        if kept:
            self._confirmed[key] = kept
        else:
            del self._confirmed[key]

    def watch(self, key: FunctionKey) -> None:
        """Calls of ``key`` wait: ask its not-yet-Ready pods until none waits."""
        if not self.enabled or key in self._watchers:
            return
        task = asyncio.ensure_future(self._watch(key))
        self._watchers[key] = task
        task.add_done_callback(lambda _: self._watchers.pop(key, None))

    async def close(self) -> None:
        """Stop every probe."""
        tasks = [*self._watchers.values(), *self._probes]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _watch(self, key: FunctionKey) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._wanted(key):
                spec = self._registry.function(key)
                if spec is None:
                    return
                probing = self._probing.setdefault(key, set())
                last = self._last.setdefault(key, {})
                now = loop.time()
                for endpoint in to_probe(
                    self._registry.endpoints(key),
                    self._confirmed.get(key, {}),
                    probing,
                    last,
                    now,
                    interval=self._interval,
                    room=self._max_probes - len(self._probes),
                ):
                    probing.add(endpoint.pod)
                    last[endpoint.pod] = now
                    probe = asyncio.ensure_future(self._probe(key, endpoint, spec.arn))
                    self._probes.add(probe)
                    probe.add_done_callback(self._probes.discard)
                await asyncio.sleep(self._interval)
        finally:
            self._last.pop(key, None)
            if not self._probing.get(key):
                self._probing.pop(key, None)

    async def _probe(self, key: FunctionKey, endpoint: Endpoint, arn: str) -> None:
        outcome = ProbeOutcome.FAILED
        try:
            async with self._session.get(
                f"http://{endpoint.address}/status",
                timeout=aiohttp.ClientTimeout(total=_PROBE_TIMEOUT_SECONDS),
            ) as response:
                body = await response.content.read(MAX_STATUS_BYTES + 1)
                outcome = ProbeOutcome.NOT_READY
                if answer_confirms(response.status, body, arn) and self._still_there(key, endpoint):
                    outcome = ProbeOutcome.READY
                    self._confirmed.setdefault(key, {})[endpoint.pod] = endpoint.address
                    log.debug("%s/%s: pod %s ready, by its agent", *key, endpoint.pod)
                    self._on_ready(key)
        except (aiohttp.ClientError, TimeoutError):
            pass  # not listening yet, or gone: the next round asks again
        finally:
            self._metrics.readiness_probes.labels(outcome.value).inc()
            probing = self._probing.get(key)
            if probing is not None:
                probing.discard(endpoint.pod)

    def _still_there(self, key: FunctionKey, endpoint: Endpoint) -> bool:
        """Whether the registry still reports that pod at that address (it may have gone)."""
        return any(
            found.pod == endpoint.pod and found.address == endpoint.address
            for found in self._registry.endpoints(key)
        )
