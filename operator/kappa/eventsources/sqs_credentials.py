"""The AWS credentials an SQS source signs with: a Secret's keys, else AWS's own chain.

- The mapping names a Secret (``spec.sqs.accessKeyId`` and ``secretAccessKey``):
  those keys, always; they keep priority over anything the pod's environment holds.
- Else botocore's default credential chain, resolved as the AWS SDKs resolve it:
  ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in the environment, shared files,
  web identity (``AWS_WEB_IDENTITY_TOKEN_FILE`` + ``AWS_ROLE_ARN``: IRSA, STS
  AssumeRoleWithWebIdentity, honouring ``AWS_ENDPOINT_URL_STS`` and
  ``AWS_STS_REGIONAL_ENDPOINTS``), container credentials
  (``AWS_CONTAINER_CREDENTIALS_FULL_URI``/``_RELATIVE_URI`` with
  ``AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]``: EKS Pod Identity, ECS) and the
  instance metadata service. Credentials with an expiry are botocore's
  ``RefreshableCredentials``: refreshed ahead of it (15 minutes by default), each
  use reading the current set.
- Neither (ElasticMQ and other endpoints that check no signature): placeholder keys,
  so that the request is still signed.

botocore's resolver and refreshes block (file reads, STS and metadata calls), so they
run in a worker thread, never on the event loop. The requests themselves stay signed by
``kappa.auth.sigv4`` and sent with aiohttp (``kappa.eventsources.sqs``).
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import botocore.exceptions
import botocore.session

from kappa.auth.credentials import Credentials
from kappa.eventsources.source import SourceCredentialsError, SourceUnreachableError

log = logging.getLogger(__name__)

PLACEHOLDER_KEY: Final = "kappa"
"""What a request is signed with when nothing gives credentials (ElasticMQ takes any)."""


def secret_keys(values: Mapping[str, str]) -> Credentials | None:
    """The keys read from the mapping's Secret, or None when it names none.

    Half a pair (an id without its secret) is refused rather than completed from
    elsewhere: the mapping meant a Secret, and a silent fallback would sign as someone else.
    """
    key_id = values.get("accessKeyId", "")
    secret = values.get("secretAccessKey", "")
    if not key_id and not secret:
        return None
    if not key_id or not secret:
        msg = "spec.sqs names only one of accessKeyId and secretAccessKey: name both, or neither"
        raise SourceCredentialsError(msg)
    return Credentials(access_key_id=key_id, secret_access_key=secret)


class AwsCredentials(Protocol):
    """Where an ``SqsClient`` gets the keys of its next request."""

    async def current(self) -> Credentials:
        """The credentials to sign the next request with (refreshed when due)."""
        ...


class FixedCredentials:
    """The same keys for every request (a Secret's, or the placeholder)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    async def current(self) -> Credentials:
        """The keys given at creation."""
        return self._credentials


PLACEHOLDER: Final = FixedCredentials(
    Credentials(access_key_id=PLACEHOLDER_KEY, secret_access_key=PLACEHOLDER_KEY)
)


def default_session(region: str) -> Any:
    """A botocore session reading the process environment, in ``region`` (STS's region)."""
    session = botocore.session.get_session()
    session.set_config_variable("region", region)
    return session


def _credentials_error(error: Exception) -> Exception:
    reason = str(error) or type(error).__name__
    if isinstance(error, botocore.exceptions.EndpointConnectionError | ConnectionError):
        return SourceUnreachableError(f"cannot reach the AWS credential provider: {reason}")
    return SourceCredentialsError(f"AWS credentials could not be obtained: {reason}")


class ChainCredentials:
    """botocore's default chain, resolved on first use and refreshed as it says."""

    def __init__(self, session_factory: Callable[[], Any]) -> None:
        self._session_factory = session_factory
        self._resolved: Any = None
        self._placeholder = False
        self._lock = asyncio.Lock()

    def _resolve(self) -> Any:
        return self._session_factory().get_credentials()

    async def current(self) -> Credentials:
        """The chain's current credentials (SourceCredentialsError when it refuses)."""
        try:
            async with self._lock:
                if self._resolved is None and not self._placeholder:
                    self._resolved = await asyncio.to_thread(self._resolve)
                    if self._resolved is None:
                        log.info("no AWS credentials found: signing with placeholder keys")
                        self._placeholder = True
            if self._placeholder:
                return await PLACEHOLDER.current()
            frozen = await asyncio.to_thread(self._resolved.get_frozen_credentials)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise _credentials_error(error) from error
        except (OSError, RuntimeError, ValueError) as error:  # token files, expired refreshes
            raise _credentials_error(error) from error
        return Credentials(
            access_key_id=frozen.access_key,
            secret_access_key=frozen.secret_key,
            session_token=frozen.token or None,
        )


def source_credentials(
    values: Mapping[str, str], session_factory: Callable[[], Any]
) -> AwsCredentials:
    """A Secret's keys when the mapping names them, else the default chain."""
    keys = secret_keys(values)
    if keys is not None:
        return FixedCredentials(keys)
    return ChainCredentials(session_factory)
