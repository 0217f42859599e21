"""`kappa operator`: connect to the cluster and run the kopf handlers."""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf
from kubernetes import client, config

from kappa.auth.guard import Guard
from kappa.auth.kube_review import KubeReviews
from kappa.auth.sigv4 import SignedRequest
from kappa.auth.subject import POD_NAME_EXTRA, service_account
from kappa.autoscaler.server import Authenticate, serve
from kappa.controller import quota
from kappa.controller.esm import register_esm
from kappa.controller.handlers import register
from kappa.controller.network_policies import register_network_policies
from kappa.controller.state import State
from kappa.invocation.errors import GatewayError
from kappa.k8s.objects import Objects
from kappa.settings import Settings, load

log = logging.getLogger("kappa.controller")


def _api_client(connections: int) -> client.ApiClient:
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()  # KUBECONFIG, as kubectl does
    configuration = client.Configuration.get_default_copy()
    configuration.connection_pool_maxsize = connections  # one per thread making calls
    return client.ApiClient(configuration)


def main() -> int:
    """Run the operator until it is stopped; return the exit status."""
    settings = load()
    logging.basicConfig(
        level=settings.log_level.value,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    api = _api_client(settings.kube_threads)
    state = State(objects=Objects(api), settings=settings)
    register(state)
    register_esm(api, settings)
    register_network_policies(api, settings)
    # The autoscaler never gives a namespace more slots than its ConcurrencyQuota allows.
    state.scaler.namespace_headroom = quota.register(
        state.memory, state.objects, state.settings
    ).headroom

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Events for what users act on; kopf's own chatter stays in the log.
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300

    asyncio.run(_run(state, api))
    return 0


def _gateways_only(api: client.ApiClient, settings: Settings) -> Authenticate | None:
    """Who may report to the autoscaler: pods of the gateway's ServiceAccount.

    A pod shows it with its projected token (TokenReview, audience kappa; answers cached
    a few seconds); the report is filed under the pod's name.
    """
    if not settings.gateway_service_account:
        return None
    expected = service_account(settings.namespace, settings.gateway_service_account).user
    guard = Guard(KubeReviews(api, settings.namespace, ("kappa",)), region=settings.region)

    async def authenticate(authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        try:
            caller = await guard.authenticate(authorization, _no_signature)
        except GatewayError as error:
            log.info("autoscaler: a report refused: %s", error)
            return None
        if caller.user != expected:
            log.warning("autoscaler: a report from %s refused (not %s)", caller, expected)
            return None
        return dict(caller.extra).get(POD_NAME_EXTRA, ("",))[0] or caller.user

    return authenticate


async def _no_signature() -> SignedRequest:
    raise AssertionError("the autoscaler takes bearer tokens only")


async def _run(state: State, api: client.ApiClient) -> None:
    """kopf, the autoscaler's ticks and its endpoint for gateways, in one event loop."""
    # The blocking client calls (asyncio.to_thread) run on a pool sized by the settings.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(state.settings.kube_threads, thread_name_prefix="kube")
    )
    runner = await serve(
        state.scaler,
        "0.0.0.0",  # noqa: S104
        state.settings.autoscaler_port,
        _gateways_only(api, state.settings),
    )
    ticks = asyncio.create_task(state.scaler.run(), name="autoscaler")
    try:
        await kopf.operator(clusterwide=True, standalone=True)
    finally:
        ticks.cancel()
        await runner.cleanup()
