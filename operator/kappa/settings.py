"""Operator, gateway and agent settings, parsed once from the environment.

This is the only module that reads environment variables (ruff's banned-api
rule holds everyone else to that). Everything below it takes a ``Settings``,
so tests pass values instead of patching the process environment, and a bad
value stops the process at start-up with the variable's name in the message.
"""

import json
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from kappa.api.function import Runtime
from kappa.api.names import validate_dns1123_label
from kappa.base.env import SettingsError
from kappa.base.logs import LogFormat
from kappa.tracing.endpoint import parse_endpoint

# Which environment variable sets which field.
ENV_VARS: Final[Mapping[str, str]] = {
    "namespace": "KAPPA_NAMESPACE",
    "log_level": "KAPPA_LOG_LEVEL",
    "log_format": "KAPPA_LOG_FORMAT",
    "image_prefix": "KAPPA_IMAGE_PREFIX",
    "image_tag": "KAPPA_IMAGE_TAG",
    "image_pull_policy": "KAPPA_IMAGE_PULL_POLICY",
    "region": "KAPPA_REGION",
    "concurrency_limit": "KAPPA_CONCURRENCY_LIMIT",
    "unreserved_minimum": "KAPPA_UNRESERVED_MINIMUM",
    "webhook_service": "KAPPA_WEBHOOK_SERVICE",
    "webhook_port": "KAPPA_WEBHOOK_PORT",
    "burst_limit": "KAPPA_BURST_LIMIT",
    "autoscaler_port": "KAPPA_AUTOSCALER_PORT",
    "kube_threads": "KAPPA_KUBE_THREADS",
    "resync_seconds": "KAPPA_RESYNC_SECONDS",
    "leader_election": "KAPPA_LEADER_ELECTION",
    "pod_name": "KAPPA_POD_NAME",
    "runtimes": "KAPPA_RUNTIMES",
    "gateway_service_account": "KAPPA_GATEWAY_SERVICE_ACCOUNT",
    "network_policies": "KAPPA_NETWORK_POLICIES",
    "network_policy_metrics_from": "KAPPA_NETWORK_POLICY_METRICS_FROM",
    "network_policy_egress": "KAPPA_NETWORK_POLICY_EGRESS",
    "tracing_otlp_endpoint": "KAPPA_TRACING_OTLP_ENDPOINT",
    "tracing_sample_ratio": "KAPPA_TRACING_SAMPLE_RATIO",
    "function_gateway_url": "KAPPA_FUNCTION_GATEWAY_URL",
}

_MAX_POLICY_JSON: Final = 65536
_GATEWAY_URL: Final = re.compile(r"https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")
_MAX_POD_NAME: Final = 253
_POD_NAME_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")

# The runtimes whose images `make images` builds (runtime-images/images.txt) and `image`.
DEFAULT_RUNTIMES: Final = ("python3.11", "nodejs20", "nodejs22", "provided", "image", "java17")


