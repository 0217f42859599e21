"""`kappa operator`: connect to the cluster and run the kopf handlers."""

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import kopf
from kubernetes import client, config

from kappa.api.names import KAPPA_PODS
from kappa.auth.guard import Guard
from kappa.auth.kube_review import KubeReviews
from kappa.auth.sigv4 import SignedRequest
from kappa.auth.subject import service_account
from kappa.autoscaler.server import Authenticate, serve
from kappa.base import logs
from kappa.base.env import SettingsError
from kappa.controller import kopf_toggles, kopf_watch, quota
from kappa.controller.aliases import register_aliases
from kappa.controller.claims import Claims
from kappa.controller.esm import register_esm
from kappa.controller.handlers import register
from kappa.controller.kopf_memories import EventOnlyDiffBase, EventOnlyMemories
from kappa.controller.leadership import Leadership, LeadershipLostError
from kappa.controller.network_policies import register_network_policies
from kappa.controller.pool_key import PoolKey
from kappa.controller.pool_registry import PoolRegistry
from kappa.controller.pools import register_pools
from kappa.controller.state import State
from kappa.invocation.errors import GatewayError
from kappa.k8s.objects import Objects
from kappa.quota.usage import UsageLedger
from kappa.settings import Settings, load
from kappa.versions.publish import publish

log = logging.getLogger("kappa.controller")

# What kopf logs (kopf/_core/actions/execution.py) when a handler returned.
KOPF_SUCCESS: Final = re.compile(r"Handler '[^']*' succeeded\.")
STANDBY_RESTART_SECONDS: Final = 5.0
# Objects in each page of kopf's first listing of a kind (the API server's default is all).
LIST_PAGE: Final = 500


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
    kopf_toggles.install()  # before kopf builds its index gate: no N² wake-ups at start
    kopf_watch.install()  # the objects kopf holds at start, without their managedFields
    logs.configure(settings.log_level.value, settings.log_format.value, ("kappa", "kopf"))
    # kopf has no per-handler log level: it logs every handler's success at INFO, for
    # every event of every ConfigMap, pod and Function it watches (and each timer's
    # tick), most of the log of a busy cluster. Failures stay at their level.
    logging.getLogger("kopf.objects").addFilter(logs.Demote(KOPF_SUCCESS))
    api = _api_client(settings.kube_threads)
    state = State(objects=Objects(api), settings=settings, publisher=_publisher(api))
    register(state)
    register_esm(api, settings)
    register_aliases(api)
    register_network_policies(api, settings)
    # The autoscaler never gives a namespace more slots than its ConcurrencyQuota allows.
    quotas = quota.register(state.memory, state.objects, state.objects, state.settings)
    state.scaler.namespace_headroom = quotas.headroom
    # Warm pools: generic pods kept ready, taken by a Function's pass before it makes pods.
    pools = PoolRegistry()
    pool_key = PoolKey(state.objects, settings.namespace)
    state.claims = Claims(pools, state.objects, pool_key)
    register_pools(
        pools,
        state.objects,
        settings,
        quotas.headroom,
        pool_key,
        pools_changed=state.wake_namespace,
    )

    _configure(kopf.get_default_registry())
    try:
        asyncio.run(_run(state, api, quotas.usage))
    except LeadershipLostError as error:
        log.error("no longer leading (%s): stopping so that this replica stands by", error)  # noqa: TRY400 - one line, not a traceback
        return 1
    return 0


def _configure(registry: kopf.OperatorRegistry) -> None:
    """The kopf settings of every kopf this process runs (the leader's, a standby's)."""

    # kopf adds its own logins to its default registry only; a registry of our own (a
    # standby's) has none unless told, and kopf would then find no credentials.
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Events for what users act on; kopf's own chatter stays in the log.
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300
        # The first listing in pages: one page's JSON parsed at a time, not every pod's.
        settings.watching.chunk_size = LIST_PAGE
        # Kappa's pods only, filtered by the API server: kopf's label filters are its own, so
        # it would list, hold and follow every pod of the cluster, every tenant's.
        settings.watching.label_selectors["pods"] = KAPPA_PODS
        settings.persistence.diffbase_storage = EventOnlyDiffBase()


