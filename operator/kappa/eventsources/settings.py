"""The poller's settings, parsed once from the environment (its only reader of it).

- ``KAPPA_ESM_MAPPING``: the EventSourceMapping as JSON (metadata name, namespace,
  uid and the spec): the operator writes it into the poller's Deployment, so a
  spec change rolls the pods. ``kappa poller --mapping FILE`` reads a file instead.
- ``KAPPA_ESM_SECRET_<FIELD>``: credentials, from the Secrets the spec names
  (``secretKeyRef`` in the pod's env): ``KAPPA_ESM_SECRET_PASSWORD``...
- ``KAPPA_GATEWAY_URL``, or else ``KAPPA_GATEWAY_SERVICE_HOST`` and
  ``KAPPA_GATEWAY_SERVICE_PORT`` (the kubelet sets them for the kappa-gateway
  Service of the pod's namespace; the operator copies them for other namespaces).
- ``KAPPA_POD_NAME`` (the consumer name), ``KAPPA_REGION`` (us-east-1),
  ``KAPPA_LOG_LEVEL`` (INFO), ``KAPPA_LOG_FORMAT`` (text, or json: JSON lines),
  ``KAPPA_ESM_REPORT_SECONDS`` (5): how often the poller writes ``status.source``;
  ``KAPPA_ESM_METRICS_PORT`` (0: none): where
  ``/metrics`` and ``/healthz`` are served. A bad value of any of these is a
  ``SettingsError`` naming the variable: ``kappa poller`` prints it and exits 2.
- ``KAPPA_TOKEN_FILE`` (or ``KAPPA_TOKEN``): the token the poller presents to the
  gateway: the pod's projected ServiceAccount token for audience kappa.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from kappa.auth.credentials import Credentials
from kappa.base.env import EnvReader
from kappa.base.logs import LOG_FORMATS, LOG_LEVELS
from kappa.resources.poller_env import SECRET_PREFIX, field_name

REPORT_SECONDS_MIN: Final = 0.1
REPORT_SECONDS_MAX: Final = 3600.0


@dataclass(frozen=True)
class PollerSettings:
    """Validated poller settings."""

    mapping_json: str | None
    gateway_url: str | None
    credentials: Mapping[str, str]
    pod_name: str = "poller"
    region: str = "us-east-1"
    log_level: str = "INFO"
    log_format: str = "text"
    report_seconds: float = 5.0
    metrics_port: int = 0
    gateway_credentials: Credentials = field(default_factory=Credentials)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "PollerSettings":
        """Settings from ``env``; raises SettingsError naming every bad variable."""
        read = EnvReader(env)
        gateway = read.optional("KAPPA_GATEWAY_URL")
        if gateway is None and read.optional("KAPPA_GATEWAY_SERVICE_HOST") is not None:
            port = read.integer("KAPPA_GATEWAY_SERVICE_PORT", 80, lo=1, hi=65535)
            gateway = f"http://{read.string('KAPPA_GATEWAY_SERVICE_HOST', '')}:{port}"
        settings = cls(
            mapping_json=env.get("KAPPA_ESM_MAPPING"),
            gateway_url=gateway,
            credentials={
                field_name(var): value
                for var, value in env.items()
                if var.startswith(SECRET_PREFIX)
            },
            pod_name=read.string("KAPPA_POD_NAME", "poller"),
            region=read.string("KAPPA_REGION", "us-east-1"),
            log_level=read.choice("KAPPA_LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
            log_format=read.choice(
                "KAPPA_LOG_FORMAT", "TEXT", [f.upper() for f in LOG_FORMATS], upper=True
            ).lower(),
            report_seconds=read.number(
                "KAPPA_ESM_REPORT_SECONDS", 5.0, lo=REPORT_SECONDS_MIN, hi=REPORT_SECONDS_MAX
            ),
            metrics_port=read.integer("KAPPA_ESM_METRICS_PORT", 0, lo=0, hi=65535),
            gateway_credentials=Credentials.from_env(
                {k: env[k] for k in ("KAPPA_TOKEN", "KAPPA_TOKEN_FILE") if k in env}
            ),
        )
        read.done()
        return settings


def load() -> PollerSettings:
    """The settings of this process."""
    return PollerSettings.from_env(os.environ)
