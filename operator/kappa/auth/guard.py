"""Authentication and authorisation of one call, with answers cached a few seconds.

``authenticate`` turns the ``Authorization`` header into a :class:`Subject`:

- none → :data:`ANONYMOUS` (allowed only where a Function's URL says ``authType: NONE``);
- ``Bearer TOKEN`` → TokenReview (audience ``kappa`` by default);
- ``AWS4-HMAC-SHA256 ...`` → the access key's Secret, and the signature verified;
  a ``KAPPAPOD`` key is a durable Function's pod credential instead
  (:mod:`kappa.auth.pod_credentials`): its token reviewed, the signature verified with
  the secret derived from it, the pod's ServiceAccount the caller.

``require`` asks a SubjectAccessReview whether the subject may have the
:class:`Access`, and raises Lambda's error when not: 401
``UnrecognizedClientException`` for no or bad credentials, 403
``AccessDeniedException`` naming the subject, verb, resource and namespace. The
refusal does not depend on whether the Function exists, so it tells a caller who may
not see a namespace nothing about it.

Token and access answers are cached :attr:`Guard.cache_seconds` (both ways), so a
revoked binding stops working within that time.
"""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final, Protocol

from kappa.auth import pod_credentials, sigv4
from kappa.auth.access import (
    ALIASES,
    DEAD_LETTERS,
    DURABLE_EXECUTIONS,
    MAPPINGS,
    RESOURCE,
    VERSIONS,
    Access,
    Verb,
)
from kappa.auth.access_keys import AccessKey
from kappa.auth.subject import ANONYMOUS, Subject
from kappa.auth.ttl_cache import TtlCache
from kappa.base.clock import Clock, SystemClock
from kappa.base.pod_credential import secret_access_key
from kappa.invocation.errors import GatewayError, access_denied, unrecognized_client

MAX_TOKEN: Final = 16 * 1024
_CACHE_SIZE: Final = 10_000
_READ: Final = {Verb.GET: "kappa-viewer", Verb.LIST: "kappa-viewer"}
# The chart's ClusterRole that grants each verb, by resource (charts/kappa/templates/auth).
_ROLES: Final = {
    RESOURCE: {
        Verb.INVOKE: "kappa-invoker",
        **_READ,
        Verb.UPDATE: "kappa-releaser",
        Verb.CREATE: "kappa-author",
        Verb.DELETE: "kappa-author",
    },
    f"{RESOURCE}/{DEAD_LETTERS}": dict.fromkeys(Verb, "kappa-dlq-admin"),
    f"{RESOURCE}/{DURABLE_EXECUTIONS}": {
        **_READ,
        Verb.UPDATE: "kappa-releaser",
        Verb.DELETE: "kappa-author",
    },
    VERSIONS: {
        **_READ,
        Verb.CREATE: "kappa-releaser",
        Verb.UPDATE: "kappa-releaser",
        Verb.DELETE: "kappa-author",
    },
    ALIASES: {**_READ, **dict.fromkeys((Verb.CREATE, Verb.UPDATE, Verb.DELETE), "kappa-releaser")},
    MAPPINGS: {**_READ, **dict.fromkeys((Verb.CREATE, Verb.UPDATE, Verb.DELETE), "kappa-author")},
}


class Reviews(Protocol):
    """What the guard asks the cluster (kappa.auth.kube_review.KubeReviews)."""

    async def token(self, token: str) -> Subject | None:
        """The token's subject; None when the API server does not authenticate it."""
        ...

    async def access(self, subject: Subject, access: Access) -> bool:
        """Whether the subject may have the access."""
        ...

    async def key(self, access_key_id: str) -> AccessKey | None:
        """The access key with this id, or None."""
        ...


