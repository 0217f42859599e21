"""The guard: which credentials become which subject, what RBAC answers are cached for how
long, and the errors a refused caller reads. The cluster's TokenReview and
SubjectAccessReview are stood in for by a table here (``FakeReviews``); the real ones are
exercised against the real API server in e2e/test_auth.py."""

import asyncio
import hashlib
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from kappa.auth.access import Access, Verb, dead_letters, durable_executions, invoke
from kappa.auth.access_keys import AccessKey
from kappa.auth.guard import Guard
from kappa.auth.sigv4 import SignedRequest, canonical_request, parse_authorization, signature
from kappa.auth.subject import ANONYMOUS, Subject, service_account
from kappa.invocation.errors import GatewayError

T = TypeVar("T")
ALICE = Subject("alice", ("devs", "system:authenticated"))
CI = service_account("team-a", "ci")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return int(datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp() * 1000 + self.now)


class FakeReviews:
    """A stand-in for the API server's reviews: tokens and grants from tables, calls counted."""

    def __init__(self) -> None:
        self.tokens = {"alice-token": ALICE}
        self.grants = {(ALICE, invoke("team-a", "f")), (CI, invoke("team-a", "f"))}
        self.keys = {"KAPPAKEY000000000001": AccessKey("KAPPAKEY000000000001",
                                                       "0123456789abcdef0123", CI, "s")}  # fmt: skip
        self.token_calls = 0
        self.access_calls = 0

    async def token(self, token: str) -> Subject | None:
        self.token_calls += 1
        return self.tokens.get(token)

    async def access(self, subject: Subject, access: Access) -> bool:
        self.access_calls += 1
        return (subject, access) in self.grants

    async def key(self, access_key_id: str) -> AccessKey | None:
        return self.keys.get(access_key_id)


def run(awaitable: Awaitable[T]) -> T:
    async def main() -> T:
        return await awaitable

    return asyncio.run(main())


async def _unsigned() -> SignedRequest:
    raise AssertionError("a bearer or anonymous call must not read the body")


def make() -> tuple[Guard, FakeReviews, FakeClock]:
    reviews, clock = FakeReviews(), FakeClock()
    return Guard(reviews, region="us-east-1", cache_seconds=5.0, clock=clock), reviews, clock


def test_no_credentials_is_anonymous_and_gets_401_for_anything() -> None:
    guard, _, _ = make()
    caller = run(guard.authenticate(None, _unsigned))
    assert caller is ANONYMOUS
    with pytest.raises(GatewayError) as refused:
        run(guard.require(caller, invoke("team-a", "f")))
    assert (refused.value.status, refused.value.error_type) == (401, "UnrecognizedClientException")


def test_a_bearer_token_is_reviewed_once_per_cache_time() -> None:
    guard, reviews, clock = make()
    assert run(guard.authenticate("Bearer alice-token", _unsigned)) == ALICE
    assert run(guard.authenticate("Bearer alice-token", _unsigned)) == ALICE
    assert reviews.token_calls == 1
    clock.now += 5.0
    assert run(guard.authenticate("Bearer alice-token", _unsigned)) == ALICE
    assert reviews.token_calls == 2


def test_a_refused_token_gets_401_and_is_not_asked_again_at_once() -> None:
    guard, reviews, _ = make()
    for _ in range(3):
        with pytest.raises(GatewayError) as refused:
            run(guard.authenticate("Bearer stolen", _unsigned))
        assert refused.value.status == 401
        assert "audience 'kappa'" in refused.value.message
    assert reviews.token_calls == 1


@pytest.mark.parametrize("header", ["Basic YWxpY2U6cHc=", "Bearer ", "Bearer " + "x" * 20000])
def test_other_schemes_and_bad_tokens_get_401(header: str) -> None:
    guard, reviews, _ = make()
    with pytest.raises(GatewayError) as refused:
        run(guard.authenticate(header, _unsigned))
    assert (refused.value.status, refused.value.error_type) == (401, "UnrecognizedClientException")
    assert reviews.token_calls == 0


def test_rbac_answers_are_cached_and_a_revocation_shows_after_the_cache_time() -> None:
    guard, reviews, clock = make()
    assert run(guard.allowed(ALICE, invoke("team-a", "f")))
    reviews.grants.clear()  # the RoleBinding is deleted
    assert run(guard.allowed(ALICE, invoke("team-a", "f")))  # cached
    assert reviews.access_calls == 1
    clock.now += 5.0
    assert not run(guard.allowed(ALICE, invoke("team-a", "f")))
    assert reviews.access_calls == 2


