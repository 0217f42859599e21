"""The gateway's settings, parsed once from the environment (its only reader of it).

- ``KAPPA_GATEWAY_HOST`` (0.0.0.0), ``KAPPA_GATEWAY_PORT`` (8000; 0 = any free port, logged);
- ``KAPPA_GATEWAY_REGISTRY``: a registry JSON file for StaticRegistry (``--registry`` wins);
- ``KAPPA_GATEWAY_CONCURRENCY_LIMIT`` (1000): cluster-wide concurrent executions, as
  Lambda's account limit; ``KAPPA_GATEWAY_UNRESERVED_MINIMUM`` (100): what reservations
  must leave unreserved;
- ``KAPPA_GATEWAY_QUEUE_MAX_WAITERS`` (100) and ``KAPPA_GATEWAY_QUEUE_MAX_WAIT_SECONDS``
  (10): the per-function wait queue's bounds;
- ``KAPPA_GATEWAY_MAX_QUEUED_BYTES`` (64 MiB, at least the largest body, 6 MiB): request
  bodies this gateway holds at once, being read, waiting for a slot or running; a call
  past it gets 429 at once (``kappa.gateway.body_budget``);
- ``KAPPA_GATEWAY_BUSY_BACKOFF_MS`` (20): how long a pod that answered "no free slot"
  counts as full;
- ``KAPPA_GATEWAY_READINESS_PROBE_MS`` (20; 0 = off): while calls of a Function wait
  for capacity, how often the agents of its not-yet-Ready pods are asked whether they
  can take calls (``kappa.gateway.readiness_probe``), so a new pod serves without
  waiting for the kubelet's next readiness probe; ``KAPPA_GATEWAY_READINESS_PROBES``
  (32): at most that many of those probes at once;
- ``KAPPA_GATEWAY_STREAM_IDLE_TIMEOUT_SECONDS`` (60, at most 900): a streamed answer
  (InvokeWithResponseStream, a ``RESPONSE_STREAM`` URL) that brings no byte for this
  long is ended, with ``Kappa.StreamIdleTimeout``; the function's timeout still bounds
  the whole stream.
- ``KAPPA_GATEWAY_TIMEOUT_GRACE_SECONDS`` (2): the client timeout to an agent beyond the
  function's timeout;
- ``KAPPA_GATEWAY_RETRY_AFTER_SECONDS`` (1): ``Retry-After`` of a 429;
- ``KAPPA_REGION`` (us-east-1): the region in ARNs; ``KAPPA_LOG_LEVEL`` (INFO);
  ``KAPPA_LOG_FORMAT`` (text, or json: one JSON object per line);
- ``KAPPA_GATEWAY_AUTOSCALER_URL``: where stats and pokes go (the operator's endpoint);
  unset: ``http://$KAPPA_OPERATOR_SERVICE_HOST:$KAPPA_OPERATOR_SERVICE_PORT_AUTOSCALER``,
  the variables the kubelet injects for the ``kappa-operator`` Service (no cluster DNS
  needed); neither: no autoscaler (a gateway fed by a registry file).
- ``KAPPA_GATEWAY_AUTH`` (``kubernetes``): check every caller (bearer tokens by
  TokenReview, SigV4 access keys, RBAC by SubjectAccessReview; docs/security.md);
  ``none``: every caller may do everything (a single-tenant install, tests);
- ``KAPPA_GATEWAY_TOKEN_AUDIENCES`` (``kappa``): the audiences a bearer token must be
  for, comma-separated; empty: the API server's own;
- ``KAPPA_GATEWAY_AUTH_CACHE_SECONDS`` (5): how long an authentication or RBAC answer
  is kept (a revoked RoleBinding stops working within it); 0 = ask every time;
- ``KAPPA_GATEWAY_NAMESPACE`` (``kappa-system``): where the access-key Secrets are;
- ``KAPPA_METRICS_MAX_FUNCTIONS`` (500): Functions whose metrics carry their own
  ``function`` label; past it a Function counts as ``_other`` of its namespace, 0: no
  function label at all (``kappa.invocation.function_labels``);
- ``KAPPA_TRACING_OTLP_ENDPOINT``: an OTLP/HTTP collector's base URL
  (``http://otel-collector:4318``; spans go to ``/v1/traces`` as JSON); unset: no spans
  are exported (trace ids are still made and passed on); ``KAPPA_TRACING_SAMPLE_RATIO``
  (1.0): of traces no caller decided, the share recorded (docs/tracing.md);
- ``KAPPA_DURABLE_KEYS_DIR``: the durable key's directory (the ``kappa-durable-keys``
  Secret mounted as files ``current`` and, during a rotation, ``previous``); with NATS
  configured, the gateway serves the durable execution API (none: it does not);
- ``KAPPA_TOKEN_FILE``: the pod's projected ServiceAccount token (audience kappa), sent
  with every report to the autoscaler (which takes reports from the gateway only) and
  every upload to the code store;
- ``KAPPA_GATEWAY_CODE_STORE_URL``: the code store (``kappa codestore``) that
  CreateFunction and UpdateFunctionCode upload zips too large for a ConfigMap to;
  unset: such zips are refused (``kappa.resources.package.placement``).

A frozen dataclass, not pydantic: the whole table is a few numbers.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from kappa.base.env import SettingsError
from kappa.base.logs import LOG_FORMATS, LOG_LEVELS
from kappa.gateway.body import MAX_BODY
from kappa.gateway.metrics import DEFAULT_MAX_FUNCTIONS
from kappa.tracing.endpoint import Endpoint, parse_endpoint

_MAX_PORT: Final = 65535
_MAX_WAIT_SECONDS: Final = 900.0
_MAX_BACKOFF_MS: Final = 10_000.0
_MIN_GRACE_SECONDS: Final = 0.5
_MAX_GRACE_SECONDS: Final = 60.0
_DEFAULT_HOST: Final = "0.0.0.0"  # noqa: S104 - a Service reaches the pod on its IP
_AUTH_MODES: Final = ("kubernetes", "none")
_MAX_AUTH_CACHE_SECONDS: Final = 300.0
_DEFAULT_MAX_QUEUED_BYTES: Final = 64 * 1024 * 1024
_MAX_LABELLED_FUNCTIONS: Final = 100_000
_MAX_PROBE_INTERVAL_MS: Final = 5_000.0
_MAX_PROBES: Final = 1024

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Validated gateway settings."""

    host: str = _DEFAULT_HOST
    port: int = 8000
    registry_file: Path | None = None
    concurrency_limit: int = 1000
    unreserved_minimum: int = 100
    queue_max_waiters: int = 100
    queue_max_wait_seconds: float = 10.0
    max_queued_bytes: int = _DEFAULT_MAX_QUEUED_BYTES
    busy_backoff_seconds: float = 0.02
    timeout_grace_seconds: float = 2.0
    stream_idle_timeout_seconds: float = 60.0
    readiness_probe_seconds: float = 0.02
    readiness_max_probes: int = 32
    retry_after_seconds: int = 1
    region: str = "us-east-1"
    log_level: str = "INFO"
    log_format: str = "text"
    autoscaler_url: str | None = None
    auth: bool = True
    token_audiences: tuple[str, ...] = ("kappa",)
    auth_cache_seconds: float = 5.0
    namespace: str = "kappa-system"
    token_file: Path | None = None
    durable_keys_dir: Path | None = None
    code_store_url: str | None = None
    metrics_max_functions: int = DEFAULT_MAX_FUNCTIONS
    tracing_endpoint: Endpoint | None = None
    tracing_sample_ratio: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "GatewaySettings":
        """Settings from ``env``; raises SettingsError naming every bad variable."""
        problems: list[str] = []

        def read(name: str, convert: Callable[[str], T], default: T, ok: Callable[[T], bool]) -> T:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = convert(raw.strip())
            except ValueError:
                problems.append(f"{name}={raw!r} is not a valid value")
                return default
            if not ok(value):
                problems.append(f"{name}={raw!r} is out of range")
                return default
            return value

        registry = env.get("KAPPA_GATEWAY_REGISTRY") or None
        level = env.get("KAPPA_LOG_LEVEL", "INFO").strip().upper()
        if level not in LOG_LEVELS:
            problems.append(f"KAPPA_LOG_LEVEL={level!r} is not one of {', '.join(LOG_LEVELS)}")
            level = "INFO"
        log_format = env.get("KAPPA_LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            problems.append(
                f"KAPPA_LOG_FORMAT={log_format!r} is not one of {', '.join(LOG_FORMATS)}"
            )
            log_format = "text"
        auth = env.get("KAPPA_GATEWAY_AUTH", "kubernetes").strip().lower() or "kubernetes"
        if auth not in _AUTH_MODES:
            problems.append(f"KAPPA_GATEWAY_AUTH={auth!r} is not one of {', '.join(_AUTH_MODES)}")
        audiences = env.get("KAPPA_GATEWAY_TOKEN_AUDIENCES", "kappa")
        settings = cls(
            host=env.get("KAPPA_GATEWAY_HOST") or _DEFAULT_HOST,
            port=read("KAPPA_GATEWAY_PORT", int, 8000, lambda v: 0 <= v <= _MAX_PORT),
            registry_file=None if registry is None else Path(registry),
            concurrency_limit=read("KAPPA_GATEWAY_CONCURRENCY_LIMIT", int, 1000, _positive),
            unreserved_minimum=read("KAPPA_GATEWAY_UNRESERVED_MINIMUM", int, 100, _natural),
            queue_max_waiters=read("KAPPA_GATEWAY_QUEUE_MAX_WAITERS", int, 100, _natural),
            queue_max_wait_seconds=read(
                "KAPPA_GATEWAY_QUEUE_MAX_WAIT_SECONDS",
                float,
                10.0,
                lambda v: 0 <= v <= _MAX_WAIT_SECONDS,
            ),
            max_queued_bytes=read(
                "KAPPA_GATEWAY_MAX_QUEUED_BYTES",
                int,
                _DEFAULT_MAX_QUEUED_BYTES,
                lambda v: v >= MAX_BODY,
            ),
            busy_backoff_seconds=read(
                "KAPPA_GATEWAY_BUSY_BACKOFF_MS", float, 20.0, lambda v: 0 < v <= _MAX_BACKOFF_MS
            )
            / 1000,
            timeout_grace_seconds=read(
                "KAPPA_GATEWAY_TIMEOUT_GRACE_SECONDS",
                float,
                2.0,
                lambda v: 0 < v <= _MAX_GRACE_SECONDS,
            ),
            stream_idle_timeout_seconds=read(
                "KAPPA_GATEWAY_STREAM_IDLE_TIMEOUT_SECONDS",
                float,
                60.0,
                lambda v: 0 < v <= _MAX_WAIT_SECONDS,
            ),
            readiness_probe_seconds=read(
                "KAPPA_GATEWAY_READINESS_PROBE_MS",
                float,
                20.0,
                lambda v: 0 <= v <= _MAX_PROBE_INTERVAL_MS,
            )
            / 1000,
            readiness_max_probes=read(
                "KAPPA_GATEWAY_READINESS_PROBES", int, 32, lambda v: 1 <= v <= _MAX_PROBES
            ),
            retry_after_seconds=read("KAPPA_GATEWAY_RETRY_AFTER_SECONDS", int, 1, _natural),
            region=env.get("KAPPA_REGION", "us-east-1") or "us-east-1",
            log_level=level,
            log_format=log_format,
            autoscaler_url=_autoscaler_url(env),
            auth=auth != "none",
            token_audiences=tuple(a.strip() for a in audiences.split(",") if a.strip()),
            auth_cache_seconds=read(
                "KAPPA_GATEWAY_AUTH_CACHE_SECONDS",
                float,
                5.0,
                lambda v: 0 <= v <= _MAX_AUTH_CACHE_SECONDS,
            ),
            namespace=env.get("KAPPA_GATEWAY_NAMESPACE", "").strip() or "kappa-system",
            token_file=Path(token) if (token := env.get("KAPPA_TOKEN_FILE", "").strip()) else None,
            durable_keys_dir=Path(keys)
            if (keys := env.get("KAPPA_DURABLE_KEYS_DIR", "").strip())
            else None,
            code_store_url=_code_store_url(env, problems),
            metrics_max_functions=read(
                "KAPPA_METRICS_MAX_FUNCTIONS",
                int,
                DEFAULT_MAX_FUNCTIONS,
                lambda v: 0 <= v <= _MAX_LABELLED_FUNCTIONS,
            ),
            tracing_endpoint=_tracing_endpoint(env, problems),
            tracing_sample_ratio=read(
                "KAPPA_TRACING_SAMPLE_RATIO", float, 1.0, lambda v: 0.0 <= v <= 1.0
            ),
        )
        if problems:
            raise SettingsError(problems)
        return settings


