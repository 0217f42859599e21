"""This gateway's link to the autoscaler: stats every second, a poke at once when a call waits.

HTTP POSTs to the operator's endpoint (see kappa.autoscaler.server for why, and
kappa.autoscaler.wire for the bodies), on the gateway's one client session
(kept-alive connections). The link is the dispatcher's ``CapacityHook``: when
an invocation has to wait for a slot, ``capacity_wanted`` sends a poke
without waiting for the next report, one at a time per function (later
waiters ride on the next report). Nothing here is on the invocation's path:
a slow or absent operator costs the gateway a log line, never a request.

A report's usage holds only the running totals that changed since the
autoscaler took them (answered 2xx); asked for all of them (a new leader), the
next report carries all.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Final

import aiohttp

from kappa.auth.credentials import TokenFile
from kappa.autoscaler.stats import Sample
from kappa.autoscaler.wire import poke_document, stats_document, wants_complete_usage
from kappa.gateway.metrics import GatewayMetrics
from kappa.invocation.routing import FunctionKey
from kappa.quota.usage import Usage, changed_totals

log = logging.getLogger("kappa.gateway.autoscaler")

INTERVAL_SECONDS: Final = 1.0
_TIMEOUT: Final = aiohttp.ClientTimeout(total=2.0)
_MAX_ANSWER: Final = 1024  # the autoscaler answers 204, or a small JSON object


class StatsLink:
    """Pushes stats and pokes to the autoscaler at ``url``."""

    def __init__(  # noqa: PLR0913 - collaborators and options, the options keyword-only
        self,
        url: str,
        session: aiohttp.ClientSession,
        metrics: GatewayMetrics,
        *,
        interval: float = INTERVAL_SECONDS,
        token_file: Path | None = None,
        ready_port: int | None = None,
    ) -> None:
        """Report to ``url``; with ``token_file``, the pod's projected token goes along.

        The autoscaler takes reports from the gateway's ServiceAccount only. ``ready_port``:
        the port this gateway takes agents' readiness pushes on, told the autoscaler with
        each report (it gives new pods the gateways' addresses).
        """
        self._ready_port = ready_port
        self.url = url.rstrip("/")
        self._token = None if token_file is None else TokenFile(token_file)
        self.gateway = uuid.uuid4().hex
        self.started = time.time()  # wall clock: the operator compares it with its own
        self._session = session
        self._metrics = metrics
        self._interval = interval
        self._snapshot: Callable[[], Mapping[FunctionKey, Sample]] = dict
        self._current: Callable[[FunctionKey], Sample] = lambda _key: Sample()
        self._poking: dict[FunctionKey, asyncio.Task[bytes | None]] = {}
        self._failing = False
        # The usage totals the autoscaler has taken: a report carries only those that differ.
        self._taken: dict[FunctionKey, Usage] = {}

    def attach(
        self,
        snapshot: Callable[[], Mapping[FunctionKey, Sample]],
        current: Callable[[FunctionKey], Sample],
    ) -> None:
        """Read the figures from these (the dispatcher's)."""
        self._snapshot, self._current = snapshot, current

    # ---------------------------------------------------------------- CapacityHook

    def capacity_wanted(self, function: FunctionKey) -> None:
        """An invocation of ``function`` waits for a slot: poke the autoscaler now."""
        self._metrics.capacity_requests.inc()
        if function in self._poking:
            return
        at = time.time()  # wall clock: the operator compares it with its own
        document = poke_document(
            self.gateway, function, self._current(function), at, self._ready_port
        )
        task = asyncio.ensure_future(self._post("/v1/poke", document, "poke"))
        self._poking[function] = task
        task.add_done_callback(lambda _t: self._poking.pop(function, None))

    # ----------------------------------------------------------------- reports

    async def run(self) -> None:
        """Report every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            await self.report()

    async def report(self) -> None:
        """Send one stats report; once it is answered, the usage totals in it count as taken.

        Not answered: they go again with the next. Answered with a request for all of
        them (the autoscaler does not know this gateway yet): all go with the next.
        """
        usage = dict(self._metrics.usage)
        changed = changed_totals(usage, self._taken)
        answer = await self._post("/v1/stats", self._document(changed), "stats")
        if answer is None:
            return
        if wants_complete_usage(answer):
            self._taken = {}
        else:  # what this gateway forgot is forgotten here too
            self._taken = {key: got for key, got in (self._taken | changed).items() if key in usage}

    def stats(self) -> dict[str, Any]:
        """The ``/v1/stats`` body now: the figures, and the usage totals not taken yet."""
        return self._document(changed_totals(dict(self._metrics.usage), self._taken))

    def _document(self, changed: dict[FunctionKey, Usage]) -> dict[str, Any]:
        return stats_document(
            self.gateway,
            self._snapshot(),
            changed,
            self.started,
            self._ready_port,
            complete=self._metrics.usage.keys() <= changed.keys(),  # every total changed
        )

    def _headers(self) -> dict[str, str]:
        return {} if self._token is None else {"Authorization": f"Bearer {self._token.read()}"}

    async def _post(self, path: str, document: dict[str, Any], kind: str) -> bytes | None:
        """POST ``document``; the answer's body (at most ``_MAX_ANSWER`` bytes) if 2xx."""
        answer = None
        try:
            async with self._session.post(
                self.url + path, json=document, timeout=_TIMEOUT, headers=self._headers()
            ) as response:
                body = await response.content.read(_MAX_ANSWER)
                if response.status < 300:  # noqa: PLR2004
                    answer = body
                else:
                    log.warning("autoscaler refused a %s: %s", kind, response.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            if not self._failing:
                log.warning("cannot reach the autoscaler at %s: %r", self.url, exc)
        ok = answer is not None
        if ok and self._failing:
            log.info("the autoscaler at %s answers again", self.url)
        self._failing = not ok
        self._metrics.autoscaler_reports.labels(kind, "ok" if ok else "failed").inc()
        return answer

    async def close(self) -> None:
        """Let pokes in flight end."""
        if self._poking:
            await asyncio.wait(set(self._poking.values()), timeout=2.0)


@contextlib.asynccontextmanager
async def running(link: StatsLink | None) -> AsyncIterator[None]:
    """Report while inside (nothing without a link)."""
    if link is None:
        yield
        return
    task = asyncio.ensure_future(link.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await link.close()
