"""The poller: opens one mapping's source, runs the ``Runner`` on it, reports.

It connects to the source (retrying with backoff while the broker is
unreachable or refuses the credentials), runs the runner until stopped, and
every few seconds reports ``status.source`` (connected or why not, backlog,
last processing result) through its ``Reporter``. Sources keep what must
survive a restart (the schedule's last fire time) in its ``StateStore``.
The process around it is ``poller_main``.
"""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Final

from kappa.api.event_source_mapping import EventSourceMapping
from kappa.base.arn import function_arn
from kappa.eventsources.clock import SystemClock
from kappa.eventsources.invoker import GatewayInvoker
from kappa.eventsources.mapping_config import runner_config, source_config
from kappa.eventsources.metrics import PollerMetrics
from kappa.eventsources.registry import load as load_module
from kappa.eventsources.reporter import Reporter
from kappa.eventsources.runner import Runner, RunnerStatus
from kappa.eventsources.settings import PollerSettings
from kappa.eventsources.source import (
    EventContext,
    FailureDestination,
    Source,
    SourceConfig,
    SourceError,
    SourceModule,
    StateStore,
)
from kappa.eventsources.source_status import source_status
from kappa.eventsources.tasks import run_all

log = logging.getLogger("kappa.poller")

OPEN_BACKOFF_MAX_SECONDS: Final = 30.0


class Poller:
    """Opens the source, runs the runner, reports."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        settings: PollerSettings,
        reporter: Reporter,
        state: StateStore | None = None,
    ) -> None:
        self._mapping = mapping
        self._settings = settings
        self._reporter = reporter
        self._state = state
        self._clock = SystemClock()
        self.metrics = PollerMetrics()

    async def _report(
        self, runner: RunnerStatus | None, error: SourceError | None, backlog: int | None
    ) -> None:
        await self._reporter.report(source_status(runner, error, backlog, datetime.now(tz=UTC)))

    async def _open(self, stop: asyncio.Event) -> tuple[Source, FailureDestination | None] | None:
        module = load_module(self._mapping.spec.kind)
        config = source_config(self._mapping, self._settings, self._state)
        on_failure = self._mapping.spec.destination_config
        failures = 0
        while not stop.is_set():
            try:
                source = await module.open_source(config)
                target = None if on_failure is None else on_failure.on_failure.target
                destination = await _open_destination(module, config, target)
            except SourceError as error:
                failures += 1
                log.warning("cannot open the source: %s", error)
                await self._report(None, error, None)
                await _wait(stop, min(OPEN_BACKOFF_MAX_SECONDS, 2.0**failures))
            else:
                return source, destination
        return None

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set."""
        opened = await self._open(stop)
        if opened is None:
            return
        source, destination = opened
        module = load_module(self._mapping.spec.kind)
        namespace = self._mapping.metadata.namespace or "default"
        gateway = self._settings.gateway_url or "http://127.0.0.1:8000"
        invoker = GatewayInvoker(gateway, credentials=self._settings.gateway_credentials)
        context = EventContext(
            event_source_arn=source.event_source_arn,
            aws_region=self._settings.region,
            function_arn=function_arn(
                self._settings.region, namespace, self._mapping.spec.function_ref.name
            ),
            block=self._mapping.spec.block,
        )
        runner = Runner(
            source,
            shape=module.shape,
            filter_view=module.filter_view,
            context=context,
            invoker=invoker,
            config=runner_config(self._mapping),
            clock=self._clock,
            destination=destination,
            metrics=self.metrics,
        )
        log.info(
            "polling %s for %s/%s through %s",
            source.event_source_arn,
            namespace,
            self._mapping.spec.function_ref.name,
            gateway,
        )
        try:
            # An error the runner does not handle ends the reports too (and the process).
            await run_all(runner.run(stop), self._report_loop(runner, source, stop))
        finally:
            await invoker.close()
            await source.close()
            if destination is not None:
                await destination.close()

    async def _report_loop(self, runner: Runner, source: Source, stop: asyncio.Event) -> None:
        while True:
            try:
                backlog = await source.backlog()
            except SourceError as error:
                self.metrics.connected.set(0)
                await self._report(runner.status, error, None)
            else:
                self.metrics.connected.set(runner.status.source_error is None)
                if backlog is not None:
                    self.metrics.backlog.set(backlog)
                await self._report(runner.status, None, backlog)
            if stop.is_set():
                return
            await _wait(stop, self._settings.report_seconds)


async def _open_destination(
    module: SourceModule, config: SourceConfig, target: str | None
) -> FailureDestination | None:
    if target is None:
        return None
    if module.open_failure_destination is None:
        msg = "this kind of source takes no onFailure.target: use onFailure.function"
        raise SourceError(msg)
    return await module.open_failure_destination(config, target)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