class LogLevel(StrEnum):
    """Log levels a user may set; the names match the :mod:`logging` levels."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class PullPolicy(StrEnum):
    """Kubernetes image pull policies."""

    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class Settings(BaseModel):
    """Validated, immutable settings shared by every Kappa component."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = "kappa-system"
    log_level: LogLevel = LogLevel.INFO
    # text, or json: one JSON object per line (kappa.base.logs).
    log_format: LogFormat = LogFormat.TEXT
    # Runtime images are <prefix>/runtime-<runtime>:<tag>; the agent's is <prefix>/base:<tag>.
    image_prefix: str = "kappa.local"
    image_tag: str = "dev"
    image_pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    # The region in ARNs and in AWS_REGION inside functions.
    region: str = "us-east-1"
    # Cluster-wide concurrent executions (Lambda's account limit), and how much of it
    # Functions may never set aside (reserved, else provisioned concurrency); the gateway's
    # KAPPA_GATEWAY_CONCURRENCY_LIMIT and KAPPA_GATEWAY_UNRESERVED_MINIMUM must match. The
    # autoscaler never gives Functions without reserved concurrency more slots than the
    # limit less every reservation.
    concurrency_limit: int = Field(default=1000, ge=1)
    unreserved_minimum: int = Field(default=100, ge=0)
    # The Service in `namespace` through which the API server reaches the operator's
    # admission webhook (quotas checked at apply time); empty: no webhook.
    webhook_service: str = ""
    webhook_port: int = Field(default=9443, ge=1, le=65535)
    # New execution environments per Function per 10 s (Lambda's scaling rate).
    burst_limit: int = Field(default=1000, ge=1)
    # The operator's port for gateways' stats and pokes, and its /metrics.
    autoscaler_port: int = Field(default=8081, ge=1, le=65535)
    # Threads for the operator's blocking Kubernetes client calls, and its connections to
    # the API server: how many calls wait on the API server at once. Not asyncio's default
    # (CPUs + 4, up to 32, by the node): 1,000 new Functions settled faster with 6 than
    # with 16 on a small control plane (BENCHMARKS.md); raise it for a remote API server
    # with room to spare.
    kube_threads: int = Field(default=6, ge=1, le=256)
    # A Function at rest passes again after this long (spread ±10 %) with nothing to wake
    # it: a safety net for what no watch event announced. Every change wakes its pass at
    # once, and what is due at a time (retries, back-offs, load) sets its own timer
    # (kappa.controller.next_pass). 30 s before 2026-12-04: 16 % of a core at rest with
    # 10,000 Functions (BENCHMARKS.md).
    resync_seconds: float = Field(default=600.0, ge=10, le=86400)
    # Several operator replicas, one leading (a Lease in `namespace`; the others stand by
    # and take over when it stops renewing). `pod_name` is this replica's pod (the Lease's
    # holder, and the pod labelled as the leader for the Service).
    leader_election: bool = False
    pod_name: str = ""

    @field_validator("pod_name")
    @classmethod
    def _pod_name_is_a_name(cls, value: str) -> str:
        if value and (len(value) > _MAX_POD_NAME or not set(value) <= _POD_NAME_CHARACTERS):
            msg = "must be a pod's name (the downward API's metadata.name)"
            raise ValueError(msg)
        return value

    # The runtimes this installation has images for (chart value runtimeImages.runtimes):
    # the admission webhook refuses a Function naming another one, listing these.
    runtimes: tuple[str, ...] = DEFAULT_RUNTIMES
    # The gateways' ServiceAccount in `namespace`: the autoscaler takes stats and pokes
    # only with a token of it (audience kappa). Empty: from anyone (no cluster: tests).
    gateway_service_account: str = ""
    # A NetworkPolicy in every namespace that has Functions (resources/network_policy.py):
    # function pods take connections from the gateways only, plus these NetworkPolicyPeers
    # (JSON list) for metrics; their egress limited to these NetworkPolicyEgressRules
    # (JSON list; unset: unrestricted). The API server validates both on the first write.
    network_policies: bool = False
    network_policy_metrics_from: tuple[dict[str, Any], ...] = ()
    network_policy_egress: tuple[dict[str, Any], ...] | None = None
    # Where function pods' agents send their spans (docs/tracing.md); empty: tracing off.
    tracing_otlp_endpoint: str = ""
    tracing_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    # The gateway as function pods reach it (durable Functions' AWS_ENDPOINT_URL_LAMBDA):
    # the chart gives its Service's ClusterIP and port (the local cluster has no DNS);
    # empty: the Service's DNS name, http://kappa-gateway.<namespace>.svc:80.
    function_gateway_url: str = ""

    @field_validator("function_gateway_url")
    @classmethod
    def _a_gateway_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and (
            not _GATEWAY_URL.fullmatch(value) or "$(" in value  # an unexpanded variable
        ):
            msg = "must be http://HOST[:PORT] (the gateway Service as function pods reach it)"
            raise ValueError(msg)
        return value

    @property
    def durable_endpoint(self) -> str:
        """Where durable Functions' SDKs find the Lambda API (``function_gateway_url``)."""
        return self.function_gateway_url or f"http://kappa-gateway.{self.namespace}.svc:80"

    @field_validator("tracing_otlp_endpoint")
    @classmethod
    def _an_otlp_endpoint(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_endpoint(value)  # ValueError says what is wrong
        return value

    @field_validator("network_policy_metrics_from", "network_policy_egress", mode="before")
    @classmethod
    def _json_list_of_objects(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():  # unset: no peers; egress unrestricted
            return () if info.field_name == "network_policy_metrics_from" else None
        if len(value) > _MAX_POLICY_JSON:
            msg = f"longer than {_MAX_POLICY_JSON} characters"
            raise ValueError(msg)
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError) as exc:
            msg = f"not JSON: {exc}"
            raise ValueError(msg) from None
        if not isinstance(parsed, list) or not all(isinstance(p, dict) for p in parsed):
            msg = "must be a JSON list of objects"
            raise ValueError(msg)
        return tuple(parsed)

    @field_validator("runtimes", mode="before")
    @classmethod
    def _runtimes_from_a_list(cls, value: object) -> object:
        # KAPPA_RUNTIMES is comma-separated: "python3.11,nodejs20,image".
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("runtimes")
    @classmethod
    def _runtimes_are_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = {r.value for r in Runtime}
        unknown = [r for r in value if r not in known]
        if unknown:
            some = ", ".join(r.value for r in Runtime)
            msg = f"unknown runtimes {', '.join(unknown)}: use some of {some}"
            raise ValueError(msg)
        if not value:
            msg = "name at least one runtime"
            raise ValueError(msg)
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace_is_dns1123_label(cls, value: str) -> str:
        return validate_dns1123_label(value)

    @field_validator("webhook_service")
    @classmethod
    def _service_is_dns1123_label(cls, value: str) -> str:
        return validate_dns1123_label(value) if value else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_ignores_case(cls, value: object) -> object:
        # `debug` and `DEBUG` are the same wish; refusing one would only annoy.
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format_ignores_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Build settings from ``env``; unset variables take their defaults.

        Raises SettingsError naming every variable whose value is invalid.
        """
        values = {field: env[var] for field, var in ENV_VARS.items() if var in env}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError([_describe(exc, env)]) from None


def _describe(exc: ValidationError, env: Mapping[str, str]) -> str:
    """Rephrase pydantic's errors in terms of environment variables, one per line."""
    lines = []
    for error in exc.errors():
        var = ENV_VARS[str(error["loc"][0])]
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{var}={env[var]!r} is invalid: {message}")
    return "\n".join(lines)


def load() -> Settings:
    """Load the settings of this process from its environment."""
    return Settings.from_env(os.environ)
