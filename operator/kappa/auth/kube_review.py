"""The shell of authentication: TokenReview, SubjectAccessReview and the access-key Secrets.

Calls go through the kubernetes client on a small thread pool of their own (the
client blocks), so a slow API server (a 500 ``ServiceException`` to the caller, never
a 401 or 403) holds at most :data:`POOL_SIZE` threads and
never the event loop. Answers are cached by :class:`kappa.auth.guard.Guard`, not here.
The access-key Secrets are listed (label ``kappa.dev/access-key=true``, the gateway's
namespace only) every :data:`KEYS_REFRESH_SECONDS`, and at most once a second more
when a caller names a key not seen yet, so a new key works at once and a flood of
unknown keys costs the API server one list a second.
"""

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Final

from kubernetes import client

from kappa.auth.access import GROUP, Access
from kappa.auth.access_keys import SELECTOR, AccessKey, read_keys
from kappa.auth.subject import Subject
from kappa.invocation.errors import GatewayError, service_error

log = logging.getLogger("kappa.gateway.auth")

POOL_SIZE: Final = 8
KEYS_REFRESH_SECONDS: Final = 10.0
_KEYS_MISS_INTERVAL: Final = 1.0
_TIMEOUT: Final = (5, 10)


class KubeReviews:
    """TokenReview, SubjectAccessReview and access keys, against one API server."""

    def __init__(self, api: client.ApiClient, namespace: str, audiences: Sequence[str]) -> None:
        self._authn = client.AuthenticationV1Api(api)
        self._authz = client.AuthorizationV1Api(api)
        self._core = client.CoreV1Api(api)
        self._namespace = namespace
        self._audiences = list(audiences)
        self._pool = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="kappa-auth")
        self._keys: dict[str, AccessKey] = {}
        self._keys_at = -1e9
        self._keys_lock = asyncio.Lock()

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, partial(function, *args, **kwargs))
        except client.ApiException as exc:
            raise _unavailable(f"answered {exc.status} {exc.reason}") from None
        except Exception as exc:  # noqa: BLE001 - any transport failure is the same 500
            raise _unavailable(f"did not answer ({type(exc).__name__})") from None

    async def token(self, token: str) -> Subject | None:
        """The Subject the token authenticates, or None when the API server says it does not."""
        spec: dict[str, Any] = {"token": token}
        if self._audiences:
            spec["audiences"] = self._audiences
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}
        review = await self._call(
            self._authn.create_token_review, body, _preload_content=False, _request_timeout=_TIMEOUT
        )
        status = _json(review).get("status") or {}
        if not status.get("authenticated"):
            return None
        who = status.get("user") or {}
        extra = who.get("extra") or {}
        return Subject(
            user=str(who.get("username") or ""),
            groups=tuple(str(g) for g in who.get("groups") or ()),
            uid=str(who.get("uid") or ""),
            extra=tuple(sorted((str(k), tuple(str(x) for x in v)) for k, v in extra.items())),
        )

    async def access(self, subject: Subject, access: Access) -> bool:
        """Whether RBAC (the cluster's authorisers) allows ``subject`` the ``access``."""
        attributes = {
            "group": GROUP,
            "resource": access.plural,
            "verb": access.verb.value,
            "namespace": access.namespace,
        }
        if access.name:
            attributes["name"] = access.name
        if access.subresource:
            attributes["subresource"] = access.subresource
        spec: dict[str, Any] = {"user": subject.user, "groups": list(subject.groups),
                                "resourceAttributes": attributes}  # fmt: skip
        if subject.uid:
            spec["uid"] = subject.uid
        if subject.extra:
            spec["extra"] = {k: list(v) for k, v in subject.extra}
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": spec}  # fmt: skip
        review = await self._call(
            self._authz.create_subject_access_review,
            body,
            _preload_content=False,
            _request_timeout=_TIMEOUT,
        )
        return bool((_json(review).get("status") or {}).get("allowed"))

    async def key(self, access_key_id: str) -> AccessKey | None:
        """The access key ``access_key_id``, listing the Secrets again if it is not known yet."""
        now = time.monotonic()
        found = self._keys.get(access_key_id)
        if found is None and now - self._keys_at >= _KEYS_MISS_INTERVAL:
            await self.refresh_keys()
            found = self._keys.get(access_key_id)
        return found

    async def refresh_keys(self) -> None:
        """List the access-key Secrets (one refresh at a time)."""
        async with self._keys_lock:
            if time.monotonic() - self._keys_at < _KEYS_MISS_INTERVAL:
                return
            response = await self._call(
                self._core.list_namespaced_secret,
                self._namespace,
                label_selector=SELECTOR,
                _preload_content=False,
                _request_timeout=_TIMEOUT,
            )
            keys, problems = read_keys(_json(response).get("items") or ())
            for problem in problems:
                log.warning("%s", problem)
            if keys.keys() != self._keys.keys():
                log.info("access keys: %d", len(keys))
            self._keys, self._keys_at = keys, time.monotonic()

    async def keep_keys(self) -> None:
        """Refresh the access keys every few seconds until cancelled."""
        while True:
            try:
                await self.refresh_keys()
            except GatewayError as exc:
                log.warning("access keys not refreshed: %s", exc)
            await asyncio.sleep(KEYS_REFRESH_SECONDS)

    def close(self) -> None:
        """Stop the thread pool."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _unavailable(what: str) -> GatewayError:
    """500: the caller could not be checked (never a 401/403 for the cluster's trouble)."""
    return service_error(f"Kappa could not check the caller: the Kubernetes API server {what}.")


def _json(response: Any) -> Mapping[str, Any]:
    data = json.loads(response.data)
    return data if isinstance(data, dict) else {}
