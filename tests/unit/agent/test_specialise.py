"""What a pool pod's /specialise accepts, from whom, and what it makes of it."""

import base64
import hashlib
import json

import pytest

from kappa.agent.specialise import (
    MAX_BODY_BYTES,
    MAX_VARIABLES,
    MAX_ZIP_BYTES,
    SpecialiseError,
    authorised,
    pool_digest,
    specialisation,
)

pytestmark = pytest.mark.unit

TOKEN = "t" * 40
DIGEST = hashlib.sha256(TOKEN.encode()).digest()
POD = {"KAPPA_POOL_TOKEN_SHA256": DIGEST.hex(), "KAPPA_AGENT_PORT": "8080", "PATH": "/usr/bin"}


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def refusal(raw: bytes) -> str:
    with pytest.raises(SpecialiseError) as caught:
        specialisation(POD, raw)
    assert caught.value.status == 400
    return str(caught.value)


def test_a_pool_pod_holds_its_tokens_digest_and_an_older_one_the_token() -> None:
    assert pool_digest(POD) == DIGEST
    assert pool_digest({"KAPPA_POOL_TOKEN": TOKEN}) == DIGEST  # a pod made before digests
    assert pool_digest({"KAPPA_POOL_TOKEN": "short"}) is None
    assert pool_digest({"KAPPA_POOL_TOKEN_SHA256": "ab" * 31}) is None
    assert pool_digest({"KAPPA_POOL_TOKEN_SHA256": "zz" * 32}) is None
    assert pool_digest({}) is None


@pytest.mark.parametrize(
    ("header", "allowed"),
    [(f"Bearer {TOKEN}", True), (None, False), (TOKEN, False), (f"Bearer {TOKEN}x", False),
     ("Bearer ", False), (f"Basic {TOKEN}", False), (f"Bearer {DIGEST.hex()}", False)],
)  # fmt: skip
def test_only_the_pods_token_specialises_it(header: str | None, allowed: bool) -> None:  # noqa: FBT001
    # The digest the pod shows is not the token: reading the pod does not let one claim it.
    assert authorised(header, DIGEST) is allowed


def test_the_functions_variables_go_over_the_pods_and_the_token_goes() -> None:
    code = b"PK\x05\x06" + b"\0" * 18
    found = specialisation(POD, body(
        env={"KAPPA_FUNCTION_ARN": "arn:x", "PATH": "/opt/bin"},
        zip=base64.b64encode(code).decode(), sha256=hashlib.sha256(code).hexdigest(),
    ))  # fmt: skip
    assert found.env == {
        "KAPPA_AGENT_PORT": "8080",
        "PATH": "/opt/bin",
        "KAPPA_FUNCTION_ARN": "arn:x",
    }
    assert (found.zip, found.sha256) == (code, hashlib.sha256(code).digest())
    assert specialisation(POD, body(env={})).zip is None


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"x" * (MAX_BODY_BYTES + 1), "over"),
        (b"{", "not JSON"),
        (b"[]", "must be"),
        (body(env=[]), "must be"),
        (body(env={f"V{i}": "" for i in range(MAX_VARIABLES + 1)}), "more than"),
        (body(env={"A-B": "x"}), "NAME=string"),
        (body(env={"A": 1}), "NAME=string"),
        (body(env={"A": "x" * (128 * 1024 + 1)}), "over"),
        (body(env={"KAPPA_POOL_TOKEN": "x"}), "the pool's"),
        (body(env={"KAPPA_POOL_TOKEN_SHA256": "00" * 32}), "the pool's"),
        (body(env={}, zip="AAAA"), "go together"),
        (body(env={}, zip="!!", sha256="00" * 32), "base64"),
        (body(env={}, zip="AAAA", sha256="zz"), "base64"),
        (body(env={}, zip=base64.b64encode(b"a" * (MAX_ZIP_BYTES + 1)).decode(),
              sha256="00" * 32), "over"),
        (body(env={}, zip="AAAA", sha256="00" * 32), "sha256 is not"),
    ],
)  # fmt: skip
def test_bad_bodies_are_refused_saying_what_is_wrong(raw: bytes, says: str) -> None:
    assert says in refusal(raw)
