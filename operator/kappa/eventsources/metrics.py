"""The poller's Prometheus collectors, in a registry of their own.

One poller serves one mapping, so no mapping label is needed (the pod's
labels say which); ``verdict`` and ``fate`` are small enums.
"""

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
)  # fmt: skip


class PollerMetrics:
    """Every collector of one poller."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.batches = Counter(
            "kappa_esm_batches",
            "Invocations with a batch, by verdict (Success, PartialFailure, FunctionError, "
            "PayloadTooLarge, NotInvoked).",
            ["verdict"],
            registry=self.registry,
        )
        self.records = Counter(
            "kappa_esm_records",
            "Records settled, by fate (succeeded, retried, dead_lettered, filtered).",
            ["fate"],
            registry=self.registry,
        )
        self.invoke_seconds = Histogram(
            "kappa_esm_invoke_seconds",
            "Time of one invocation through the gateway.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.backlog = Gauge(
            "kappa_esm_backlog", "Records waiting in the source.", registry=self.registry
        )
        self.connected = Gauge(
            "kappa_esm_source_connected",
            "1 while the poller reads its source.",
            registry=self.registry,
        )
