"""`kappa codestore`: serve the packages on the volume and collect the unnamed ones."""

import asyncio
import contextlib
import logging
import signal

from kubernetes import client, config

from kappa.auth.guard import Guard
from kappa.auth.kube_review import KubeReviews
from kappa.auth.sigv4 import SignedRequest
from kappa.base import logs
from kappa.base.env import SettingsError
from kappa.codestore import collector
from kappa.codestore.blobs import Blobs
from kappa.codestore.bucket import Bucket
from kappa.codestore.cluster import ClusterCode
from kappa.codestore.metrics import CodeStoreMetrics
from kappa.codestore.server import Authenticate, StoreConfig, make_app, serve
from kappa.codestore.settings import CodeStoreSettings, load
from kappa.codestore.storage import Storage
from kappa.invocation.errors import GatewayError

log = logging.getLogger("kappa.codestore")


def main() -> int:
    """Run the code store until it is stopped; return the exit status."""
    try:
        settings = load()
    except SettingsError as exc:
        logging.basicConfig()
        log.error("%s", exc)  # noqa: TRY400 - the message names every variable to fix
        return 2
    logs.configure(settings.log_level, settings.log_format, ("kappa",))
    api = None
    if settings.auth or settings.gc_interval_seconds > 0:  # the cluster is needed
        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()  # KUBECONFIG, as kubectl does
        api = client.ApiClient()
    asyncio.run(_run(settings, api))
    return 0


def _uploaders(api: client.ApiClient | None, settings: CodeStoreSettings) -> Authenticate | None:
    """Who may upload: a bearer token (TokenReview) of one of the configured users."""
    if api is None or not settings.auth:
        log.warning("KAPPA_CODESTORE_AUTH=none: anyone who reaches the store may upload")
        return None
    reviews = KubeReviews(api, "", settings.token_audiences)
    guard = Guard(reviews, region="")

    async def authenticate(authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        try:
            caller = await guard.authenticate(authorization, _no_signature)
        except GatewayError as error:
            log.info("an upload's token refused: %s", error)
            return False
        if caller.user not in settings.uploaders:
            log.warning("an upload from %s refused (may upload: %s)", caller.user,
                        ", ".join(sorted(settings.uploaders)))  # fmt: skip
            return False
        return True

    return authenticate


async def _no_signature() -> SignedRequest:
    raise AssertionError("the code store takes bearer tokens only")


def _storage(settings: CodeStoreSettings) -> Storage:
    """The volume under the root, or the bucket (uploads staged under the root)."""
    if not settings.s3_bucket:
        return Blobs(settings.root)
    log.info("packages in s3://%s/%s", settings.s3_bucket, settings.s3_prefix)
    return Bucket(
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint=settings.s3_endpoint or None,
        region=settings.s3_region or None,
        staging=settings.root / "staging",
    )


async def _run(settings: CodeStoreSettings, api: client.ApiClient | None) -> None:
    blobs = _storage(settings)
    await asyncio.to_thread(blobs.prepare)
    key = await asyncio.to_thread(blobs.signing_key)
    metrics = CodeStoreMetrics()
    metrics.count(await asyncio.to_thread(blobs.list))
    store = StoreConfig(settings.base_url, key, settings.max_bytes, settings.max_uploads)
    app = make_app(blobs, store, metrics, _uploaders(api, settings))
    runner = await serve(app, settings.host, settings.port)
    gc = None
    if api is not None and settings.gc_interval_seconds > 0:
        gc = asyncio.create_task(
            collector.run(
                blobs,
                ClusterCode(api).objects,
                metrics,
                interval_seconds=settings.gc_interval_seconds,
                grace_seconds=settings.gc_grace_seconds,
            )
        )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()  # then uploads under way finish (the runner waits for them)
        log.info("stopping")
    finally:
        if gc is not None:
            gc.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gc
        await runner.cleanup()
