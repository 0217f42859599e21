"""``kappa poller``: the process that runs one EventSourceMapping.

It connects to the source (retrying with backoff while the broker is
unreachable or refuses the credentials), runs the ``Runner`` until SIGTERM,
and every few seconds reports ``status.source`` (connected or why not,
backlog, last processing result) — to the mapping's status subresource in a
cluster, or as a JSON line on stdout with ``--mapping FILE``. Sources keep
what must survive a restart (the schedule's last fire time) in
``status.source.state`` (or ``--state FILE``).
"""

import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kappa.api.event_source_mapping import EventSourceMapping, SourceStatus
from kappa.api.filters import FilterPatternError, parse_all
from kappa.base import clock as base_clock
from kappa.base.arn import function_arn
from kappa.eventsources.batching import BatchPolicy
from kappa.eventsources.invoker import GatewayInvoker
from kappa.eventsources.metrics import PollerMetrics
from kappa.eventsources.outcome import RetryPolicy
from kappa.eventsources.registry import load as load_module
from kappa.eventsources.runner import Runner, RunnerConfig, RunnerStatus
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

log = logging.getLogger("kappa.poller")

OPEN_BACKOFF_MAX_SECONDS: Final = 30.0


class SystemClock(base_clock.SystemClock):
    """The process's real clocks, and asyncio's sleep."""

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)


class Reporter(Protocol):
    """Where the poller's view of the source goes."""

    async def report(self, status: SourceStatus) -> None:
        """Publish ``status``."""
        ...


class LogReporter:
    """Reports as JSON lines on stdout (``--mapping FILE`` runs: tests, benchmarks)."""

    async def report(self, status: SourceStatus) -> None:
        """Print ``status``."""
        line = status.model_dump(mode="json", by_alias=True, exclude_none=True)
        print(json.dumps({"status": line}), flush=True)  # noqa: T201 - the report is output


class FileStateStore:
    """State kept in a JSON file (``--state FILE``)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, str]:
        if not self._path.exists():
            return {}
        loaded = json.loads(self._path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in loaded.items()}

    async def load(self, key: str) -> str | None:
        """The value under ``key``."""
        return self._read().get(key)

    async def save(self, key: str, value: str) -> None:
        """Write the file anew (atomically: rename)."""
        data = self._read()
        data[key] = value
        scratch = self._path.with_suffix(".tmp")
        scratch.write_text(json.dumps(data), encoding="utf-8")
        scratch.replace(self._path)


def _source_config(
    mapping: EventSourceMapping, settings: PollerSettings, state: StateStore | None
) -> SourceConfig:
    spec = mapping.spec
    namespace = mapping.metadata.namespace or "default"
    timestamp = spec.starting_position_timestamp
    return SourceConfig(
        block=spec.block,
        namespace=namespace,
        mapping_name=mapping.metadata.name,
        consumer_name=settings.pod_name,
        group=f"kappa-{namespace}-{mapping.metadata.name}",
        batch_size=spec.effective_batch_size,
        region=settings.region,
        credentials=dict(settings.credentials),
        starting_position=None if spec.starting_position is None else str(spec.starting_position),
        starting_position_timestamp_ms=(
            None if timestamp is None else int(timestamp.timestamp() * 1000)
        ),
        state=state,
    )


def runner_config(mapping: EventSourceMapping) -> RunnerConfig:
    """The runner's view of the spec (raises FilterPatternError for a bad pattern)."""
    spec = mapping.spec
    on_failure = None if spec.destination_config is None else spec.destination_config.on_failure
    patterns = (
        ()
        if spec.filter_criteria is None
        else parse_all([f.pattern for f in spec.filter_criteria.filters])
    )
    return RunnerConfig(
        namespace=mapping.metadata.namespace or "default",
        function_name=spec.function_ref.name,
        batch=BatchPolicy(
            batch_size=spec.effective_batch_size,
            window_seconds=float(spec.maximum_batching_window_seconds),
        ),
        retry=RetryPolicy(
            maximum_retry_attempts=spec.maximum_retry_attempts,
            maximum_record_age_seconds=spec.maximum_record_age_seconds,
        ),
        reports_item_failures=spec.reports_item_failures,
        bisect=spec.bisect_batch_on_function_error,
        parallelization=spec.parallelization_factor,
        patterns=patterns,
        failure_function=(
            None if on_failure is None or on_failure.function is None else on_failure.function.name
        ),
    )


