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
  ``KAPPA_LOG_LEVEL`` (INFO), ``KAPPA_ESM_REPORT_SECONDS`` (5): how often the
  poller writes ``status.source``; ``KAPPA_ESM_METRICS_PORT`` (0: none): where
  ``/metrics`` and ``/healthz`` are served.
- ``KAPPA_TOKEN_FILE`` (or ``KAPPA_TOKEN``): the token the poller presents to the
  gateway: the pod's projected ServiceAccount token for audience kappa.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from kappa.auth.credentials import Credentials
from kappa.base.env import SettingsError
from kappa.resources.poller_env import SECRET_PREFIX, field_name


@dataclass(frozen=True)
class PollerSettings:
    """Validated poller settings."""

    mapping_json: str | None
    gateway_url: str | None
    credentials: Mapping[str, str]
    pod_name: str = "poller"
    region: str = "us-east-1"
    log_level: str = "INFO"
    report_seconds: float = 5.0
    metrics_port: int = 0
    gateway_credentials: Credentials = field(default_factory=Credentials)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "PollerSettings":
        """Settings from ``env``."""
        gateway = env.get("KAPPA_GATEWAY_URL")
        if gateway is None and "KAPPA_GATEWAY_SERVICE_HOST" in env:
            port = env.get("KAPPA_GATEWAY_SERVICE_PORT", "80")
            gateway = f"http://{env['KAPPA_GATEWAY_SERVICE_HOST']}:{port}"
        try:
            report = float(env.get("KAPPA_ESM_REPORT_SECONDS", "5"))
            metrics_port = int(env.get("KAPPA_ESM_METRICS_PORT", "0"))
        except ValueError:
            msg = (
                "KAPPA_ESM_REPORT_SECONDS must be a number of seconds and "
                "KAPPA_ESM_METRICS_PORT a port number"
            )
            raise SettingsError([msg]) from None
        return cls(
            mapping_json=env.get("KAPPA_ESM_MAPPING"),
            gateway_url=gateway,
            credentials={
                field_name(var): value
                for var, value in env.items()
                if var.startswith(SECRET_PREFIX)
            },
            pod_name=env.get("KAPPA_POD_NAME", "poller"),
            region=env.get("KAPPA_REGION", "us-east-1"),
            log_level=env.get("KAPPA_LOG_LEVEL", "INFO").upper(),
            report_seconds=report,
            metrics_port=metrics_port,
            gateway_credentials=Credentials.from_env(
                {k: env[k] for k in ("KAPPA_TOKEN", "KAPPA_TOKEN_FILE") if k in env}
            ),
        )


def load() -> PollerSettings:
    """The settings of this process."""
    return PollerSettings.from_env(os.environ)
