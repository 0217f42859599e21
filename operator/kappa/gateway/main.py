"""`kappa gateway`: the gateway process: settings, logging, the registry's feed, the server.

The composition root of the data plane, apart from the routes (``kappa.gateway.app``):
the one module of the gateway that imports ``kappa.asyncq``, to inject its event queue
(``kappa.gateway.event_queue``) when NATS is configured, and ``kappa.durable.service``,
to serve the durable execution API (``kappa.gateway.durable_api``) when NATS is
configured and the durable key is mounted (``KAPPA_DURABLE_KEYS_DIR``).
"""

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CollectorRegistry

from kappa.asyncq.service import AsyncService
from kappa.asyncq.settings import AsyncSettings
from kappa.asyncq.settings import load as load_async
from kappa.auth.guard import Guard
from kappa.base import logs
from kappa.base.env import SettingsError
from kappa.durable import service as durable
from kappa.durable.metrics import DurableMetrics
from kappa.durable.runner import DurableRunner
from kappa.gateway.app import Gateway, RouteSet
from kappa.gateway.durable_api import DurableApi
from kappa.gateway.durable_invoke import DurableFactory
from kappa.gateway.event_queue import EventQueue, EventQueueFactory
from kappa.gateway.settings import GatewaySettings, load
from kappa.invocation.function_labels import FunctionLabels
from kappa.invocation.registry import Registry, RegistryFileError, StaticRegistry

if TYPE_CHECKING:
    from kappa.auth.kube_review import KubeReviews


log = logging.getLogger("kappa.gateway")

_REGISTRY_POLL_SECONDS: Final = 0.5


def _event_queue(settings: AsyncSettings | None) -> EventQueueFactory | None:
    """The factory of asyncq's queue, when asynchronous invocation is configured."""
    if settings is None or not settings.enabled:
        return None
    enabled = settings

    def make(
        registry: Registry,
        metrics: CollectorRegistry,
        labels: FunctionLabels,
        region: str,
        ready: Callable[[], bool],
    ) -> EventQueue:
        return AsyncService(enabled, registry, metrics, labels, region=region, ready=ready)

    return make


async def _durable_api(
    settings: GatewaySettings,
    queue: AsyncSettings | None,
    guard: Guard,
    stack: contextlib.AsyncExitStack,
) -> tuple[RouteSet, DurableFactory] | None:
    """The durable API's routes and runner, when NATS is configured and the key is mounted."""
    keys_dir = settings.durable_keys_dir
    if queue is None or not queue.enabled or keys_dir is None:
        return None
    try:
        keys = durable.load_keys(keys_dir)
        service, close = await durable.open_service(
            queue.servers, dict(queue.credentials), keys, settings.region
        )
    except Exception:
        log.exception("durable functions are off: their key is not usable")
        return None
    stack.push_async_callback(close)

    def runner(registry: Registry, metrics: CollectorRegistry) -> DurableRunner:
        return DurableRunner(service, registry, DurableMetrics(metrics))

    return DurableApi(service, guard), runner


def _drop_client_protocol_errors(record: logging.LogRecord) -> bool:
    """Keep aiohttp's tracebacks for malformed requests (header floods…) out of the log.

    The caller got its 400 already; a traceback per hostile request would let anyone
    flood the gateway's log.
    """
    error = record.exc_info[1] if record.exc_info else None
    return not (isinstance(error, HttpProcessingError) and (error.code or 0) < 500)  # noqa: PLR2004