class Guard:
    """Who is calling (``authenticate``), and may they (``allowed``/``require``)."""

    def __init__(
        self,
        reviews: Reviews | None,
        *,
        region: str,
        cache_seconds: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        """``reviews`` None: authentication is off, every caller may do everything."""
        self._reviews = reviews
        self._region = region
        self.cache_seconds = cache_seconds
        self._clock = clock or SystemClock()
        self._tokens: TtlCache[bytes, Subject | None] = TtlCache(cache_seconds, _CACHE_SIZE)
        self._decisions: TtlCache[tuple[Subject, Access], bool] = TtlCache(
            cache_seconds, _CACHE_SIZE
        )

    @property
    def enabled(self) -> bool:
        """Whether callers are checked at all."""
        return self._reviews is not None

    async def authenticate(
        self,
        authorization: str | None,
        signed: Callable[[], Awaitable[sigv4.SignedRequest]],
        security_token: str | None = None,
    ) -> Subject:
        """The caller; ``signed()`` gives the request's signed parts (read only for SigV4).

        ``security_token``: the request's ``X-Amz-Security-Token`` (a pod credential's token).
        """
        if self._reviews is None or not authorization:
            return ANONYMOUS
        if authorization.startswith("Bearer "):
            return await self._bearer(self._reviews, authorization[len("Bearer ") :].strip())
        if sigv4.is_sigv4(authorization):
            parsed = sigv4.parse_authorization(authorization)
            if pod_credentials.is_pod_key(parsed.access_key_id):
                return await self._pod(self._reviews, parsed, signed, security_token)
            key = await self._reviews.key(parsed.access_key_id)
            if key is None:
                raise sigv4.unknown_key(parsed.access_key_id)
            await self._verify(parsed, signed, key.secret_access_key)
            return key.subject
        raise unrecognized_client(
            "Unsupported Authorization header: send 'Bearer TOKEN' (a Kubernetes token for "
            "audience kappa) or sign the request with AWS Signature Version 4."
        )

    async def _verify(
        self,
        parsed: sigv4.Authorization,
        signed: Callable[[], Awaitable[sigv4.SignedRequest]],
        secret: str,
    ) -> None:
        now = datetime.fromtimestamp(self._clock.wall_ms() / 1000, UTC)
        sigv4.verify(await signed(), parsed, secret, region=self._region, now=now)

    async def _pod(
        self,
        reviews: Reviews,
        parsed: sigv4.Authorization,
        signed: Callable[[], Awaitable[sigv4.SignedRequest]],
        security_token: str | None,
    ) -> Subject:
        """A pod credential: the token reviewed, then the signature with its derived secret."""
        token = pod_credentials.token_of(parsed.access_key_id, security_token)
        try:
            reviewed = await self._review(reviews, token)
        except GatewayError as error:
            raise pod_credentials.unavailable(error) from None
        subject = pod_credentials.pod_subject(reviewed)
        await self._verify(parsed, signed, secret_access_key(token))
        return subject

    async def _review(self, reviews: Reviews, token: str) -> Subject | None:
        """The token's subject, reviewed or from the cache (accepted or refused)."""
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock.monotonic()
        if self._tokens.known(digest, now):  # accepted or refused within the cache time
            return self._tokens.get(digest, now)
        subject = await reviews.token(token)
        self._tokens.put(digest, subject, now)
        return subject

    async def _bearer(self, reviews: Reviews, token: str) -> Subject:
        if not token or len(token) > MAX_TOKEN:
            raise unrecognized_client(f"The bearer token must be 1 to {MAX_TOKEN} characters.")
        subject = await self._review(reviews, token)
        if subject is None:
            raise unrecognized_client(
                "The bearer token was not accepted by Kubernetes: it is expired, revoked, or "
                "not for audience 'kappa' (kubectl create token NAME --audience kappa)."
            )
        return subject

    async def allowed(self, subject: Subject, access: Access) -> bool:
        """Whether ``subject`` may have ``access`` (cached ``cache_seconds``)."""
        if self._reviews is None:
            return True
        if subject.anonymous:
            return False
        now = self._clock.monotonic()
        decision = self._decisions.get((subject, access), now)
        if decision is None:
            decision = await self._reviews.access(subject, access)
            self._decisions.put((subject, access), decision, now)
        return decision

    async def require(self, subject: Subject, access: Access) -> None:
        """Return when allowed; else raise 401 (anonymous) or 403 (a known subject)."""
        if await self.allowed(subject, access):
            return
        if subject.anonymous:
            raise unrecognized_client(
                "Missing credentials: send 'Authorization: Bearer TOKEN' (a Kubernetes token "
                "for audience kappa) or sign the request with an access key (SigV4)."
            )
        role = _ROLES.get(access.resource, {}).get(access.verb, "a Role")
        raise access_denied(
            f"User {subject} is not allowed to {access}: a RoleBinding to the ClusterRole "
            f"{role} in that namespace grants it."
        )
