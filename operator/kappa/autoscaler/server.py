"""The operator's HTTP endpoint for gateways: stats, pokes, and the autoscaler's metrics.

Why HTTP from each gateway to the operator: the operator is the one process
that decides (one replica), the gateways are many and come and go; a push
needs no discovery of gateways by the operator, a POST per second per gateway
is cheap, and a poke is one request on a kept-alive connection, so the first
pod can be asked for within milliseconds. The gateways find this endpoint
through the ``kappa-operator`` Service (its ClusterIP from the variables the
kubelet injects, as the cluster may have no DNS).

    POST /v1/stats   a gateway's figures for the last second (kappa.autoscaler.wire)
    POST /v1/poke    an invocation waits for a slot: decide for its Function now
    GET  /metrics    Prometheus text;   GET /healthz   200
"""

import json
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kappa.autoscaler.loop import Autoscaler
from kappa.autoscaler.wire import WireError, parse_poke, parse_stats

log = logging.getLogger("kappa.autoscaler")

MAX_BODY = 8 * 1024 * 1024


def make_app(autoscaler: Autoscaler) -> web.Application:
    """The aiohttp application over ``autoscaler``."""

    async def stats(request: web.Request) -> web.Response:
        try:
            gateway, functions = parse_stats(json.loads(await request.read()))
        except (WireError, ValueError) as exc:
            return _refuse(autoscaler, exc)
        autoscaler.report(gateway, functions)
        return web.Response(status=204)

    async def poke(request: web.Request) -> web.Response:
        try:
            gateway, key, sample, at = parse_poke(json.loads(await request.read()))
        except (WireError, ValueError) as exc:
            return _refuse(autoscaler, exc)
        autoscaler.poke(gateway, key, sample, at)
        return web.Response(status=204)

    async def metrics(_request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(autoscaler.metrics.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/v1/stats", stats)
    app.router.add_post("/v1/poke", poke)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    return app


def _refuse(autoscaler: Autoscaler, exc: Exception) -> web.Response:
    autoscaler.metrics.bad_reports.inc()
    log.warning("refused a gateway report: %s", exc)
    return web.json_response({"message": str(exc)}, status=400)


async def serve(autoscaler: Autoscaler, host: str, port: int) -> web.AppRunner:
    """Start serving on ``host:port``; the runner to clean up."""
    runner = web.AppRunner(make_app(autoscaler), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("autoscaler endpoint on %s:%s", host, port)
    return runner
