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

Stats and pokes come only from gateways: each carries ``Authorization: Bearer`` with
the gateway pod's projected ServiceAccount token, and ``authenticate`` (given by the
process, ``kappa.controller.main``: a TokenReview and a check that the subject is the
gateway's ServiceAccount) names the pod, or refuses with 401. A report is filed under
that pod's name, so no caller can overwrite another gateway's figures. Without
``authenticate`` (tests of the autoscaler alone) every caller is taken at its word.

A stats report's usage (running totals of what agents ran) goes to the ``usage``
ledger given (the quotas', kappa.quota.usage); a report with any figure out of
bounds is refused whole (400), so it neither moves the autoscaler nor the totals.
A report's usage holds only the totals that changed; when the ledger does not know
the gateway (this replica has just begun to lead), the answer asks it for all of them
(200 ``{"wantCompleteUsage": true}``; kappa.autoscaler.wire).
"""

import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kappa.autoscaler.loop import Autoscaler
from kappa.autoscaler.wire import (
    WANT_COMPLETE_USAGE,
    WireError,
    parse_poke,
    parse_ready_port,
    parse_stats,
    parse_usage,
)
from kappa.quota.usage import UsageLedger

log = logging.getLogger("kappa.autoscaler")

MAX_BODY = 8 * 1024 * 1024

# The Authorization header in, the caller (a gateway pod's name) out, or None: refused.
Authenticate = Callable[[str | None], Awaitable[str | None]]


def make_app(
    autoscaler: Autoscaler,
    authenticate: Authenticate | None = None,
    usage: UsageLedger | None = None,
) -> web.Application:
    """The aiohttp application over ``autoscaler``; ``authenticate`` checks each report.

    The reports' usage goes to ``usage``, when given.
    """

    async def caller(request: web.Request) -> str | None:
        if authenticate is None:
            return ""
        return await authenticate(request.headers.get("Authorization"))

    async def stats(request: web.Request) -> web.Response:
        if (who := await caller(request)) is None:
            return _unauthenticated(autoscaler)
        try:
            document = json.loads(await request.read())
            gateway, functions = parse_stats(document)
            reported = parse_usage(document)
            address = ready_address(request.remote, parse_ready_port(document))
        except (WireError, ValueError, RecursionError) as exc:
            return _refuse(autoscaler, exc)
        autoscaler.report(_filed(who, gateway), functions, address)
        if usage is not None:
            now = time.time()
            autoscaler.metrics.usage_totals.inc(len(reported.totals))
            taken = usage.record(
                _filed(who, gateway),
                reported.started,
                reported.totals,
                now,
                complete=reported.complete,
            )
            usage.expire(now)
            if not taken:
                autoscaler.metrics.complete_usage_asked.inc()
                return web.json_response(WANT_COMPLETE_USAGE)
        return web.Response(status=204)

    async def poke(request: web.Request) -> web.Response:
        if (who := await caller(request)) is None:
            return _unauthenticated(autoscaler)
        try:
            document = json.loads(await request.read())
            gateway, key, sample, at = parse_poke(document)
            address = ready_address(request.remote, parse_ready_port(document))
        except (WireError, ValueError, RecursionError) as exc:
            return _refuse(autoscaler, exc)
        autoscaler.poke(_filed(who, gateway), key, sample, at, address)
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


def ready_address(remote: str | None, port: int | None) -> str | None:
    """``host:port`` where the reporting gateway takes readiness pushes (its own address).

    The host is the connection's peer (the gateway's pod), never what the body says, so
    a report cannot send agents' pushes elsewhere.
    """
    if port is None or not remote:
        return None
    host = ipaddress.ip_address(remote)
    return f"[{host}]:{port}" if host.version == 6 else f"{host}:{port}"  # noqa: PLR2004


def _filed(caller: str, gateway: str) -> str:
    """The board's id of a report: the authenticated pod, then the id it gave."""
    return f"{caller}/{gateway}" if caller else gateway


def _unauthenticated(autoscaler: Autoscaler) -> web.Response:
    autoscaler.metrics.unauthenticated_reports.inc()
    return web.json_response(
        {"message": "reports and pokes come from Kappa's gateways only (a bearer token of "
                    "the gateway's ServiceAccount, audience kappa)"},
        status=401,
    )  # fmt: skip


def _refuse(autoscaler: Autoscaler, exc: Exception) -> web.Response:
    autoscaler.metrics.bad_reports.inc()
    log.warning("refused a gateway report: %s", exc)
    return web.json_response({"message": str(exc)}, status=400)


async def serve(
    autoscaler: Autoscaler,
    host: str,
    port: int,
    authenticate: Authenticate | None = None,
    usage: UsageLedger | None = None,
) -> web.AppRunner:
    """Start serving on ``host:port``; the runner to clean up."""
    runner = web.AppRunner(make_app(autoscaler, authenticate, usage), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("autoscaler endpoint on %s:%s", host, port)
    return runner