def _code_store_url(env: Mapping[str, str], problems: list[str]) -> str | None:
    url = env.get("KAPPA_GATEWAY_CODE_STORE_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        problems.append(f"KAPPA_GATEWAY_CODE_STORE_URL={url!r} is not an http:// or https:// URL")
        return None
    return url.rstrip("/")


def _autoscaler_url(env: Mapping[str, str]) -> str | None:
    if url := env.get("KAPPA_GATEWAY_AUTOSCALER_URL", "").strip():
        return url
    host = env.get("KAPPA_OPERATOR_SERVICE_HOST", "").strip()
    port = (
        env.get("KAPPA_OPERATOR_SERVICE_PORT_AUTOSCALER")
        or env.get("KAPPA_OPERATOR_SERVICE_PORT")
        or ""
    ).strip()
    if not host or not port:
        return None
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _tracing_endpoint(env: Mapping[str, str], problems: list[str]) -> Endpoint | None:
    raw = env.get("KAPPA_TRACING_OTLP_ENDPOINT", "").strip()
    if not raw:
        return None
    try:
        return parse_endpoint(raw)
    except ValueError as exc:
        problems.append(f"KAPPA_TRACING_OTLP_ENDPOINT={raw[:100]!r} {exc}")
        return None


def _positive(value: int) -> bool:
    return value > 0


def _wait_ok(value: float) -> bool:
    return 0 <= value <= _MAX_WAIT_SECONDS


def _grace_ok(value: float) -> bool:
    # Above the dispatcher's deadline slack (0.25 s), so the agent's timeout answers first.
    return _MIN_GRACE_SECONDS <= value <= _MAX_GRACE_SECONDS


def _natural(value: int) -> bool:
    return value >= 0


def load() -> GatewaySettings:
    """This process's gateway settings."""
    return GatewaySettings.from_env(os.environ)
