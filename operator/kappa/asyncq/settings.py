"""Asynchronous invocation settings, parsed once from the environment (its only reader).

- ``KAPPA_NATS_URL``: the NATS server(s) with JetStream, comma-separated
  (``nats://kappa-nats.kappa-system:4222``); unset: no asynchronous invocation
  (``Event`` answers 500 ServiceException saying so);
- ``KAPPA_NATS_USER`` and ``KAPPA_NATS_PASSWORD``: the user Kappa connects as (both
  or neither; the chart's NATS refuses anonymous connections and generates the
  password into a Secret); unset: anonymous, for a NATS without users;
- ``KAPPA_ASYNC_PREFIX`` (``kappa``): the subject prefix and stream/bucket name
  prefix, so that several Kappa installations may share one NATS;
- ``KAPPA_ASYNC_WORKERS`` (32): events this gateway replica runs at once; 0 =
  this replica only enqueues;
- ``KAPPA_ASYNC_RETRY_DELAYS`` (``60,120``): seconds before the first and the
  second retry after a function error (Lambda: about 1 min, then 2 min);
- ``KAPPA_ASYNC_REQUEUE_MIN_SECONDS`` (1) and ``KAPPA_ASYNC_REQUEUE_MAX_SECONDS``
  (300): the doubling back-off of throttled and system-failed events;
- ``KAPPA_ASYNC_ACK_WAIT_SECONDS`` (30): how long an event handed to a worker that
  went silent (killed) stays invisible before another worker gets it;
- ``KAPPA_ASYNC_MAX_PENDING`` (100000): events of one namespace handed out or
  waiting for a retry at once, all replicas together (its consumer's
  max_ack_pending);
- ``KAPPA_ASYNC_DESTINATION_WAIT_SECONDS`` (86400): how long a finished event
  waits for a destination Function that does not exist;
- ``KAPPA_ASYNC_DLQ_MAX_AGE_SECONDS`` (1209600, 14 days, SQS's longest
  retention): how long dead-lettered events are kept;
- ``KAPPA_ASYNC_PUBLISH_TIMEOUT_SECONDS`` (5): the wait for JetStream's ack of
  an enqueue before the caller gets 500;
- ``KAPPA_ASYNC_REPLICAS`` (1): copies JetStream keeps of the streams and the progress
  bucket; 3 on a three-node JetStream cluster, so events outlive the loss of a node.
"""

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from kappa.api.meta import DNS1123_LABEL_PATTERN
from kappa.auth.credentials import Credentials
from kappa.base.env import SettingsError

_MAX_RETRY_DELAY: Final = 3600.0
_MAX_REQUEUE: Final = 3600.0


class NatsCredentials(TypedDict, total=False):
    """The credential options of ``nats.connect``."""

    user: str
    password: str


