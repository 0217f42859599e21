"""Prometheus collectors of asynchronous invocation, in the gateway's registry.

Labels are bounded enums, and on the per-function gauges ``namespace`` and
``function`` under the gateway's cap (``kappa.invocation.function_labels``). The
depth and age gauges are read from JetStream by every replica, so each reports the
whole queue: aggregate them with ``max``, not ``sum``.
"""

from collections.abc import Callable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kappa.asyncq.decider import RequeueCause
from kappa.asyncq.record import RecordCondition
from kappa.invocation.function_gauge import FunctionGauge, Labeller
from kappa.invocation.routing import FunctionKey

_LATENCY_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600,
)  # fmt: skip
ENQUEUE_RESULTS: Final = ("accepted", "duplicate", "throttled", "too_large", "failed")
INVOKE_RESULTS: Final = ("success", "function_error", "throttled", "system_error")
DESTINATION_RESULTS: Final = ("delivered", "missing", "given_up", "refused")
DEPTH: Final = "kappa_async_function_queue_depth"
DLQ_DEPTH: Final = "kappa_async_function_dead_letter_depth"
OLDEST_AGE: Final = "kappa_async_function_oldest_event_age_seconds"
_PER_FUNCTION: Final = (
    (DEPTH, "Events in the queue, by Function (all replicas).", float.__add__),
    (DLQ_DEPTH, "Events in the dead-letter queue, by Function.", float.__add__),
    (OLDEST_AGE, "Age of the Function's oldest queued event (absent when none).", max),
)


class AsyncMetrics:
    """Every collector of the async path of one gateway."""

    def __init__(self, registry: CollectorRegistry, labels: Labeller) -> None:
        r = registry
        # Per Function, as the last look at the streams found them (``set_queues``).
        self._queues: dict[str, dict[FunctionKey, float]] = {}
        self.function_depth, self.function_dlq_depth, self.function_oldest_age = (
            FunctionGauge(name, text, labels, fold=fold, source=self._reader(name))
            for name, text, fold in _PER_FUNCTION
        )
        for gauge in (self.function_depth, self.function_dlq_depth, self.function_oldest_age):
            r.register(gauge)
        self.enqueued = Counter(
            "kappa_async_enqueued", "Event invocations by enqueue result.", ["result"], registry=r
        )
        self.invocations = Counter(
            "kappa_async_invocations", "Invocations of queued events by result.",
            ["result"], registry=r,
        )  # fmt: skip
        self.retries = Counter(
            "kappa_async_retries",
            "Events offered again: function_error (a retry attempt) or a requeue cause.",
            ["cause"], registry=r,
        )  # fmt: skip
        self.finished = Counter(
            "kappa_async_finished", "Events finished, by record condition.", ["condition"],
            registry=r,
        )  # fmt: skip
        self.dead_lettered = Counter(
            "kappa_async_dead_lettered", "Events put in the dead-letter queue, by condition.",
            ["condition"], registry=r,
        )  # fmt: skip
        self.destinations = Counter(
            "kappa_async_destination_records", "Records for destinations, by kind and result.",
            ["kind", "result"], registry=r,
        )  # fmt: skip
        self.redelivered_final = Counter(
            "kappa_async_redelivered_finished",
            "Deliveries of events whose outcome was already decided (not invoked again).",
            registry=r,
        )
        self.in_flight = Gauge(
            "kappa_async_in_flight", "Events this replica's workers are handling.", registry=r
        )
        self.queue_depth = Gauge(
            "kappa_async_queue_depth",
            "Events in the queue (waiting, running or waiting for a retry), all replicas.",
            registry=r,
        )
        self.oldest_age = Gauge(
            "kappa_async_oldest_event_age_seconds",
            "Age of the oldest event still in the queue (0 when empty).", registry=r,
        )  # fmt: skip
        self.dlq_depth = Gauge(
            "kappa_async_dead_letter_depth", "Events in the dead-letter queue.", registry=r
        )
        self.queue_usable = Gauge(
            "kappa_async_queue_usable",
            "1 while this replica can queue and run events (NATS reachable, streams in place).",
            registry=r,
        )
        self.setups = Counter(
            "kappa_async_queue_setups",
            "Streams, consumer and bucket set up again after a reconnect or once found gone.",
            registry=r,
        )
        self.start_latency = Histogram(
            "kappa_async_start_latency_seconds",
            "From the 202 to the first invocation of an event (queue time).",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        for result in ENQUEUE_RESULTS:
            self.enqueued.labels(result)
        for result in INVOKE_RESULTS:
            self.invocations.labels(result)
        for cause in ("function_error", *RequeueCause):
            self.retries.labels(cause)
        for condition in RecordCondition:
            self.finished.labels(condition.value)
            self.dead_lettered.labels(condition.value)

    def set_queues(self, figures: dict[str, dict[FunctionKey, float]]) -> None:
        """The per-function figures of one look at the streams, by gauge name."""
        self._queues = figures

    def _reader(self, name: str) -> Callable[[], dict[FunctionKey, float]]:
        return lambda: self._queues.get(name, {})
