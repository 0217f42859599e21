"""The agent's credential endpoint, answered without a socket: every refusal, and the
document botocore reads (the real fetch, by real botocore: tests/integration/agent/
test_pod_credentials.py)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kappa.agent.credentials import PATH, PodCredentials, brings_own
from kappa.agent.http11 import Request
from kappa.base import pod_credential

TOKEN = "eyJhbGciOiJSUzI1NiJ9.payload.signature"  # noqa: S105 - a test token
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class Clock:
    def monotonic(self) -> float:
        return 0.0

    def wall_ms(self) -> int:
        return int(NOW.timestamp() * 1000)


def endpoint(tmp_path: Path, content: bytes | None = TOKEN.encode() + b"\n") -> PodCredentials:
    path = tmp_path / "token"
    if content is not None:
        path.write_bytes(content)
    return PodCredentials(path, Clock(), authorization="secret-value")


def get(headers: dict[str, str], method: str = "GET") -> Request:
    return Request(method, PATH, "", headers)


def test_the_document_is_the_credential_of_the_files_token(tmp_path: Path) -> None:
    answer = endpoint(tmp_path).answer(get({"authorization": "secret-value"}))
    assert answer.status == 200
    assert json.loads(answer.body) == pod_credential.credentials(TOKEN, NOW)


@pytest.mark.parametrize(
    ("headers", "method", "content", "status"),
    [
        pytest.param({}, "GET", TOKEN.encode(), 401, id="no-authorization"),
        pytest.param({"authorization": "secret-valuE"}, "GET", TOKEN.encode(), 403, id="wrong"),
        pytest.param({"authorization": "s" * 300}, "GET", TOKEN.encode(), 403, id="too-long"),
        pytest.param({"authorization": "secret-value"}, "POST", TOKEN.encode(), 405, id="post"),
        pytest.param({"authorization": "secret-value"}, "GET", None, 503, id="no-token-file"),
        pytest.param({"authorization": "secret-value"}, "GET", b"", 503, id="empty-token-file"),
        pytest.param({"authorization": "secret-value"}, "GET", b"x" * 9000, 503, id="too-long-token"),
        pytest.param({"authorization": "secret-value"}, "GET", b"\xff\xfe", 503, id="not-ascii"),
    ],
)  # fmt: skip
def test_refusals(
    tmp_path: Path, headers: dict[str, str], method: str, content: bytes | None, status: int
) -> None:
    assert endpoint(tmp_path, content).answer(get(headers, method)).status == status


def test_the_runtimes_variables_name_the_slots_loopback_port(tmp_path: Path) -> None:
    assert endpoint(tmp_path).env(9001) == {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9001/kappa/credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "secret-value",
    }
    made = PodCredentials(tmp_path / "token", Clock())
    assert len(made.authorization) >= 32
    assert made.authorization != PodCredentials(tmp_path / "token", Clock()).authorization


@pytest.mark.parametrize(
    ("env", "own"),
    [
        pytest.param({}, False, id="nothing"),
        pytest.param({"AWS_ACCESS_KEY_ID": "AK"}, False, id="keys-win-botocores-chain-anyway"),
        pytest.param({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/x"}, True, id="relative-uri"),
        pytest.param({"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/f"}, True, id="token-file"),
    ],
)
def test_a_functions_own_container_credentials_win(env: dict[str, str], *, own: bool) -> None:
    assert brings_own(env) is own
