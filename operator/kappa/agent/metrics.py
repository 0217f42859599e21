"""The agent's Prometheus metrics, counted in plain Python and exposed through prometheus_client.

prometheus_client's import costs about 70 ms, a tenth of the cold-start budget,
so it is not imported at start-up: the agent counts into the small structures
below, and the first ``/metrics`` scrape imports prometheus_client (off the event
loop) to render them in the exposition format. Labels are bounded: the
outcome and rejection reason enums.
"""

import importlib
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from kappa.tracing.exporter import Exporter

DURATION_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 900.0,
)  # fmt: skip


class Outcome(StrEnum):
    """How an invocation ended; the ``outcome`` label."""

    SUCCESS = "success"
    ERROR = "error"  # the function reported an error
    TIMEOUT = "timeout"
    RUNTIME_EXIT = "runtime_exit"  # the runtime process ended mid-invocation
    TOO_LARGE = "too_large"  # response over Lambda's 6 MB


class Rejection(StrEnum):
    """Why ``/invoke`` refused a call; the ``reason`` label."""

    NOT_READY = "not_ready"
    NO_FREE_SLOT = "no_free_slot"
    BAD_REQUEST = "bad_request"


class Histogram:
    """Cumulative-bucket counts, a sum and a count, as a Prometheus histogram keeps them."""

    def __init__(self, buckets: Sequence[float] = DURATION_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Count one value."""
        self.total += value
        self.count += 1
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[index] += 1
                break

    def cumulative(self) -> list[tuple[str, float]]:
        """(upper bound, cumulative count) pairs, ``+Inf`` last."""
        result: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            running += count
            result.append((repr(bound), float(running)))
        result.append(("+Inf", float(self.count)))
        return result


class AgentMetrics:
    """Every metric the agent exports, defined once here."""

    def __init__(self) -> None:
        self.invocations = dict.fromkeys(Outcome, 0)
        self.rejections = dict.fromkeys(Rejection, 0)
        self.duration = Histogram()
        self.init_duration = Histogram()
        self.runtime_starts = 0
        self.spans: Exporter | None = None  # with tracing on: its counts are exposed
        self._client: Any = None

    def invocation(self, outcome: Outcome, seconds: float) -> None:
        """Count a finished invocation."""
        self.invocations[outcome] += 1
        self.duration.observe(seconds)

    def prepare(self) -> None:
        """Import prometheus_client; run it in a thread so the event loop keeps serving."""
        if self._client is None:
            self._client = importlib.import_module("prometheus_client")

    def render(self, *, slots: int, busy: int) -> tuple[bytes, str]:
        """The exposition text and its content type; ``prepare`` must have run."""
        client = self._client
        registry = client.CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self, slots=slots, busy=busy))
        return client.generate_latest(registry), client.CONTENT_TYPE_LATEST


class _Collector:
    """Turns AgentMetrics into prometheus_client metric families at scrape time."""

    def __init__(self, metrics: AgentMetrics, *, slots: int, busy: int) -> None:
        self._metrics = metrics
        self._slots = slots
        self._busy = busy

    def collect(self) -> Iterator[Any]:
        core = importlib.import_module("prometheus_client.core")
        metrics = self._metrics
        invocations = core.CounterMetricFamily(
            "kappa_agent_invocations",
            "Invocations the agent finished, by outcome.",
            labels=["outcome"],
        )
        for outcome, count in metrics.invocations.items():
            invocations.add_metric([outcome.value], count)
        yield invocations
        rejections = core.CounterMetricFamily(
            "kappa_agent_rejections", "Invoke calls refused, by reason.", labels=["reason"]
        )
        for reason, count in metrics.rejections.items():
            rejections.add_metric([reason.value], count)
        yield rejections
        for name, text, histogram in (
            (
                "kappa_agent_invocation_duration_seconds",
                "Time from handing the event to the runtime to its answer.",
                metrics.duration,
            ),
            (
                "kappa_agent_init_duration_seconds",
                "Time from starting a runtime process to its first /next.",
                metrics.init_duration,
            ),
        ):
            family = core.HistogramMetricFamily(name, text)
            family.add_metric([], histogram.cumulative(), histogram.total)
            yield family
        yield core.CounterMetricFamily(
            "kappa_agent_runtime_starts",
            "Runtime processes started (first starts and replacements).",
            value=metrics.runtime_starts,
        )
        if metrics.spans is not None:
            yield core.CounterMetricFamily(
                "kappa_agent_spans_exported",
                "Spans the trace collector accepted.",
                value=metrics.spans.exported,
            )
            yield core.CounterMetricFamily(
                "kappa_agent_spans_dropped",
                "Spans lost: the export queue was full, or the collector failed or was slow.",
                value=metrics.spans.dropped,
            )
        yield core.GaugeMetricFamily(
            "kappa_agent_slots", "Invocations the pod takes at once.", value=self._slots
        )
        yield core.GaugeMetricFamily(
            "kappa_agent_slots_busy", "Invocations in flight.", value=self._busy
        )
