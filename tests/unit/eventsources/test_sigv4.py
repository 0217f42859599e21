"""The SQS source signs with Kappa's one SigV4 signer (kappa.auth.sigv4), byte for byte as
botocore does for SQS's JSON protocol."""

from dataclasses import dataclass
from datetime import UTC, datetime
from unittest import mock

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given
from hypothesis import strategies as st

from kappa.auth.sigv4 import sign as sign_headers


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def sign(*, method: str, url: str, headers: dict[str, str], body: bytes,
         credentials: Credentials, region: str, service: str, now: datetime) -> dict[str, str]:  # fmt: skip
    return dict(sign_headers(
        method=method, url=url, headers=list(headers.items()), body=body,
        access_key_id=credentials.access_key_id, secret_access_key=credentials.secret_access_key,
        session_token=credentials.session_token, region=region, service=service, now=now,
    ))  # fmt: skip


NOW = datetime(2026, 11, 27, 8, 30, 5, tzinfo=UTC)


def _botocore(
    url: str, body: bytes, headers: dict[str, str], creds: Credentials, region: str
) -> str:
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    signer = SigV4Auth(
        BotoCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
        "sqs",
        region,
    )
    with mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=NOW.replace(tzinfo=None)
    ):
        signer.add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("url", "token"),
    [
        pytest.param("http://127.0.0.1:9324/", None, id="elasticmq"),
        pytest.param("https://sqs.eu-west-1.amazonaws.com/", None, id="aws"),
        pytest.param("https://sqs.eu-west-1.amazonaws.com/", "tok/en+=", id="session-token"),
    ],
)
def test_signature_is_botocores(url: str, token: str | None) -> None:
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = b'{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q", "MaxNumberOfMessages": 10}'
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AmazonSQS.ReceiveMessage",
    }
    ours = sign(
        method="POST", url=url, headers=headers, body=body, credentials=creds,
        region="eu-west-1", service="sqs", now=NOW,
    )  # fmt: skip
    assert ours["Authorization"] == _botocore(url, body, headers, creds, "eu-west-1")
    assert ours["X-Amz-Date"] == "20261127T083005Z"
    assert ("X-Amz-Security-Token" in ours) is (token is not None)


@given(st.binary(max_size=200))
def test_any_body_signs_like_botocore(body: bytes) -> None:
    creds = Credentials("AK", "secret")
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AmazonSQS.SendMessage",
    }
    ours = sign(
        method="POST", url="http://10.0.0.5:9324/", headers=headers, body=body,
        credentials=creds, region="us-east-1", service="sqs", now=NOW,
    )  # fmt: skip
    assert ours["Authorization"] == _botocore(
        "http://10.0.0.5:9324/", body, headers, creds, "us-east-1"
    )
