"""AWS Signature Version 4, verified: what the gateway checks of a boto3 or AWS CLI call.

The canonical request is built from what the caller sent (method, the raw path and
query of the request line, the headers it named in ``SignedHeaders``, the SHA-256 of
the body), signed with the secret of the access key it names, and compared in
constant time. Paths are encoded twice, as for every AWS service but S3; a body
hash the caller declares (``X-Amz-Content-SHA256``) must match the body, and
``UNSIGNED-PAYLOAD`` is refused. A request dated more than :data:`MAX_SKEW` from
``now`` is refused, so a captured request cannot be replayed later.

``sign`` makes the same signature from the other side (``kappa dlq`` with access keys,
the SQS source): one canonical form for both, tested against botocore's signer.

Pure: the time and the secret lookup's result are arguments. Presigned URLs (the
signature in the query string) are not accepted.
"""

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote, unquote, urlsplit

from kappa.invocation.errors import GatewayError, invalid_signature, unrecognized_client

ALGORITHM: Final = "AWS4-HMAC-SHA256"
MAX_SKEW: Final = timedelta(minutes=5)
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
_MAX_AUTHORIZATION: Final = 4096
_MAX_SIGNED_HEADERS: Final = 64
_AUTHORIZATION: Final = re.compile(
    r"AWS4-HMAC-SHA256 +Credential=(?P<key>[A-Za-z0-9]{1,128})/(?P<day>[0-9]{8})/"
    r"(?P<region>[a-z0-9-]{1,32})/(?P<service>[a-z0-9-]{1,32})/aws4_request *, *"
    r"SignedHeaders=(?P<headers>[a-z0-9;_.-]{1,2048}) *, *Signature=(?P<signature>[0-9a-f]{64})"
)
_AMZ_DATE: Final = "%Y%m%dT%H%M%SZ"
_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


@dataclass(frozen=True, slots=True)
class Authorization:
    """The parts of an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""

    access_key_id: str
    day: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        """``DAY/REGION/SERVICE/aws4_request``."""
        return f"{self.day}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What of a request a signature covers, as it came off the wire."""

    method: str
    raw_path: str  # as in the request line, percent-encoded, without the query
    raw_query: str
    headers: Sequence[tuple[str, str]]  # every header, in order, names as sent
    body_sha256: str  # hex SHA-256 of the body as received


def is_sigv4(authorization: str) -> bool:
    """Whether an ``Authorization`` value is a SigV4 one (rather than a bearer token)."""
    return authorization.startswith(ALGORITHM)


def parse_authorization(value: str) -> Authorization:
    """The parts of a SigV4 ``Authorization`` header; 403 when it is malformed."""
    match = _AUTHORIZATION.fullmatch(value.strip()) if len(value) <= _MAX_AUTHORIZATION else None
    if match is None:
        raise invalid_signature(
            "The Authorization header is not a valid AWS4-HMAC-SHA256 one: it needs "
            "Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=... and Signature=..."
        )
    names = tuple(match.group("headers").split(";"))
    if len(names) > _MAX_SIGNED_HEADERS or "host" not in names or list(names) != sorted(names):
        raise invalid_signature(
            "SignedHeaders must be sorted, name at most 64 headers and include host."
        )
    return Authorization(
        access_key_id=match.group("key"),
        day=match.group("day"),
        region=match.group("region"),
        service=match.group("service"),
        signed_headers=names,
        signature=match.group("signature"),
    )


