"""Which AWS credentials the SQS source signs with, and when they are fetched again."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.credentials import Credentials as BotoCredentials
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import CredentialRetrievalError

from kappa.auth.credentials import Credentials
from kappa.eventsources.source import SourceCredentialsError, SourceUnreachableError
from kappa.eventsources.sqs_credentials import (
    PLACEHOLDER_KEY,
    ChainCredentials,
    default_session,
    secret_keys,
    source_credentials,
)


class _Session:
    """A botocore session stand-in: hands out ``credentials``, counting the look-ups."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials
        self.lookups = 0
        self.threads: list[str] = []

    def get_credentials(self) -> Any:
        self.lookups += 1
        self.threads.append(threading.current_thread().name)
        if isinstance(self.credentials, Exception):
            raise self.credentials
        return self.credentials


def _no_session() -> Any:
    msg = "the chain must not be consulted when the Secret gives keys"
    raise AssertionError(msg)


def test_a_secrets_keys_are_used_without_asking_the_chain() -> None:
    provider = source_credentials({"accessKeyId": "AKIA1", "secretAccessKey": "s1"}, _no_session)
    credentials = asyncio.run(provider.current())
    assert (credentials.access_key_id, credentials.secret_access_key) == ("AKIA1", "s1")
    assert credentials.session_token is None


def test_without_a_secret_the_chain_is_asked() -> None:
    session = _Session(BotoCredentials("AKIA2", "s2", "token-2"))
    provider = source_credentials({}, lambda: session)
    credentials = asyncio.run(provider.current())
    assert (credentials.access_key_id, credentials.secret_access_key) == ("AKIA2", "s2")
    assert credentials.session_token == "token-2"  # noqa: S105 - a test value


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"accessKeyId": "AKIA1"}, id="id-without-secret"),
        pytest.param({"secretAccessKey": "s1"}, id="secret-without-id"),
        pytest.param({"accessKeyId": "AKIA1", "secretAccessKey": ""}, id="empty-secret"),
    ],
)
def test_half_a_key_pair_is_refused_not_completed_from_elsewhere(values: dict[str, str]) -> None:
    with pytest.raises(SourceCredentialsError, match="name both, or neither"):
        secret_keys(values)


def test_empty_values_name_no_secret() -> None:
    assert secret_keys({"accessKeyId": "", "secretAccessKey": ""}) is None


def test_no_credentials_anywhere_signs_with_placeholder_keys_found_once() -> None:
    session = _Session(None)
    provider = ChainCredentials(lambda: session)

    async def twice() -> list[Credentials]:
        return [await provider.current(), await provider.current()]

    first, second = asyncio.run(twice())
    assert first == second
    assert (first.access_key_id, first.secret_access_key) == (PLACEHOLDER_KEY, PLACEHOLDER_KEY)
    assert first.session_token is None
    assert session.lookups == 1


def test_the_chain_is_resolved_off_the_event_loop() -> None:
    session = _Session(BotoCredentials("AKIA2", "s2"))
    provider = ChainCredentials(lambda: session)

    async def resolve() -> str:
        await provider.current()
        return threading.current_thread().name

    loop_thread = asyncio.run(resolve())
    assert session.threads
    assert loop_thread not in session.threads


def test_credentials_near_their_expiry_are_refreshed_and_the_new_set_used() -> None:
    now = datetime.now(UTC)
    sets = iter(
        [
            {  # inside botocore's mandatory refresh window (10 minutes): refreshed at once
                "access_key": "ASIA-FIRST",
                "secret_key": "first",
                "token": "token-first",
                "expiry_time": (now + timedelta(minutes=5)).isoformat(),
            },
            {
                "access_key": "ASIA-SECOND",
                "secret_key": "second",
                "token": "token-second",
                "expiry_time": (now + timedelta(hours=1)).isoformat(),
            },
        ]
    )
    refreshes: list[str] = []

    def refresh() -> dict[str, str]:
        refreshes.append(threading.current_thread().name)
        return next(sets)

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="assume-role-with-web-identity"
    )
    provider = ChainCredentials(lambda: _Session(credentials))

    async def three() -> list[Credentials]:
        return [await provider.current() for _ in range(3)]

    used = asyncio.run(three())
    assert [c.session_token for c in used] == ["token-second"] * 3
    assert used[0].access_key_id == "ASIA-SECOND"
    assert len(refreshes) == 2  # the first set, then one refresh: the second set lasts


def test_a_refused_chain_is_a_credentials_error_and_is_asked_again() -> None:
    session = _Session(CredentialRetrievalError(provider="sts", error_msg="AccessDenied"))
    provider = ChainCredentials(lambda: session)
    for _ in range(2):
        with pytest.raises(SourceCredentialsError, match="AccessDenied"):
            asyncio.run(provider.current())
    assert session.lookups == 2
    session.credentials = BotoCredentials("AKIA3", "s3")
    assert asyncio.run(provider.current()).access_key_id == "AKIA3"


def test_an_unreadable_token_file_is_a_credentials_error() -> None:
    session = _Session(FileNotFoundError(2, "No such file", "/var/run/token"))
    with pytest.raises(SourceCredentialsError, match="No such file"):
        asyncio.run(ChainCredentials(lambda: session).current())


def test_an_unreachable_provider_is_an_unreachable_error() -> None:
    session = _Session(ConnectionRefusedError("connection refused"))
    with pytest.raises(SourceUnreachableError, match="connection refused"):
        asyncio.run(ChainCredentials(lambda: session).current())


def test_the_default_session_uses_the_sources_region() -> None:
    assert default_session("eu-west-3").get_config_variable("region") == "eu-west-3"
