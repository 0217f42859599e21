"""The code store's HTTP API.

    PUT /v1/packages/{namespace}/{sha256}       upload (the gateway only): the zip as the
                                                body; 201 new, 200 the same bytes again;
                                                answers {url, namespace, sha256, size}
    GET /v1/packages/{namespace}/{sha256}?sig=  download (function pods): the capability
                                                URL the upload answered
    GET /healthz, GET /metrics

Uploads carry ``Authorization: Bearer`` with the caller's ServiceAccount token, checked
by ``authenticate`` (given by the process: a TokenReview and the list of callers that
may upload); without it (tests) every caller may upload. The body is streamed to the
volume and never held: at most ``max_bytes`` (Lambda's 50 MB zipped upload), a
``Content-Length`` is required, and a body whose sha256 is not the one in the path is
refused. Every refusal is a 4xx with a JSON ``message``: 400 a malformed namespace or
sha256, or the wrong bytes; 401 no or a refused token; 403 a bad signature; 404 no such
package; 411 no length; 413 too large; 429 ``max_uploads`` already running. The
store's own trouble is a 5xx: 503 a bucket that does not answer, 507 a full volume.
"""

import errno
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kappa.codestore.capability import (
    PACKAGES_PATH,
    BadPackageNameError,
    PackageKey,
    package_key,
    package_url,
    signature_valid,
)
from kappa.codestore.metrics import CodeStoreMetrics
from kappa.codestore.storage import Storage, StorageError, Upload

log = logging.getLogger("kappa.codestore")

PACKAGE_ROUTE: Final = PACKAGES_PATH + "/{namespace}/{sha256}"
_CHUNK: Final = 1024 * 1024

# The Authorization header in; whether its caller may upload.
Authenticate = Callable[[str | None], Awaitable[bool]]


@dataclass(frozen=True)
class StoreConfig:
    """What the API needs beyond the volume."""

    base_url: str
    key: bytes
    max_bytes: int
    max_uploads: int = 4


class _Refused(Exception):  # noqa: N818 - a refusal, answered as a 4xx
    def __init__(self, status: int, message: str, outcome: str = "refused") -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome


def make_app(
    blobs: Storage,
    config: StoreConfig,
    metrics: CodeStoreMetrics,
    authenticate: Authenticate | None = None,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The aiohttp application over ``blobs``."""
    uploading = 0

    async def upload(request: web.Request) -> web.Response:
        nonlocal uploading
        try:
            if authenticate is not None and not await authenticate(
                request.headers.get("Authorization")
            ):
                raise _Refused(  # noqa: TRY301 - one handler answers every refusal
                    401,
                    "uploads come from Kappa's gateway only (a bearer token of its "
                    "ServiceAccount, audience kappa)",
                    "unauthenticated",
                )
            key = key_of(request)
            length = request.content_length
            if length is None:
                raise _Refused(411, "send the package with a Content-Length")  # noqa: TRY301
            if length > config.max_bytes:
                raise _Refused(  # noqa: TRY301
                    413, f"a package is at most {config.max_bytes} bytes; this is {length}"
                )
            if uploading >= config.max_uploads:
                raise _Refused(429, "too many uploads at once; retry")  # noqa: TRY301
            uploading += 1
            try:
                return await _store(
                    request, blobs=blobs, config=config, metrics=metrics, key=key, clock=clock
                )
            finally:
                uploading -= 1
        except _Refused as refused:
            metrics.uploads.labels(refused.outcome).inc()
            log.info("upload %s refused: %s", request.path[:200], refused)
            return _message(refused.status, str(refused))

    async def download(request: web.Request) -> web.StreamResponse:
        try:
            key = key_of(request)
        except _Refused as refused:
            metrics.downloads.labels(refused.outcome).inc()
            return _message(refused.status, str(refused))
        if not signature_valid(config.key, key, request.query.get("sig")):
            metrics.downloads.labels("forbidden").inc()
            return _message(403, "the signature does not match this package")
        try:
            response = await blobs.open(key)
        except StorageError as exc:
            metrics.downloads.labels("failed").inc()
            log.warning("download of %s/%s failed: %s", key.namespace, key.sha256, exc)
            return _message(503, "the code store's storage does not answer; retry")
        if response is None:
            metrics.downloads.labels("missing").inc()
            return _message(404, f"no package {key.sha256} in namespace {key.namespace}")
        metrics.downloads.labels("served").inc()
        return response

    async def prometheus(_request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(metrics.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    # The body is streamed, never read whole: no route reads more than a small body.
    app = web.Application(client_max_size=64 * 1024)
    app.router.add_put(PACKAGE_ROUTE, upload)
    app.router.add_get(PACKAGE_ROUTE, download)
    app.router.add_get("/metrics", prometheus)
    app.router.add_get("/healthz", healthz)
    return app


async def _store(  # noqa: PLR0913 - the handler's context, passed on
    request: web.Request,
    *,
    blobs: Storage,
    config: StoreConfig,
    metrics: CodeStoreMetrics,
    key: PackageKey,
    clock: Callable[[], float],
) -> web.Response:
    """Stream the body to a temporary file, check it and put it in place."""
    upload = blobs.new_upload()
    try:
        try:
            await _receive(request, upload, config.max_bytes)
            if upload.sha256 != key.sha256:
                raise _Refused(400, f"the body's sha256 is {upload.sha256}, not {key.sha256}")
            created = await blobs.commit(upload, key, clock())
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise _Refused(507, "the code store's volume is full", "failed") from None
            raise
        except StorageError as exc:
            log.warning("upload of %s/%s failed: %s", key.namespace, key.sha256, exc)
            raise _Refused(
                503, "the code store's storage does not answer; retry", "failed"
            ) from None
    finally:
        upload.discard()
    if created:
        metrics.added(upload.size)
    metrics.uploads.labels("created" if created else "renewed").inc()
    log.info("package %s/%s (%d bytes) %s", key.namespace, key.sha256, upload.size,
             "stored" if created else "renewed")  # fmt: skip
    document = {
        "url": package_url(config.base_url, config.key, key),
        "namespace": key.namespace,
        "sha256": key.sha256,
        "size": upload.size,
    }
    return web.json_response(document, status=201 if created else 200)


async def _receive(request: web.Request, upload: Upload, limit: int) -> None:
    """Copy the body to ``upload``; 413 past ``limit`` whatever the length said."""
    async for chunk in request.content.iter_chunked(_CHUNK):
        if upload.size + len(chunk) > limit:
            raise _Refused(413, f"a package is at most {limit} bytes")
        upload.write(chunk)


def key_of(request: web.Request) -> PackageKey:
    """The package a request's path names (400 when it names none)."""
    try:
        return package_key(request.match_info["namespace"], request.match_info["sha256"])
    except BadPackageNameError as exc:
        raise _Refused(400, str(exc), "invalid") from None


def _message(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app`` on ``host:port``; the runner to clean up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("code store on %s:%s", host, port)
    return runner
