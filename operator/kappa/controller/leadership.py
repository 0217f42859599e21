"""Leading among the operator's replicas, with a Lease in the operator's namespace (shell).

The rules are in ``kappa.controller.lease``. A standby waits in ``acquire``; the leader
labels its pod ``kappa.dev/operator-leader=true`` (the operator's Service selects it, so
the gateways' reports reach the leader only; the admission webhook has a Service of its
own that selects every replica, as all serve it), renews the Lease
every two seconds in ``keep`` (from a thread of its own, so a busy event loop cannot
let it run out), and gives it up in ``release`` when it stops, so a
standby takes over at once instead of after the Lease runs out.
"""

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from kappa.controller.lease import (
    LEASE_SECONDS,
    RENEW_SECONDS,
    LeaseView,
    Step,
    held_spec,
    lease_view,
    next_step,
    released_spec,
)

log = logging.getLogger(__name__)

LEASE_NAME: Final = "kappa-operator"
LEADER_LABEL: Final = "kappa.dev/operator-leader"
# (connect, read) seconds for each Lease call: a call that hangs must not outlast the Lease.
_REQUEST_TIMEOUT: Final = (2.0, 3.0)
# A Lease call that got no answer: refused, timed out, or the connection failed.
_UNANSWERED: Final = (ApiException, HTTPError, OSError)


class LeadershipLostError(RuntimeError):
    """The Lease is another replica's now, or could not be renewed in time."""


class Leadership:
    """This replica's part in the election: ``me`` is its pod's name."""

    def __init__(self, api: client.ApiClient, namespace: str, me: str) -> None:
        self._leases = client.CoordinationV1Api(api)
        self._core = client.CoreV1Api(api)
        self._api = api
        self.namespace, self.me = namespace, me
        # A thread of its own: behind a burst of the controller's calls in the shared
        # pool, a renewal would wait past the Lease's end and the standby would take over.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="lease")

    async def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        call = functools.partial(method, *args, _request_timeout=_REQUEST_TIMEOUT)
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def acquire(self) -> None:
        """Wait until this replica holds the Lease."""
        waiting_for = None
        while True:
            try:
                lease, version = await self._read()
                if next_step(lease, self.me, _now()) is not Step.WAIT and await self._write(
                    held_spec(lease, self.me, _now()), version
                ):
                    log.info("leading: Lease %s/%s is %s's", self.namespace, LEASE_NAME, self.me)
                    return
            except _UNANSWERED as error:  # the API server is away: ask again
                log.warning("reading the Lease failed: %s", _said(error))
                await asyncio.sleep(RENEW_SECONDS)
                continue
            holder = None if lease is None else lease.holder
            if holder != waiting_for:
                log.info("standing by: Lease %s/%s held by %s", self.namespace, LEASE_NAME, holder)
                waiting_for = holder
            await asyncio.sleep(RENEW_SECONDS)

    async def keep(self) -> None:
        """Renew the Lease until cancelled; raise LeadershipLostError when it is lost.

        The renewals and the sleeps between them run in the Lease's own thread, not in the
        event loop: a new leader's first listing of 10,000 objects keeps the loop busy for
        seconds at a time, and a renewal waiting on it would let the Lease run out while
        this replica still leads (a standby would take over, and lose it the same way).
        """
        stop = threading.Event()
        renewing = asyncio.get_running_loop().run_in_executor(self._thread, self._renew, stop)
        try:
            await renewing
        finally:
            stop.set()  # the thread ends at its next wake-up, within one call's timeout

    def _renew(self, stop: threading.Event) -> None:
        """The renewals, every RENEW_SECONDS until ``stop`` (in the Lease's thread)."""
        renewed = time.monotonic()
        while not stop.wait(RENEW_SECONDS):
            try:
                lease, version = self._read_blocking()
                if next_step(lease, self.me, _now()) is not Step.RENEW:
                    holder = None if lease is None else lease.holder
                    raise LeadershipLostError(f"the Lease is held by {holder!r} now")
                if self._write_blocking(held_spec(lease, self.me, _now()), version):
                    renewed = time.monotonic()
                    continue
            except _UNANSWERED as error:
                log.warning("renewing the Lease failed: %s", _said(error))
            if time.monotonic() - renewed >= LEASE_SECONDS - RENEW_SECONDS:
                msg = f"the Lease could not be renewed for {LEASE_SECONDS - RENEW_SECONDS:g} s"
                raise LeadershipLostError(msg)

    async def release(self) -> None:
        """Give the Lease up, if it is still this replica's (a stop, not a loss)."""
        try:
            lease, version = await self._read()
            if lease is not None and (spec := released_spec(lease, self.me)) is not None:
                await self._write(spec, version)
                log.info("Lease %s/%s released", self.namespace, LEASE_NAME)
        except _UNANSWERED as error:
            log.warning("releasing the Lease failed: %s", _said(error))

    async def mark(self, *, leading: bool) -> None:
        """Label this replica's pod as the leader (or remove the label)."""
        patch = {"metadata": {"labels": {LEADER_LABEL: "true" if leading else None}}}
        await self._call(self._core.patch_namespaced_pod, self.me, self.namespace, patch)

    async def _read(self) -> tuple[LeaseView | None, str | None]:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._read_blocking)

    async def _write(self, spec: dict[str, Any], version: str | None) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._write_blocking, spec, version)

    def _read_blocking(self) -> tuple[LeaseView | None, str | None]:
        try:
            found = self._leases.read_namespaced_lease(
                LEASE_NAME, self.namespace, _request_timeout=_REQUEST_TIMEOUT
            )
        except ApiException as error:
            if error.status == HTTPStatus.NOT_FOUND:
                return None, None
            raise
        spec: dict[str, Any] = self._api.sanitize_for_serialization(found.spec) or {}
        return lease_view(spec), found.metadata.resource_version

    def _write_blocking(self, spec: dict[str, Any], version: str | None) -> bool:
        """Create (no version) or replace the Lease; False when another replica wrote first."""
        metadata: dict[str, Any] = {"name": LEASE_NAME, "namespace": self.namespace}
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata}
        body["spec"] = spec
        try:
            if version is None:
                self._leases.create_namespaced_lease(
                    self.namespace, body, _request_timeout=_REQUEST_TIMEOUT
                )
            else:
                metadata["resourceVersion"] = version
                self._leases.replace_namespaced_lease(
                    LEASE_NAME, self.namespace, body, _request_timeout=_REQUEST_TIMEOUT
                )
        except ApiException as error:
            if error.status == HTTPStatus.CONFLICT:
                return False
            raise
        return True


def _said(error: Exception) -> str:
    if isinstance(error, ApiException):
        return f"{error.status} {error.reason}"
    return f"{type(error).__name__}: {error}"


def _now() -> datetime:
    return datetime.now(UTC)
