"""The gateway's client of the code store: upload a package, get the URL pods fetch it by.

CreateFunction and UpdateFunctionCode send a package too large for a ConfigMap here
(``kappa.resources.package.placement``): one ``PUT /v1/packages/<namespace>/<sha256>``
with the zip as the body (streamed from the one copy the gateway decoded), and the
gateway pod's projected ServiceAccount token (audience kappa), which is how the store
knows the upload comes from a gateway. The store answers the capability URL the
Function's ``spec.code.url`` then names. A store that cannot take it is the caller's
500 ``ServiceException`` (429 while the store is busy), never a Function naming a
package that is not there.
"""

import io
import json
import logging
from pathlib import Path
from typing import Final

import aiohttp

from kappa.api.function import URL_MAX_LENGTH
from kappa.auth.credentials import TokenFile
from kappa.invocation.errors import ThrottleReason, service_error, too_many_requests

log = logging.getLogger("kappa.gateway.code_store")

UPLOAD_TIMEOUT_SECONDS: Final = 300.0
_CREATED: Final = frozenset({200, 201})
_BUSY: Final = 429


class CodeStoreClient:
    """Uploads packages to the code store at ``url``."""

    def __init__(self, url: str, token_file: Path | None = None) -> None:
        self.url = url.rstrip("/")
        self._token = None if token_file is None else TokenFile(token_file)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/zip"}
        if self._token is not None:
            try:
                headers["Authorization"] = f"Bearer {self._token.read()}"
            except OSError as exc:
                raise service_error(f"the gateway cannot read its token: {exc}") from None
        return headers

    async def put(self, namespace: str, archive: bytes, sha256: str) -> str:
        """Upload ``archive`` (whose hex sha256 is ``sha256``) for ``namespace``; its URL."""
        target = f"{self.url}/v1/packages/{namespace}/{sha256}"
        timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                # BytesIO over bytes shares them: the package is not copied to be sent.
                session.put(target, data=io.BytesIO(archive), headers=self._headers()) as answer,
            ):
                text = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("cannot upload to the code store at %s: %r", self.url, exc)
            raise service_error(f"the code store cannot be reached: {exc}") from None
        return _url(status, _document(text), sha256)


def _document(text: bytes) -> dict[str, object]:
    """The store's JSON answer; {} for anything else (the status then says enough)."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _url(status: int, document: dict[str, object], sha256: str) -> str:
    """The package's URL from the store's answer; a GatewayError for anything else."""
    message = str(document.get("message") or "")[:500]
    if status == _BUSY:
        raise too_many_requests(
            ThrottleReason.CALLER_RATE_LIMIT_EXCEEDED,
            f"The code store takes as many uploads as it may; retry later. {message}".strip(),
        )
    if status not in _CREATED:
        log.warning("the code store refused an upload: %s %s", status, message)
        raise service_error(f"the code store refused the package ({status}): {message}")
    url = document.get("url")
    if document.get("sha256") != sha256 or not isinstance(url, str) or len(url) > URL_MAX_LENGTH:
        raise service_error("the code store answered an upload with no usable URL")
    return url