def _status(
    runner: RunnerStatus | None, error: SourceError | None, backlog: int | None
) -> SourceStatus:
    now = datetime.now(tz=UTC)
    problem = error or (None if runner is None else runner.source_error)
    last: str | None
    if runner is not None and runner.function_missing:
        last = "PROBLEM: Function not found"
    else:
        last = None if runner is None else runner.last_result
    return SourceStatus(
        connected=problem is None,
        reason=None if problem is None else problem.reason,
        message=None if problem is None else str(problem),
        backlog=backlog,
        last_processing_result=last,
        last_poll_time=now,
        records_processed=None if runner is None else runner.records_processed,
    )


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

    async def _open(self, stop: asyncio.Event) -> tuple[Source, FailureDestination | None] | None:
        module = load_module(self._mapping.spec.kind)
        config = _source_config(self._mapping, self._settings, self._state)
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
                await self._reporter.report(_status(None, error, None))
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
        reports = asyncio.create_task(self._report_loop(runner, source, stop))
        try:
            await runner.run(stop)
        finally:
            await reports
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
                await self._reporter.report(_status(runner.status, error, None))
            else:
                self.metrics.connected.set(runner.status.source_error is None)
                if backlog is not None:
                    self.metrics.backlog.set(backlog)
                await self._reporter.report(_status(runner.status, None, backlog))
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


def parse_mapping(document: Mapping[str, Any]) -> EventSourceMapping:
    """The mapping of a manifest or of ``KAPPA_ESM_MAPPING`` (status ignored)."""
    return EventSourceMapping.model_validate({k: v for k, v in document.items() if k != "status"})


async def _serve(poller: Poller, metrics_port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = None
    if metrics_port:
        runner = web.AppRunner(_metrics_app(poller.metrics))
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", metrics_port).start()  # noqa: S104 - pod IP
    try:
        await poller.run(stop)
    finally:
        if runner is not None:
            await runner.cleanup()


def _metrics_app(metrics: PollerMetrics) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def exposition(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", exposition)
    return app


def main(mapping_file: Path | None, gateway: str | None, state_file: Path | None) -> int:
    """Run the poller of the mapping in ``mapping_file`` or ``KAPPA_ESM_MAPPING``."""
    from kappa.eventsources.settings import load  # noqa: PLC0415 - the CLI's import of settings

    settings = load()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if gateway is not None:
        settings = dataclasses.replace(settings, gateway_url=gateway)
    text: str | None = (
        mapping_file.read_text(encoding="utf-8")
        if mapping_file is not None
        else settings.mapping_json
    )
    if text is None:
        log.error("no mapping: pass --mapping FILE or set KAPPA_ESM_MAPPING")
        return 2
    mapping = parse_mapping(json.loads(text))
    try:
        runner_config(mapping)
    except FilterPatternError as error:
        log.error("%s", error)  # noqa: TRY400 - the message says what to fix
        return 2
    reporter: Reporter
    state: StateStore | None
    if mapping_file is None:
        from kappa.eventsources.kube_status import KubeStatus  # noqa: PLC0415

        kube = KubeStatus(mapping.metadata.namespace or "default", mapping.metadata.name)
        reporter, state = kube, kube
    else:
        reporter = LogReporter()
        state = None if state_file is None else FileStateStore(state_file)
    asyncio.run(_serve(Poller(mapping, settings, reporter, state), settings.metrics_port))
    return 0
