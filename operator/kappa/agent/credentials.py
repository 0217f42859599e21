"""The pod credential a durable Function's runtime signs its Lambda API calls with.

botocore's container provider asks ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (a loopback
URI may be plain http) with ``Authorization: <AWS_CONTAINER_AUTHORIZATION_TOKEN>``.
The agent serves that URI on each slot's Runtime API listener, on 127.0.0.1 only,
never on the pod's port 8080, at :data:`PATH`; the authorization value is random, made
once per pod when the agent starts, and handed only to its runtimes. Each request
reads the projected ServiceAccount token file again (the kubelet rotates it) and answers
the credential :mod:`kappa.base.pod_credential` derives from it.

Only when the pod's ``KAPPA_POD_TOKEN_FILE`` is set (the operator sets it for durable
Functions) and the Function's own environment names no container credentials of its
own (:data:`CONTAINER_VARIABLES`): a user's ``AWS_CONTAINER_*`` wins. Explicit keys
(``AWS_ACCESS_KEY_ID``) need no such care: botocore's chain takes them first.

=========================  =====================================================
request                    answer
=========================  =====================================================
not GET                    405
no ``Authorization``       401
another value              403 (compared in constant time; over 256 characters: not read)
token file unreadable,     503 (botocore tries again; the gateway would refuse it
empty or not a token       anyway)
else                       200 ``{AccessKeyId, SecretAccessKey, Token, Expiration}``
=========================  =====================================================
"""

import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from kappa.agent.http11 import Request, Response
from kappa.base import pod_credential
from kappa.base.clock import Clock

PATH: Final = "/kappa/credentials"
FULL_URI: Final = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
AUTHORIZATION_TOKEN: Final = "AWS_CONTAINER_AUTHORIZATION_TOKEN"  # noqa: S105 - a name
# A Function that sets any of these brings its own container credentials.
CONTAINER_VARIABLES: Final = (
    FULL_URI,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    AUTHORIZATION_TOKEN,
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)
_MAX_AUTHORIZATION: Final = 256  # the agent's own value is 43 characters
_JSON: Final = [("Content-Type", "application/json")]
_ERRORS: Final = {
    401: b'{"message":"Missing Authorization"}',
    403: b'{"message":"Invalid Authorization"}',
    405: b'{"message":"Method not allowed"}',
    503: b'{"message":"The pod token cannot be read"}',
}


class PodCredentials:
    """One pod's credential endpoint: the runtimes' variables and the answer to each fetch."""

    def __init__(self, token_file: Path, clock: Clock, authorization: str | None = None) -> None:
        """``authorization``: the value runtimes must send; a random one when not given."""
        self._token_file = token_file
        self._clock = clock
        self.authorization = authorization or secrets.token_urlsafe(32)

    def env(self, port: int) -> dict[str, str]:
        """What a runtime whose slot listens on ``port`` gets to find the endpoint."""
        return {
            FULL_URI: f"http://127.0.0.1:{port}{PATH}",
            AUTHORIZATION_TOKEN: self.authorization,
        }

    def answer(self, request: Request) -> Response:
        """Answer one fetch per the module docstring's table."""
        if request.method != "GET":
            return _error(405)
        given = request.headers.get("authorization")
        if not given:
            return _error(401)
        if len(given) > _MAX_AUTHORIZATION or not hmac.compare_digest(
            given.encode(), self.authorization.encode()
        ):
            return _error(403)
        token = self._read_token()
        if token is None:
            return _error(503)
        now = datetime.fromtimestamp(self._clock.wall_ms() / 1000, UTC)
        return Response(200, json.dumps(pod_credential.credentials(token, now)).encode(), _JSON)

    def _read_token(self) -> str | None:
        try:
            with self._token_file.open("rb") as file:
                raw = file.read(pod_credential.MAX_TOKEN_CHARS + 1)
        except OSError:
            return None
        token = raw.decode("ascii", "replace").strip()
        return token if pod_credential.usable_token(token) else None


def brings_own(runtime_env: Mapping[str, str]) -> bool:
    """Whether the Function sets container credentials of its own (then it gets none of Kappa's)."""
    return any(name in runtime_env for name in CONTAINER_VARIABLES)


def _error(status: int) -> Response:
    return Response(status, _ERRORS[status], _JSON)