def test_a_refusal_names_the_subject_verb_resource_namespace_and_the_role() -> None:
    guard, _, _ = make()
    with pytest.raises(GatewayError) as refused:
        run(guard.require(ALICE, invoke("team-b", "f")))
    assert (refused.value.status, refused.value.error_type) == (403, "AccessDeniedException")
    assert refused.value.message == (
        'User alice is not allowed to invoke functions "f".kappa.dev in namespace "team-b": '
        "a RoleBinding to the ClusterRole kappa-invoker in that namespace grants it."
    )
    with pytest.raises(GatewayError) as refused:
        run(guard.require(ALICE, dead_letters(Verb.REDRIVE, "team-b")))
    assert 'redrive functions/deadletters.kappa.dev in namespace "team-b"' in refused.value.message
    assert "kappa-dlq-admin" in refused.value.message


def test_an_access_key_signature_authenticates_as_its_subject() -> None:
    guard, _, clock = make()
    now = datetime.fromtimestamp(clock.wall_ms() / 1000, UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    headers = [("Host", "gw"), ("X-Amz-Date", amz_date)]
    body = hashlib.sha256(b"{}").hexdigest()
    unsigned = SignedRequest("POST", "/2015-03-31/functions/f/invocations", "", headers, body)
    draft = (f"AWS4-HMAC-SHA256 Credential=KAPPAKEY000000000001/{amz_date[:8]}/us-east-1/"
             f"lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}")  # fmt: skip
    parsed = parse_authorization(draft)
    good = signature(canonical_request(unsigned, parsed), amz_date, parsed, "0123456789abcdef0123")
    header = draft.replace("0" * 64, good)

    async def signed() -> SignedRequest:
        return unsigned

    assert run(guard.authenticate(header, signed)) == CI
    with pytest.raises(GatewayError) as refused:
        run(guard.authenticate(header.replace("KAPPAKEY000000000001", "KAPPAKEY000000000009"),
                               signed))  # fmt: skip
    assert (refused.value.status, refused.value.error_type) == (401, "UnrecognizedClientException")


def test_with_authentication_off_everyone_may_do_everything() -> None:
    guard = Guard(None, region="us-east-1")
    assert not guard.enabled
    caller = run(guard.authenticate("Bearer anything", _unsigned))
    assert run(guard.allowed(caller, invoke("any", "f")))
    run(guard.require(caller, dead_letters(Verb.DELETE, "any")))


def test_a_dummy_key_such_as_x_gets_401_unrecognized() -> None:
    """What a caller with the old advice (any credentials) reads: the key is not known."""
    guard, _, _ = make()
    header = ("AWS4-HMAC-SHA256 Credential=x/20261203/us-east-1/lambda/aws4_request, "
              f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}")  # fmt: skip
    with pytest.raises(GatewayError) as refused:
        run(guard.authenticate(header, _unsigned))
    assert (refused.value.status, refused.value.error_type) == (401, "UnrecognizedClientException")
    assert "no access key 'x'" in refused.value.message


@pytest.mark.parametrize(
    ("access", "role"),
    [
        (Access(Verb.CREATE, "n", plural="functionversions"), "kappa-releaser"),
        (Access(Verb.UPDATE, "n", "f.live", plural="functionaliases"), "kappa-releaser"),
        (Access(Verb.UPDATE, "n", "f"), "kappa-releaser"),
        (Access(Verb.LIST, "n", plural="functionaliases"), "kappa-viewer"),
        (Access(Verb.CREATE, "n", "f"), "kappa-author"),
        (Access(Verb.DELETE, "n", "f"), "kappa-author"),
        (Access(Verb.DELETE, "n", "f.2", plural="functionversions"), "kappa-author"),
        (dead_letters(Verb.DELETE, "n"), "kappa-dlq-admin"),
        (durable_executions(Verb.LIST, "n", "f"), "kappa-viewer"),
        (durable_executions(Verb.UPDATE, "n", "f"), "kappa-releaser"),
        (durable_executions(Verb.DELETE, "n", "f"), "kappa-author"),
    ],
)
def test_a_refusal_of_the_lambda_api_names_the_role_that_grants_it(
    access: Access, role: str
) -> None:
    guard, _, _ = make()
    with pytest.raises(GatewayError) as refused:
        run(guard.require(ALICE, access))
    assert f"the ClusterRole {role} in that namespace" in refused.value.message
    assert f"{access.verb.value} {access.plural}" in refused.value.message
