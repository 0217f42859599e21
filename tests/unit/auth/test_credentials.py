"""How Kappa's own clients present themselves: a token (given, or read from a rotating
file), else a SigV4 signature with the environment's access key, else nothing."""

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from kappa.auth.credentials import REREAD_SECONDS, Credentials, TokenFile
from kappa.auth.sigv4 import SignedRequest, parse_authorization, verify

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
URL = "http://gw/kappa/v1/namespaces/a/dead-letters?limit=5"
KEYS = {"AWS_ACCESS_KEY_ID": "KAPPAKEY000000000001", "AWS_SECRET_ACCESS_KEY": "s" * 20}


def test_an_explicit_token_wins_over_everything() -> None:
    credentials = Credentials.from_env({"KAPPA_TOKEN": "env-token", **KEYS}, token="given")  # noqa: S106
    assert credentials.headers("GET", URL, [], b"", NOW) == [("Authorization", "Bearer given")]


def test_a_token_file_is_read_again_once_a_minute_has_passed(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    now = [100.0]
    credentials = Credentials(token_file=TokenFile(path, clock=lambda: now[0]))
    assert credentials.headers("GET", URL, [], b"", NOW)[-1] == ("Authorization", "Bearer first")
    path.write_text("rotated")  # the kubelet replaced it
    now[0] += REREAD_SECONDS - 1
    assert credentials.headers("GET", URL, [], b"", NOW)[-1] == ("Authorization", "Bearer first")
    now[0] += 1
    assert credentials.headers("GET", URL, [], b"", NOW)[-1] == ("Authorization", "Bearer rotated")


def test_the_environment_names_the_token_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("projected")
    credentials = Credentials.from_env({"KAPPA_TOKEN_FILE": str(path), **KEYS})
    assert credentials.headers("GET", URL, [], b"", NOW) == [("Authorization", "Bearer projected")]


def test_access_keys_sign_what_the_gateway_verifies() -> None:
    credentials = Credentials.from_env({**KEYS, "AWS_REGION": "us-east-1"})
    body = b'{"all": true}'
    headers = credentials.headers("POST", URL, [("Content-Type", "application/json")], body, NOW)
    parts = urlsplit(URL)
    request = SignedRequest("POST", parts.path, parts.query, headers,
                            hashlib.sha256(body).hexdigest())  # fmt: skip
    authorization = parse_authorization(dict(headers)["Authorization"])
    assert authorization.access_key_id == "KAPPAKEY000000000001"
    verify(request, authorization, "s" * 20, region="us-east-1", now=NOW)


def test_without_credentials_nothing_is_added() -> None:
    headers = [("Content-Type", "application/json")]
    assert Credentials.from_env({}).headers("GET", URL, headers, b"", NOW) == headers