def main(registry_file: Path | None = None) -> int:
    """Run the gateway until SIGTERM/SIGINT; return the exit status.

    With a registry file (``--registry`` or ``KAPPA_GATEWAY_REGISTRY``) it serves what
    the file lists; without one it watches the cluster (in-cluster, else KUBECONFIG).
    """
    try:
        settings = load()
        async_settings = load_async()
    except SettingsError as exc:
        print(f"kappa gateway: invalid settings:\n{exc}", file=sys.stderr)  # noqa: T201
        return 2
    # Kappa's lines at the chosen level; libraries' (aiohttp logs every malformed request
    # with a traceback at DEBUG) at WARNING, so hostile callers cannot flood the log.
    logs.configure(settings.log_level, settings.log_format)
    logging.getLogger("aiohttp.server").addFilter(_drop_client_protocol_errors)
    path = registry_file or settings.registry_file
    reviews = None
    if path is None or settings.auth:
        # Imported on use: the kubernetes client is no part of a gateway fed by a file.
        from kappa.gateway import kube_registry  # noqa: PLC0415

        try:
            api = kube_registry.api_client()
        except kube_registry.KubeConfigError as exc:
            log.error(  # noqa: TRY400 - the message says it all
                "%s; a gateway checks its callers against the cluster (KAPPA_GATEWAY_AUTH=none "
                "turns that off) and, without --registry, watches it",
                exc,
            )
            return 2
        if settings.auth:
            from kappa.auth.kube_review import KubeReviews  # noqa: PLC0415

            reviews = KubeReviews(api, settings.namespace, settings.token_audiences)
    else:
        log.warning("KAPPA_GATEWAY_AUTH=none: every caller may invoke and read every Function")
    guard = Guard(reviews, region=settings.region, cache_seconds=settings.auth_cache_seconds)
    if path is None:
        from kappa.gateway.code_store import CodeStoreClient  # noqa: PLC0415
        from kappa.gateway.control_plane import ControlPlane  # noqa: PLC0415
        from kappa.gateway.control_store import ControlStore  # noqa: PLC0415
        from kappa.gateway.esm_api import EventSourceMappingApi  # noqa: PLC0415
        from kappa.gateway.function_api import FunctionApi  # noqa: PLC0415

        kube = kube_registry.KubeRegistry.watching(api, settings.region)
        feed = _with_keys(reviews, kube.run)
        return _run(
            _serve(
                settings,
                kube,
                feed,
                registry_ready=kube.synced,
                async_settings=async_settings,
                guard=guard,
                control=(
                    ControlPlane(ControlStore(api), settings.region),
                    FunctionApi(
                        ControlStore(api),
                        guard,
                        settings.region,
                        None
                        if settings.code_store_url is None
                        else CodeStoreClient(settings.code_store_url, settings.token_file),
                    ),
                    EventSourceMappingApi(ControlStore(api), guard, settings.region),
                ),
            )
        )
    static = StaticRegistry()
    try:
        static.load(path, settings.region)
    except RegistryFileError as exc:
        log.error("%s", exc)  # noqa: TRY400 - the message says it all
        return 2
    feed = _with_keys(reviews, lambda: _watch(static, path, settings))
    return _run(_serve(settings, static, feed, async_settings=async_settings, guard=guard))


def _run(serve: Coroutine[Any, Any, int]) -> int:
    """Run ``serve`` on uvloop's event loop where it is installed (a dependency on Linux).

    libuv's loop in place of asyncio's own: the same program, more calls per CPU second
    (BENCHMARKS.md, "The gateway's own ceiling").
    """
    try:
        import uvloop  # noqa: PLC0415 - optional where it does not build (Windows)
    except ImportError:
        log.info("event loop: asyncio's own (uvloop is not installed)")
        return asyncio.run(serve)
    log.info("event loop: uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(serve)


def _with_keys(
    reviews: "KubeReviews | None", feed: Callable[[], Coroutine[Any, Any, None]]
) -> Callable[[], Coroutine[Any, Any, None]]:
    """``feed``, and the access keys kept current beside it when callers are checked."""
    if reviews is None:
        return feed

    async def both() -> None:
        keys = asyncio.ensure_future(reviews.keep_keys())
        try:
            await feed()
        finally:
            keys.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keys
            reviews.close()

    return both


async def _serve(  # noqa: PLR0913 - the options are keyword-only
    settings: GatewaySettings,
    registry: Registry,
    feed: Callable[[], Coroutine[Any, Any, None]],
    *,
    registry_ready: Callable[[], bool] | None = None,
    async_settings: AsyncSettings | None = None,
    guard: Guard | None = None,
    control: Sequence[RouteSet] = (),
) -> int:
    """Serve until SIGTERM/SIGINT while ``feed()`` keeps ``registry`` current."""
    async with contextlib.AsyncExitStack() as stack:
        guard = guard or Guard(None, region=settings.region)
        durable_parts = await _durable_api(settings, async_settings, guard, stack)
        durable_runner = None
        if durable_parts is not None:
            routes, durable_runner = durable_parts
            control = (*control, routes)
        return await _serve_with(
            settings,
            feed,
            Gateway(
                settings,
                registry,
                registry_ready=registry_ready,
                events=_event_queue(async_settings),
                guard=guard,
                control=control,
                durable=durable_runner,
            ),
        )


async def _serve_with(
    settings: GatewaySettings, feed: Callable[[], Coroutine[Any, Any, None]], gateway: Gateway
) -> int:
    """Serve ``gateway`` until SIGTERM/SIGINT while ``feed()`` keeps its registry current."""
    # handler_cancellation: a caller that disconnects while queued leaves the queue.
    runner = web.AppRunner(gateway.app(), access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=1024)
    await site.start()
    for address in runner.addresses:
        log.info("listening on %s:%s", address[0], address[1])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    feeder = asyncio.ensure_future(feed())
    try:
        await stop.wait()
        log.info("stopping: finishing the invocations in flight")
        gateway.ready = False
    finally:
        try:
            await runner.cleanup()  # the registry stays current while calls in flight finish
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder
    return 0


async def _watch(registry: StaticRegistry, path: Path, settings: GatewaySettings) -> None:
    """Re-read the registry file whenever it changes (StaticRegistry's stand-in for a watch)."""
    seen = _stamp(path)
    while True:
        await asyncio.sleep(_REGISTRY_POLL_SECONDS)
        stamp = _stamp(path)
        if stamp == seen:
            continue
        seen = stamp
        try:
            registry.load(path, settings.region)
        except RegistryFileError as exc:
            log.warning("%s (keeping the previous registry)", exc)
        else:
            log.info("registry reloaded from %s", path)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)