def verify(
    request: SignedRequest,
    authorization: Authorization,
    secret_access_key: str,
    *,
    region: str,
    now: datetime,
) -> None:
    """Return if ``request`` is signed by ``secret_access_key`` now; else raise the 403."""
    if authorization.region != region:
        raise invalid_signature(
            f"Credential should be scoped to a valid region: this endpoint is {region!r}, "
            f"the request is signed for {authorization.region!r}."
        )
    amz_date = _header(request.headers, "x-amz-date") or ""
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise invalid_signature(
            "The request must carry X-Amz-Date as YYYYMMDDTHHMMSSZ (signed)."
        ) from None
    if "x-amz-date" not in authorization.signed_headers or amz_date[:8] != authorization.day:
        raise invalid_signature("X-Amz-Date must be signed and match the credential's date.")
    if abs(now - signed_at) > MAX_SKEW:
        raise invalid_signature(
            f"Signature expired: {amz_date} is outside {now.strftime(_AMZ_DATE)} "
            f"± {int(MAX_SKEW.total_seconds() // 60)} min. (check the caller's clock)"
        )
    declared = _header(request.headers, "x-amz-content-sha256")
    if declared is not None and declared != request.body_sha256:
        if declared == UNSIGNED_PAYLOAD:
            raise invalid_signature("UNSIGNED-PAYLOAD is not accepted: sign the body.")
        raise invalid_signature("X-Amz-Content-SHA256 does not match the body received.")
    expected = signature(canonical_request(request, authorization), amz_date,
                         authorization, secret_access_key)  # fmt: skip
    if not hmac.compare_digest(expected, authorization.signature):
        raise invalid_signature(_MISMATCH)


def canonical_request(request: SignedRequest, authorization: Authorization) -> str:
    """The SigV4 canonical request of ``request`` over the headers the caller signed."""
    headers = []
    for name in authorization.signed_headers:
        values = [" ".join(v.split()) for n, v in request.headers if n.lower() == name]
        if not values:
            raise invalid_signature(f"The signed header {name!r} is not in the request.")
        headers.append(f"{name}:{','.join(values)}\n")
    return "\n".join(
        [
            request.method.upper(),
            quote(_remove_dot_segments(request.raw_path), safe="/~"),
            _canonical_query(request.raw_query),
            "".join(headers),
            ";".join(authorization.signed_headers),
            request.body_sha256,
        ]
    )


def signature(canonical: str, amz_date: str, authorization: Authorization, secret: str) -> str:
    """The hex signature of ``canonical`` under ``secret`` for the credential's scope."""
    to_sign = "\n".join(
        [ALGORITHM, amz_date, authorization.scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret).encode(), authorization.day)
    for part in (authorization.region, authorization.service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sign(  # noqa: PLR0913 - a request is these parts
    *,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    now: datetime,
    session_token: str | None = None,
) -> list[tuple[str, str]]:
    """``headers`` plus Host, X-Amz-Date (X-Amz-Security-Token) and Authorization."""
    parts = urlsplit(url)
    amz_date = now.astimezone(UTC).strftime(_AMZ_DATE)
    out = [(k, v) for k, v in headers if k.lower() not in ("authorization", "x-amz-date")]
    out += [("Host", parts.netloc), ("X-Amz-Date", amz_date)]
    if session_token is not None:
        out.append(("X-Amz-Security-Token", session_token))
    names = tuple(sorted({k.lower() for k, _ in out}))
    authorization = Authorization(access_key_id, amz_date[:8], region, service, names, "")
    request = SignedRequest(method, parts.path or "/", parts.query, out,
                            hashlib.sha256(body).hexdigest())  # fmt: skip
    value = signature(canonical_request(request, authorization), amz_date, authorization,
                      secret_access_key)  # fmt: skip
    out.append(
        (
            "Authorization",
            (
                f"{ALGORITHM} Credential={access_key_id}/{authorization.scope}, "
                f"SignedHeaders={';'.join(names)}, Signature={value}"
            ),
        )
    )
    return out


def unknown_key(access_key_id: str) -> GatewayError:
    """401 for an access key id that no Secret holds."""
    return unrecognized_client(
        f"The security token included in the request is invalid: no access key "
        f"{access_key_id!r} is known to Kappa."
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.strip()
    return None


def _canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = []
    for pair in raw_query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal as botocore does it (empty segments collapse)."""
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last
