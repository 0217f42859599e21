"""The gateway's Prometheus collectors, in a registry of their own (one per app).

Labels are bounded: no namespace or function label (a cluster may hold
thousands of Functions); per-function figures are the autoscaler's stats, not
Prometheus series. ``surface`` is ``invoke`` or ``http``.
"""

from enum import StrEnum
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
)  # fmt: skip


class Outcome(StrEnum):
    """How an invocation ended, as the gateway saw it."""

    SUCCESS = "success"
    FUNCTION_ERROR = "function_error"
    THROTTLED = "throttled"
    CLIENT_ERROR = "client_error"  # 4xx other than 429: bad name, too large, no such function
    UPSTREAM_ERROR = "upstream_error"  # the pod failed us (connection lost)
    ACCEPTED = "accepted"  # Event: queued in the background


class ThrottleCause(StrEnum):
    """Why a 429 was given."""

    RESERVED = "reserved"
    CONCURRENCY = "concurrency"
    QUEUE_FULL = "queue_full"
    QUEUE_TIMEOUT = "queue_timeout"
    BODY_BYTES = "body_bytes"  # the gateway holds all the request bytes it may


class GatewayMetrics:
    """Every collector of one gateway."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.invocations = Counter(
            "kappa_gateway_invocations", "Invocations by surface and outcome.",
            ["surface", "outcome"], registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "kappa_gateway_invocation_duration_seconds",
            "Time from request to answer, queue wait included.",
            ["surface"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.concurrent = Gauge(
            "kappa_gateway_concurrent_executions",
            "Invocations this gateway has running on agents.", registry=r,
        )  # fmt: skip
        self.queued = Gauge(
            "kappa_gateway_queued_invocations", "Invocations waiting for a slot.", registry=r
        )
        self.body_bytes = Gauge(
            "kappa_gateway_request_body_bytes",
            "Bytes of request bodies held by calls being read, waiting or running.", registry=r,
        )  # fmt: skip
        self.throttles = Counter(
            "kappa_gateway_throttles", "429 answers by cause.", ["cause"], registry=r
        )
        self.queue_wait = Histogram(
            "kappa_gateway_queue_wait_seconds", "Time waited for a slot by queued invocations.",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.cold_starts = Counter(
            "kappa_gateway_cold_starts", "Invocations that met a fresh runtime.", registry=r
        )
        self.agent_busy = Counter(
            "kappa_gateway_agent_busy",
            "Agents that answered 'no free slot' (another replica held it) or 'not ready'.",
            registry=r,
        )
        self.capacity_requests = Counter(
            "kappa_gateway_capacity_requests",
            "Requests for more capacity (a call queued for want of a slot).", registry=r,
        )  # fmt: skip
        self.autoscaler_reports = Counter(
            "kappa_gateway_autoscaler_reports",
            "Reports sent to the autoscaler, by kind (stats, poke) and outcome (ok, failed).",
            ["kind", "outcome"], registry=r,
        )  # fmt: skip
        for cause in ThrottleCause:
            self.throttles.labels(cause.value)
        for kind in ("stats", "poke"):
            for outcome in ("ok", "failed"):
                self.autoscaler_reports.labels(kind, outcome)
