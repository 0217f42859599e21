"""Invoke a Function through the gateway's Lambda Invoke API, so that its concurrency holds.

The poller calls as its ServiceAccount (``kappa-poller`` of the mapping's namespace): the
credentials, a projected token, go with every call (``kappa.auth.credentials``).
"""

import json
import logging
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

import aiohttp

from kappa.auth.credentials import Credentials
from kappa.eventsources.outcome import InvokeResult

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS: Final = 5.0


class GatewayInvoker:
    """POSTs events to ``/2015-03-31/functions/NAMESPACE%2FNAME/invocations``."""

    def __init__(
        self,
        base_url: str,
        timeout_seconds: float = 960.0,
        credentials: Credentials | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials or Credentials()
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds, sock_connect=CONNECT_TIMEOUT_SECONDS
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def invoke(
        self, namespace: str, name: str, event: object, *, asynchronous: bool = False
    ) -> InvokeResult:
        """Invoke ``namespace/name`` with ``event``; status 0 when the gateway did not answer."""
        url = f"{self._base_url}/2015-03-31/functions/{quote(f'{namespace}/{name}', safe='')}"
        headers = [
            ("Content-Type", "application/json"),
            ("X-Amz-Invocation-Type", "Event" if asynchronous else "RequestResponse"),
        ]
        body = json.dumps(event, separators=(",", ":")).encode()
        try:
            signed = self._credentials.headers(
                "POST", f"{url}/invocations", headers, body, datetime.now(UTC)
            )
            async with self._client().post(
                f"{url}/invocations", data=body, headers=signed
            ) as response:
                payload = await response.read()
                return InvokeResult(
                    status=response.status,
                    payload=payload,
                    function_error=response.headers.get("X-Amz-Function-Error"),
                    error_type=response.headers.get("x-amzn-ErrorType"),
                    request_id=response.headers.get("x-amzn-RequestId"),
                )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            log.warning("gateway did not answer for %s/%s: %s", namespace, name, error)
            return InvokeResult(status=0, error_type=type(error).__name__)

    async def function_exists(self, namespace: str, name: str) -> bool | None:
        """GetFunction through the gateway: True/False, None when it did not answer."""
        url = f"{self._base_url}/2015-03-31/functions/{quote(f'{namespace}/{name}', safe='')}"
        try:
            headers = self._credentials.headers("GET", url, [], b"", datetime.now(UTC))
            async with self._client().get(url, headers=headers) as response:
                await response.read()
                return response.status == 200  # noqa: PLR2004 - HTTP OK
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