@dataclass(frozen=True, slots=True)
class AsyncSettings:
    """Validated asynchronous invocation settings."""

    nats_url: str = ""
    nats_user: str = ""
    nats_password: str = dataclasses.field(default="", repr=False)
    prefix: str = "kappa"
    workers: int = 32
    retry_delays: tuple[float, float] = (60.0, 120.0)
    requeue_min_seconds: float = 1.0
    requeue_max_seconds: float = 300.0
    ack_wait_seconds: float = 30.0
    max_pending: int = 100_000
    destination_wait_seconds: float = 86_400.0
    dlq_max_age_seconds: float = 1_209_600.0
    publish_timeout_seconds: float = 5.0
    replicas: int = 1

    @property
    def enabled(self) -> bool:
        """Whether a NATS server is configured."""
        return bool(self.nats_url)

    @property
    def servers(self) -> list[str]:
        """The NATS server URLs."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @property
    def credentials(self) -> NatsCredentials:
        """The user and password options of ``nats.connect`` (none: anonymous)."""
        if not self.nats_user:
            return NatsCredentials()
        return NatsCredentials(user=self.nats_user, password=self.nats_password)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "AsyncSettings":
        """Settings from ``env``; raises SettingsError naming every bad variable."""
        problems: list[str] = []
        values: dict[str, object] = {"nats_url": env.get("KAPPA_NATS_URL", "").strip()}
        user = env.get("KAPPA_NATS_USER", "").strip()
        password = env.get("KAPPA_NATS_PASSWORD", "")
        if bool(user) != bool(password):
            problems.append(
                "KAPPA_NATS_USER and KAPPA_NATS_PASSWORD are set together or not at all"
            )
        else:
            values.update(nats_user=user, nats_password=password)
        prefix = env.get("KAPPA_ASYNC_PREFIX", "").strip() or "kappa"
        if re.fullmatch(DNS1123_LABEL_PATTERN, prefix):
            values["prefix"] = prefix
        else:
            problems.append(
                f"KAPPA_ASYNC_PREFIX={prefix!r} must be lowercase letters, digits and '-'"
            )
        for field, variable, convert, ok in _NUMBERS:
            raw = (env.get(variable) or "").strip()
            if not raw:
                continue
            try:
                value = convert(raw)
            except ValueError:
                problems.append(f"{variable}={raw!r} is not a valid value")
                continue
            if not ok(value):
                problems.append(f"{variable}={raw!r} is out of range")
                continue
            values[field] = value
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.requeue_max_seconds < settings.requeue_min_seconds:
            problems.append(
                "KAPPA_ASYNC_REQUEUE_MAX_SECONDS is below KAPPA_ASYNC_REQUEUE_MIN_SECONDS"
            )
        if problems:
            raise SettingsError(problems)
        return settings


def _two_delays(raw: str) -> tuple[float, float]:
    parts = [float(part) for part in raw.split(",")]
    if len(parts) != 2:  # noqa: PLR2004
        raise ValueError(raw)
    return (parts[0], parts[1])


def _delays_ok(delays: tuple[float, float]) -> bool:
    return all(0 <= delay <= _MAX_RETRY_DELAY for delay in delays)


# (field, variable, parse, in range?)
_NUMBERS: Final[tuple[tuple[str, str, Callable[[str], Any], Callable[[Any], bool]], ...]] = (
    ("workers", "KAPPA_ASYNC_WORKERS", int, lambda v: 0 <= v <= 10_000),  # noqa: PLR2004
    ("retry_delays", "KAPPA_ASYNC_RETRY_DELAYS", _two_delays, _delays_ok),
    ("requeue_min_seconds", "KAPPA_ASYNC_REQUEUE_MIN_SECONDS", float,
     lambda v: 0 < v <= _MAX_REQUEUE),
    ("requeue_max_seconds", "KAPPA_ASYNC_REQUEUE_MAX_SECONDS", float,
     lambda v: 0 < v <= _MAX_REQUEUE),
    ("ack_wait_seconds", "KAPPA_ASYNC_ACK_WAIT_SECONDS", float, lambda v: v >= 1),
    ("max_pending", "KAPPA_ASYNC_MAX_PENDING", int, lambda v: v >= 1),
    ("destination_wait_seconds", "KAPPA_ASYNC_DESTINATION_WAIT_SECONDS", float,
     lambda v: v >= 0),
    ("dlq_max_age_seconds", "KAPPA_ASYNC_DLQ_MAX_AGE_SECONDS", float, lambda v: v >= 60),  # noqa: PLR2004
    ("publish_timeout_seconds", "KAPPA_ASYNC_PUBLISH_TIMEOUT_SECONDS", float,
     lambda v: 0 < v <= 60),  # noqa: PLR2004
    ("replicas", "KAPPA_ASYNC_REPLICAS", int, lambda v: 1 <= v <= 5),  # noqa: PLR2004 - JetStream's most
)  # fmt: skip


def load() -> AsyncSettings:
    """This process's asynchronous invocation settings."""
    return AsyncSettings.from_env(os.environ)


def caller_credentials(token: str | None, env: Mapping[str, str] | None = None) -> Credentials:
    """How ``kappa dlq`` presents itself: ``token``, else what the environment gives."""
    return Credentials.from_env(os.environ if env is None else env, token)


def gateway_url(env: Mapping[str, str] | None = None) -> str:
    """The gateway ``kappa dlq`` talks to: ``KAPPA_GATEWAY_URL``, else the local default."""
    return configured_gateway_url(env) or "http://127.0.0.1:8000"


def configured_gateway_url(env: Mapping[str, str] | None = None) -> str | None:
    """``KAPPA_GATEWAY_URL`` without a trailing slash; None when it is not set."""
    env = os.environ if env is None else env
    return (env.get("KAPPA_GATEWAY_URL") or "").rstrip("/") or None
