"""The KAPPAPOD key at the gateway: a pod credential becomes its pod's ServiceAccount, with
the pod on the subject; every refusal and its status. TokenReview is stood in for by a
table (``Reviews``); the real one is in e2e/test_auth.py, and the agent's side with real
botocore in tests/integration/agent/test_pod_credentials.py."""

import asyncio
import hashlib
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from kappa.auth.access import Access
from kappa.auth.access_keys import AccessKey
from kappa.auth.guard import Guard
from kappa.auth.pod_credentials import pod_subject, token_of
from kappa.auth.sigv4 import SignedRequest, sign
from kappa.auth.subject import POD_NAME_EXTRA, Subject, service_account
from kappa.base import pod_credential
from kappa.invocation.errors import GatewayError, service_error

T = TypeVar("T")
TOKEN = "eyJhbGciOiJSUzI1NiJ9.payload.signature"  # noqa: S105 - a test token
POD = Subject(
    "system:serviceaccount:team-a:orders",
    ("system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"),
    "uid-1",
    ((POD_NAME_EXTRA, ("orders-abc12",)), ("authentication.kubernetes.io/pod-uid", ("p1",))),
)
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return int(NOW.timestamp() * 1000)


class Reviews:
    """TokenReview from a table; ``down`` plays an API server that does not answer."""

    def __init__(self) -> None:
        self.tokens: dict[str, Subject] = {TOKEN: POD}
        self.calls = 0
        self.down = False

    async def token(self, token: str) -> Subject | None:
        self.calls += 1
        if self.down:
            raise service_error("Kappa could not check the caller: the API server is down.")
        return self.tokens.get(token)

    async def access(self, subject: Subject, access: Access) -> bool:
        raise AssertionError(f"authentication asks no RBAC ({subject}, {access})")

    async def key(self, access_key_id: str) -> AccessKey | None:
        raise AssertionError(f"a pod key is no access-key Secret ({access_key_id})")


def run(awaitable: Awaitable[T]) -> T:
    async def main() -> T:
        return await awaitable

    return asyncio.run(main())


def signed_call(
    token: str, *, secret: str | None = None, key: str | None = None
) -> tuple[str, SignedRequest]:
    """A request signed as botocore signs with the pod credential of ``token``."""
    body = b'{"a":1}'
    headers = sign(
        method="POST",
        url="http://gw/2015-03-31/functions/f/invocations",
        headers=[("Content-Type", "application/json")],
        body=body,
        access_key_id=key or pod_credential.access_key_id(token),
        secret_access_key=secret or pod_credential.secret_access_key(token),
        region="us-east-1",
        service="lambda",
        now=NOW,
        session_token=token,
    )
    authorization = dict(headers)["Authorization"]
    request = SignedRequest("POST", "/2015-03-31/functions/f/invocations", "", headers,
                            hashlib.sha256(body).hexdigest())  # fmt: skip
    return authorization, request


def authenticate(guard: Guard, token: str, security_token: str | None, **signing: str) -> Subject:
    authorization, request = signed_call(token, **signing)

    async def signed() -> SignedRequest:
        return request

    return run(guard.authenticate(authorization, signed, security_token))


def make() -> tuple[Guard, Reviews, Clock]:
    reviews, clock = Reviews(), Clock()
    return Guard(reviews, region="us-east-1", cache_seconds=5.0, clock=clock), reviews, clock


def test_the_derivation_is_fixed_and_names_the_token() -> None:
    secret = pod_credential.secret_access_key(TOKEN)
    assert len(secret) == 64
    assert secret == pod_credential.secret_access_key(TOKEN)
    assert secret != pod_credential.secret_access_key(TOKEN + "x")
    key = pod_credential.access_key_id(TOKEN)
    assert key.startswith("KAPPAPOD")
    assert len(key) == 20
    assert key.isalnum()
    document = pod_credential.credentials(TOKEN, NOW)
    assert document == {"AccessKeyId": key, "SecretAccessKey": secret, "Token": TOKEN,
                        "Expiration": "2026-12-04T12:20:00Z"}  # fmt: skip


def test_a_pod_credential_authenticates_as_the_pods_service_account_once_per_cache_time() -> None:
    guard, reviews, clock = make()
    caller = authenticate(guard, TOKEN, TOKEN)
    assert caller.user == "system:serviceaccount:team-a:orders"
    assert caller.groups == POD.groups
    assert caller.pod == "orders-abc12"
    assert authenticate(guard, TOKEN, TOKEN) == caller
    assert reviews.calls == 1
    clock.now += 5.0
    authenticate(guard, TOKEN, TOKEN)
    assert reviews.calls == 2


@pytest.mark.parametrize(
    ("security_token", "signing", "status", "error_type"),
    [
        pytest.param(None, {}, 401, "UnrecognizedClientException", id="no-security-token"),
        pytest.param("", {}, 401, "UnrecognizedClientException", id="empty-security-token"),
        pytest.param("x" * 8001, {}, 401, "UnrecognizedClientException", id="token-too-long"),
        pytest.param("tok\x00en", {}, 401, "UnrecognizedClientException", id="control-character"),
        pytest.param(TOKEN + "x", {}, 401, "UnrecognizedClientException", id="key-names-another-token"),
        pytest.param(TOKEN, {"secret": "0" * 64}, 403, "InvalidSignatureException", id="wrong-secret"),
    ],
)  # fmt: skip
def test_refusals(
    security_token: str | None, signing: dict[str, str], status: int, error_type: str
) -> None:
    guard, _, _ = make()
    with pytest.raises(GatewayError) as refused:
        authenticate(guard, TOKEN, security_token, **signing)
    assert (refused.value.status, refused.value.error_type) == (status, error_type)


def test_a_token_kubernetes_refuses_is_401_and_not_asked_again_at_once() -> None:
    guard, reviews, _ = make()
    other = "eyJhbGciOiJSUzI1NiJ9.unknown.signature"
    for _ in range(2):
        with pytest.raises(GatewayError) as refused:
            authenticate(guard, other, other)
        assert refused.value.status == 401
    assert reviews.calls == 1


@pytest.mark.parametrize(
    "reviewed",
    [
        pytest.param(service_account("team-a", "orders"), id="service-account-without-pod"),
        pytest.param(Subject("alice", ("system:authenticated",)), id="a-user"),
    ],
)
def test_a_token_that_is_no_pods_service_account_token_is_401(reviewed: Subject) -> None:
    guard, reviews, _ = make()
    reviews.tokens[TOKEN] = reviewed
    with pytest.raises(GatewayError) as refused:
        authenticate(guard, TOKEN, TOKEN)
    assert refused.value.status == 401


def test_an_api_server_that_does_not_answer_is_503_never_a_4xx() -> None:
    guard, reviews, _ = make()
    reviews.down = True
    with pytest.raises(GatewayError) as refused:
        authenticate(guard, TOKEN, TOKEN)
    assert (refused.value.status, refused.value.error_type) == (503, "ServiceException")
    reviews.down = False
    assert authenticate(guard, TOKEN, TOKEN).pod == "orders-abc12"  # nothing cached of it


def test_the_pure_checks_name_what_is_wrong() -> None:
    assert token_of(pod_credential.access_key_id(TOKEN), f" {TOKEN}\n") == TOKEN
    with pytest.raises(GatewayError, match="X-Amz-Security-Token"):
        token_of("KAPPAPOD000000000000", None)
    with pytest.raises(GatewayError, match="expired"):
        pod_subject(None)
    assert pod_subject(POD) is POD
