"""`kappa operator`: connect to the cluster and run the kopf handlers."""

import asyncio
import logging
from typing import Any

import kopf
from kubernetes import client, config

from kappa.autoscaler.server import serve
from kappa.controller import quota
from kappa.controller.esm import register_esm
from kappa.controller.handlers import register
from kappa.controller.state import State
from kappa.k8s.objects import Objects
from kappa.settings import load


def _api_client() -> client.ApiClient:
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()  # KUBECONFIG, as kubectl does
    return client.ApiClient()


def main() -> int:
    """Run the operator until it is stopped; return the exit status."""
    settings = load()
    logging.basicConfig(
        level=settings.log_level.value,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    api = _api_client()
    state = State(objects=Objects(api), settings=settings)
    register(state)
    register_esm(api, settings)
    # The autoscaler never gives a namespace more slots than its ConcurrencyQuota allows.
    state.scaler.namespace_headroom = quota.register(
        state.memory, state.objects, state.settings
    ).headroom

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Events for what users act on; kopf's own chatter stays in the log.
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300

    asyncio.run(_run(state))
    return 0


async def _run(state: State) -> None:
    """kopf, the autoscaler's ticks and its endpoint for gateways, in one event loop."""
    runner = await serve(state.scaler, "0.0.0.0", state.settings.autoscaler_port)  # noqa: S104
    ticks = asyncio.create_task(state.scaler.run(), name="autoscaler")
    try:
        await kopf.operator(clusterwide=True, standalone=True)
    finally:
        ticks.cancel()
        await runner.cleanup()
