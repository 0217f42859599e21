"""``kappa poller``: the process that runs one EventSourceMapping's ``Poller``.

Settings, logging, the mapping (``--mapping FILE`` or ``KAPPA_ESM_MAPPING``),
where reports and state go (the mapping's status in a cluster; stdout and
``--state FILE`` with ``--mapping``), the metrics endpoint, and SIGTERM.
"""

import asyncio
import dataclasses
import json
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from kappa.api.event_source_mapping import EventSourceMapping
from kappa.base import logs
from kappa.base.env import SettingsError
from kappa.eventsources.file_state import FileStateStore
from kappa.eventsources.mapping_config import parse_mapping, runner_config
from kappa.eventsources.metrics_app import metrics_app
from kappa.eventsources.poller import Poller
from kappa.eventsources.reporter import LogReporter, Reporter
from kappa.eventsources.settings import load
from kappa.eventsources.source import StateStore

log = logging.getLogger("kappa.poller")


async def _serve(poller: Poller, metrics_port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = None
    if metrics_port:
        runner = web.AppRunner(metrics_app(poller.metrics))
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", metrics_port).start()  # noqa: S104 - pod IP
    try:
        await poller.run(stop)
    finally:
        if runner is not None:
            await runner.cleanup()


def main(mapping_file: Path | None, gateway: str | None, state_file: Path | None) -> int:
    """Run the poller of the mapping in ``mapping_file`` or ``KAPPA_ESM_MAPPING``.

    The exit status: 0 when stopped (SIGTERM), 2 for settings or a mapping it cannot
    use (one line says which), 1 when the poller failed on an error it does not handle:
    Kubernetes restarts the container, and the broker redelivers what was unacked.
    """
    try:
        settings = load()
    except SettingsError as error:
        problems = "; ".join(error.problems)
        print(f"kappa poller: invalid settings: {problems}", file=sys.stderr)  # noqa: T201
        return 2
    logs.configure(settings.log_level, settings.log_format)
    if gateway is not None:
        settings = dataclasses.replace(settings, gateway_url=gateway)
    try:
        mapping = _load_mapping(mapping_file, settings.mapping_json)
    except (OSError, ValueError) as error:
        log.error("the mapping: %s", error)  # noqa: TRY400 - the message says what to fix
        return 2
    reporter, state = _reporter_and_state(
        mapping, in_cluster=mapping_file is None, state_file=state_file
    )
    try:
        asyncio.run(_serve(Poller(mapping, settings, reporter, state), settings.metrics_port))
    except Exception:
        log.exception(
            "mapping %s/%s: the poller failed; exiting so that it is restarted",
            mapping.metadata.namespace or "default",
            mapping.metadata.name,
        )
        return 1
    return 0


def _load_mapping(mapping_file: Path | None, mapping_json: str | None) -> EventSourceMapping:
    """The mapping of ``--mapping FILE`` or else ``KAPPA_ESM_MAPPING``, its filters checked.

    Raises OSError or ValueError (bad JSON, a bad spec, a filter pattern Kappa cannot
    read) with a message that says what to fix.
    """
    text = mapping_file.read_text(encoding="utf-8") if mapping_file is not None else mapping_json
    if text is None:
        msg = "none given: pass --mapping FILE or set KAPPA_ESM_MAPPING"
        raise ValueError(msg)
    mapping = parse_mapping(json.loads(text))
    runner_config(mapping)  # FilterPatternError: a pattern Kappa cannot read
    return mapping


def _reporter_and_state(
    mapping: EventSourceMapping, *, in_cluster: bool, state_file: Path | None
) -> tuple[Reporter, StateStore | None]:
    """The mapping's status in a cluster; else stdout, and ``state_file`` if given."""
    if in_cluster:
        # Imported on use: the kubernetes client is no part of a poller fed by a file.
        from kappa.eventsources.kube_status import KubeStatus  # noqa: PLC0415

        kube = KubeStatus(mapping.metadata.namespace or "default", mapping.metadata.name)
        return kube, kube
    return LogReporter(), None if state_file is None else FileStateStore(state_file)
