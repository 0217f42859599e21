"""How Kappa's own clients present themselves to the gateway: a bearer token or access keys.

``kappa dlq`` and the event-source pollers call the gateway like any other caller:

- ``KAPPA_TOKEN`` (or ``--token``): a Kubernetes token, sent as ``Bearer``
  (``kubectl create token NAME --audience kappa``);
- ``KAPPA_TOKEN_FILE``: a file holding one (a projected ServiceAccount token, which the
  kubelet rotates at 80% of its life): read again at most once a minute, not per call;
- else ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN``,
  ``AWS_REGION``/``AWS_DEFAULT_REGION``, default ``us-east-1``): the request is signed
  with SigV4, as boto3 would sign it;
- none: the call goes without credentials (a gateway with authentication off).

Pure but for ``TokenFile``: the environment and ``now`` are arguments.
"""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from kappa.auth.sigv4 import sign

_MAX_TOKEN_FILE: Final = 16 * 1024
REREAD_SECONDS: Final = 60.0


class TokenFile:
    """A projected token on disk, read again once ``REREAD_SECONDS`` have passed.

    The kubelet replaces it well before it expires (at 80% of an hour), so a minute-old
    copy is always valid; invocations and autoscaler pokes read no file.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._token = ""
        self._read_at: float | None = None

    def read(self) -> str:
        """The token (OSError when the file cannot be read)."""
        now = self._clock()
        if self._read_at is None or now - self._read_at >= REREAD_SECONDS:
            with self.path.open("rb") as file:
                self._token = file.read(_MAX_TOKEN_FILE).decode().strip()
            self._read_at = now
        return self._token


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a client sends; ``headers`` adds it to one request."""

    token: str | None = None
    token_file: TokenFile | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    region: str = "us-east-1"

    @classmethod
    def from_env(cls, env: Mapping[str, str], token: str | None = None) -> "Credentials":
        """The credentials the environment (and an explicit ``token``) give."""
        token_file = env.get("KAPPA_TOKEN_FILE") or None
        return cls(
            token=token or env.get("KAPPA_TOKEN") or None,
            token_file=TokenFile(Path(token_file)) if token_file else None,
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        )

    def headers(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes, now: datetime
    ) -> list[tuple[str, str]]:
        """``headers`` with this client's Authorization (and what a signature adds)."""
        token = self.token
        if token is None and self.token_file is not None:
            token = self.token_file.read()
        if token:
            return [*headers, ("Authorization", f"Bearer {token}")]
        if self.access_key_id and self.secret_access_key:
            return sign(
                method=method,
                url=url,
                headers=headers,
                body=body,
                access_key_id=self.access_key_id,
                secret_access_key=self.secret_access_key,
                region=self.region,
                service="lambda",
                now=now,
                session_token=self.session_token,
            )
        return list(headers)