async def _stand_by(state: State, stop: asyncio.Event) -> None:
    """Serve the admission webhook while another replica leads, until ``stop`` is set.

    A kopf of its own: the claim and quota watches and the validate handlers only, no
    handler that writes. Started again after a failure, so the webhook comes back. It
    returns when ``stop`` is set or kopf stopped on a signal (SIGTERM: the pod is ending).
    kopf is stopped by its flag, never cancelled: a cancelled kopf arms a SIGKILL for the
    whole process (its ``ultimate_exiting_timeout``), which would end the new leader.
    """
    while not stop.is_set():
        registry = kopf.OperatorRegistry()
        _configure(registry)
        quota.register_admission(registry, state.objects, state.settings, manage=False)
        try:
            await kopf.operator(
                registry=registry,
                clusterwide=True,
                standalone=True,
                memories=EventOnlyMemories(),
                stop_flag=stop,
            )
        except Exception:  # the webhook must come back; the Lease is waited for apart
            log.exception("the standby's admission webhook stopped; starting it again")
            await asyncio.sleep(STANDBY_RESTART_SECONDS)
        else:
            return


async def _await_leading(leadership: Leadership, state: State) -> bool:
    """Wait for the Lease, serving the webhook meanwhile; False: stopped before leading."""
    if not state.settings.webhook_service:
        await leadership.acquire()
        return True
    stop = asyncio.Event()
    standby = asyncio.create_task(_stand_by(state, stop), name="webhook-standby")
    acquiring = asyncio.create_task(leadership.acquire(), name="lease-acquire")
    try:
        await asyncio.wait({standby, acquiring}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()  # the standby's kopf stops its webhook before the leader's starts one
        await asyncio.wait({standby})
        if not acquiring.done():  # kopf stopped on a signal (the pod is ending), or cancelled
            acquiring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acquiring
    if acquiring.cancelled():
        return False
    acquiring.result()
    return True


def _publisher(api: client.ApiClient) -> Callable[[str, str], Awaitable[tuple[int, bool]]]:
    """spec.publish's shell: publish a version of the Function in a worker thread."""

    async def publish_version(namespace: str, name: str) -> tuple[int, bool]:
        published = await asyncio.to_thread(publish, api, namespace, name)
        return published.number, published.created

    return publish_version


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
        return caller.pod or caller.user

    return authenticate


async def _no_signature() -> SignedRequest:
    raise AssertionError("the autoscaler takes bearer tokens only")


async def _run(state: State, api: client.ApiClient, usage: UsageLedger) -> None:
    """kopf, the autoscaler's ticks and its endpoint for gateways, in one event loop.

    The gateways' reports of usage go to ``usage`` (the quotas' ledger).
    """
    # The blocking client calls (asyncio.to_thread) run on a pool sized by the settings.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(state.settings.kube_threads, thread_name_prefix="kube")
    )
    # Served by a standby too: its /healthz keeps it alive while it waits.
    runner = await serve(
        state.scaler,
        "0.0.0.0",  # noqa: S104
        state.settings.autoscaler_port,
        _gateways_only(api, state.settings),
        usage,
    )
    leadership = _leadership(api, state.settings)
    tasks: list[asyncio.Task[None]] = []
    lost = False
    try:
        if leadership is not None:
            await leadership.mark(leading=False)  # a former leader's container, restarted
            if not await _await_leading(leadership, state):
                return
            await leadership.mark(leading=True)
            tasks.append(asyncio.create_task(leadership.keep(), name="lease"))
        tasks.append(asyncio.create_task(state.scaler.run(), name="autoscaler"))
        operator = asyncio.create_task(
            kopf.operator(clusterwide=True, standalone=True, memories=EventOnlyMemories())
        )
        done, _ = await asyncio.wait({operator, tasks[0]}, return_when=asyncio.FIRST_COMPLETED)
        if operator not in done:  # the Lease is lost: stop at once, a standby takes over
            lost = True
            operator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await operator
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        if leadership is not None and not lost:
            await leadership.release()
        await runner.cleanup()


def _leadership(api: client.ApiClient, settings: Settings) -> Leadership | None:
    if not settings.leader_election:
        return None
    if not settings.pod_name:
        msg = "KAPPA_LEADER_ELECTION needs KAPPA_POD_NAME (the downward API's metadata.name)"
        raise SettingsError(msg)
    return Leadership(api, settings.namespace, settings.pod_name)
