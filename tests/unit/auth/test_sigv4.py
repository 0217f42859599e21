"""SigV4 verification against the real signer: requests signed by boto3's own Lambda client
(captured before they are sent) verify; a wrong secret, an altered body, a stale date, a
foreign region, an unsigned payload or a malformed header each get Lambda's 403."""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest

from kappa.auth.sigv4 import SignedRequest, parse_authorization, verify
from kappa.invocation.errors import GatewayError

KEY_ID = "KAPPATESTKEY00000001"
SECRET = "s3cr3t-s3cr3t-s3cr3t-s3cr3t"  # noqa: S105 - a test key


class _SentError(Exception):
    """Raised by the capture hook: the request was signed and is not sent."""

    def __init__(self, request: AWSPreparedRequest) -> None:
        super().__init__()
        self.request = request


def signed_by_boto3(call: str, secret: str = SECRET, region: str = "us-east-1",
                    **params: Any) -> tuple[SignedRequest, datetime]:  # fmt: skip
    """What boto3 sends for ``call``, as the gateway reads it off the wire, and when."""
    client = boto3.client(
        "lambda", endpoint_url="http://10.96.0.20:80", region_name=region,
        aws_access_key_id=KEY_ID, aws_secret_access_key=secret,
    )  # fmt: skip

    def capture(request: AWSPreparedRequest, **_: Any) -> None:
        raise _SentError(request)

    client.meta.events.register("before-send.lambda", capture)
    with pytest.raises(_SentError) as sent:
        getattr(client, call)(**params)
    request = sent.value.request
    url = urlsplit(request.url)
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
    headers.append(("Host", url.netloc.removesuffix(":80")))
    at = datetime.strptime(dict(headers)["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return SignedRequest(request.method, url.path, url.query, headers,
                         hashlib.sha256(body).hexdigest()), at  # fmt: skip


def check(request: SignedRequest, now: datetime, secret: str = SECRET) -> None:
    authorization = parse_authorization(dict(request.headers)["Authorization"])
    verify(request, authorization, secret, region="us-east-1", now=now)


@pytest.mark.parametrize(
    ("call", "params"),
    [
        pytest.param("invoke", {"FunctionName": "team-a/hello", "Payload": b'{"x": 1}'},
                     id="invoke namespace/name (encoded %2F)"),
        pytest.param("invoke", {"FunctionName": "arn:aws:lambda:us-east-1:team-a:function:f",
                                "Payload": b"{}", "InvocationType": "Event"}, id="invoke by ARN"),
        pytest.param("invoke", {"FunctionName": "hello", "Qualifier": "$LATEST",
                                "Payload": b"[]"}, id="a query string"),
        pytest.param("list_functions", {"MaxItems": 5, "Marker": "a/b"}, id="GET with query"),
        pytest.param("get_function", {"FunctionName": "team-a/hello"}, id="GetFunction"),
    ],
)  # fmt: skip
def test_what_boto3_signs_verifies(call: str, params: dict[str, Any]) -> None:
    request, at = signed_by_boto3(call, **params)
    check(request, at + timedelta(seconds=30))


def test_a_wrong_secret_is_refused() -> None:
    request, at = signed_by_boto3("invoke", secret="another-secret-entirely",  # noqa: S106
                                  FunctionName="f", Payload=b"{}")  # fmt: skip
    with pytest.raises(GatewayError) as refused:
        check(request, at)
    assert refused.value.status == 403
    assert refused.value.error_type == "InvalidSignatureException"
    assert "does not match" in refused.value.message


def test_an_altered_body_is_refused() -> None:
    request, at = signed_by_boto3("invoke", FunctionName="f", Payload=b'{"amount": 1}')
    tampered = SignedRequest(request.method, request.raw_path, request.raw_query,
                             request.headers, hashlib.sha256(b'{"amount": 1000}').hexdigest())  # fmt: skip
    with pytest.raises(GatewayError) as refused:
        check(tampered, at)
    assert refused.value.error_type == "InvalidSignatureException"


def test_an_altered_path_is_refused() -> None:
    request, at = signed_by_boto3("invoke", FunctionName="team-a/f", Payload=b"{}")
    moved = SignedRequest(request.method, request.raw_path.replace("team-a", "team-b"),
                          request.raw_query, request.headers, request.body_sha256)  # fmt: skip
    with pytest.raises(GatewayError):
        check(moved, at)


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_a_request_outside_the_skew_window_is_refused(skew: timedelta) -> None:
    request, at = signed_by_boto3("invoke", FunctionName="f", Payload=b"{}")
    check(request, at + timedelta(minutes=4, seconds=59))  # inside: fine
    with pytest.raises(GatewayError) as refused:
        check(request, at + skew)
    assert refused.value.error_type == "InvalidSignatureException"
    assert "Signature expired" in refused.value.message


def test_a_signature_for_another_region_is_refused() -> None:
    request, at = signed_by_boto3("invoke", region="eu-west-1", FunctionName="f", Payload=b"{}")
    with pytest.raises(GatewayError) as refused:
        check(request, at)
    assert "region" in refused.value.message


def test_an_unsigned_payload_is_refused() -> None:
    request, at = signed_by_boto3("invoke", FunctionName="f", Payload=b"{}")
    headers = [*request.headers, ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")]
    unsigned = SignedRequest(request.method, request.raw_path, request.raw_query, headers,
                             request.body_sha256)  # fmt: skip
    with pytest.raises(GatewayError) as refused:
        check(unsigned, at)
    assert "UNSIGNED-PAYLOAD" in refused.value.message


@pytest.mark.parametrize(
    "header",
    [
        "AWS4-HMAC-SHA256 Credential=not-a-key/20260101/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=KAPPATESTKEY00000001/20260101/us-east-1/lambda/aws4_request,"
        " SignedHeaders=x-amz-date, Signature=" + "0" * 64,  # host not signed
        "AWS4-HMAC-SHA256 Credential=KAPPATESTKEY00000001/20260101/us-east-1/lambda/aws4_request,"
        " SignedHeaders=x-amz-date;host, Signature=" + "0" * 64,  # not sorted
        "AWS4-HMAC-SHA256 " + "A" * 5000,
        "AWS4-HMAC-SHA256 Credential=KAPPATESTKEY00000001",
    ],
)
def test_a_malformed_authorization_header_is_refused(header: str) -> None:
    with pytest.raises(GatewayError) as refused:
        parse_authorization(header)
    assert refused.value.status == 403
    assert refused.value.error_type == "InvalidSignatureException"


def test_a_signed_header_missing_from_the_request_is_refused() -> None:
    request, at = signed_by_boto3("invoke", FunctionName="f", Payload=b"{}")
    headers = [(k, v) for k, v in request.headers if k.lower() != "host"]
    dropped = SignedRequest(request.method, request.raw_path, request.raw_query, headers,
                            request.body_sha256)  # fmt: skip
    with pytest.raises(GatewayError) as refused:
        check(dropped, at)
    assert "'host' is not in the request" in refused.value.message


def test_what_kappa_signs_is_what_botocore_signs_and_verifies() -> None:
    """kappa's own signer (kappa dlq, the SQS source) against botocore's, byte for byte."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.credentials import Credentials  # noqa: PLC0415

    from kappa.auth.sigv4 import sign  # noqa: PLC0415

    at = datetime(2026, 12, 3, 7, 0, 0, tzinfo=UTC)
    url = "http://10.96.0.20/kappa/v1/namespaces/team-a/dead-letters?limit=5&function=f"
    body = b'{"all": true}'
    ours = dict(sign(method="POST", url=url, headers=[("Content-Type", "application/json")],
                     body=body, access_key_id=KEY_ID, secret_access_key=SECRET,
                     region="us-east-1", service="lambda", now=at))  # fmt: skip
    theirs = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    theirs.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
    signer = SigV4Auth(Credentials(KEY_ID, SECRET), "lambda", "us-east-1")
    theirs.headers["X-Amz-Date"] = theirs.context["timestamp"]
    canonical = signer.canonical_request(theirs)
    expected = signer.signature(signer.string_to_sign(theirs, canonical), theirs)
    assert ours["Authorization"].endswith(f"Signature={expected}")
    parsed = urlsplit(url)
    request = SignedRequest("POST", parsed.path, parsed.query, list(ours.items()),
                            hashlib.sha256(body).hexdigest())  # fmt: skip
    check(request, at)
