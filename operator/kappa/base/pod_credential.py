"""A durable Function's pod credential: the AWS access key its agent hands botocore. Pure.

A durable Function's handler calls the Lambda API through boto3, which signs with
whatever credentials botocore's chain finds. Its pod holds a projected ServiceAccount
token (audience ``kappa``); the agent serves botocore's container credentials from it
(``kappa.agent.credentials``) and the gateway checks them (``kappa.auth.pod_credentials``).
Both sides derive the same key from the token here, the one home of the derivation:

- ``AccessKeyId``: ``KAPPAPOD`` and the first 12 hex digits (upper case) of the token's
  SHA-256: the gateway knows such a key by its prefix, and a key that does not name its
  token is refused;
- ``SecretAccessKey``: HMAC-SHA256 of the token under the fixed key ``kappa-pod``, hex.
  It adds no secret of its own (whoever holds the token can derive it): the token,
  sent as ``X-Amz-Security-Token`` and checked by a TokenReview, is the credential; the
  signature binds each request to it for SigV4's five minutes;
- ``Token``: the token itself; ``Expiration``: :data:`LIFETIME` from the read. botocore
  fetches again 15 minutes before that (its advisory refresh), so 5 minutes after each
  read, and the kubelet keeps the file's token valid for 12 minutes at least (it rotates
  a one-hour token at 80 % of its life): a credential is never used past its token.
"""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Final

ACCESS_KEY_PREFIX: Final = "KAPPAPOD"
SECRET_CONTEXT: Final = b"kappa-pod"
# A projected ServiceAccount token is a JWT of one to two kilobytes; the HTTP header that
# carries it (aiohttp's default) takes at most 8190 bytes.
MAX_TOKEN_CHARS: Final = 8000
LIFETIME: Final = timedelta(minutes=20)
_KEY_DIGITS: Final = 12
_ISO: Final = "%Y-%m-%dT%H:%M:%SZ"


def is_pod_key(access_key_id: str) -> bool:
    """Whether an access key id is a pod credential's (rather than an access-key Secret's)."""
    return access_key_id.startswith(ACCESS_KEY_PREFIX)


def access_key_id(token: str) -> str:
    """The access key id of the credential made from ``token``."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:_KEY_DIGITS].upper()
    return f"{ACCESS_KEY_PREFIX}{digest}"


def secret_access_key(token: str) -> str:
    """The secret of the credential made from ``token``: hex HMAC-SHA256 under ``kappa-pod``."""
    return hmac.new(SECRET_CONTEXT, token.encode(), hashlib.sha256).hexdigest()


def usable_token(token: str) -> bool:
    """Whether ``token`` may be one: 1 to MAX_TOKEN_CHARS printable ASCII characters."""
    return 0 < len(token) <= MAX_TOKEN_CHARS and token.isascii() and token.isprintable()


def credentials(token: str, now: datetime) -> dict[str, str]:
    """The document botocore's container provider reads, for ``token`` read at ``now``."""
    return {
        "AccessKeyId": access_key_id(token),
        "SecretAccessKey": secret_access_key(token),
        "Token": token,
        "Expiration": (now.astimezone(UTC) + LIFETIME).strftime(_ISO),
    }
