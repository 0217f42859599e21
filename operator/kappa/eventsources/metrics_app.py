"""The poller's HTTP endpoint: ``/metrics`` (its collectors) and ``/healthz``."""

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kappa.eventsources.metrics import PollerMetrics


def metrics_app(metrics: PollerMetrics) -> web.Application:
    """An aiohttp app serving ``metrics`` at ``/metrics`` and ``ok`` at ``/healthz``."""

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
