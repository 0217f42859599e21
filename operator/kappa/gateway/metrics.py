"""The gateway's Prometheus collectors, in a registry of their own (one per app).

Per-function series carry ``namespace`` and ``function``, their number capped by
``kappa.invocation.function_labels`` (``KAPPA_METRICS_MAX_FUNCTIONS``: past it a
Function counts as ``function="_other"`` of its namespace; 0 turns the function
label off). What no Function can be charged with (an unknown FunctionName, a body
refused before its Function was known) carries empty ones. Every other label is a
small enum: ``surface`` (``invoke`` or ``http``), ``outcome``, ``cause``, ``path``.

Usage (what Lambda bills): every invocation an agent ran adds one request and its
billed duration (the agent's, whole milliseconds) times the Function's memory, in
GB-seconds (1 GB = 1024 MB, as Lambda counts). The same figures are kept per
Function (no cap: one small record per Function this gateway ran) as running
totals, which the gateway reports to the operator with its stats
(kappa.quota.usage) for the ConcurrencyQuotas' status.
"""

import contextlib
from enum import StrEnum
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kappa.invocation.function_gauge import FunctionGauge
from kappa.invocation.function_labels import FunctionLabels
from kappa.invocation.registry import PushOutcome
from kappa.invocation.routing import FunctionKey
from kappa.quota.usage import Usage

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


class ColdStartPath(StrEnum):
    """How an invocation came to meet a fresh runtime; the ``path`` label."""

    NEW_POD = "new_pod"  # it waited for capacity: a pod started for it (or for its burst)
    # A slot was free at once on a pod that had run nothing yet: started ahead of the call
    # (the provisioned floor, or a scale-up ahead of demand). The caller paid no start.
    PROVISIONED = "provisioned"
    # It waited, and a warm pool's pod was specialised for it: no pod started on its path.
    POOL = "pool"

    @property
    def cold(self) -> bool:
        """Whether the caller waited for the runtime to start (``X-Kappa-Cold-Start: true``)."""
        return self is not ColdStartPath.PROVISIONED

    @classmethod
    def of(
        cls, *, initialised: bool, waited: bool, from_pool: bool = False
    ) -> "ColdStartPath | None":
        """The path of a call, from the agent's word and the wait; None: warm.

        The agent says whether it initialised for this call (an Init Duration) and whether
        it is a warm pool's pod.
        """
        if not initialised:
            return None
        if not waited:
            return cls.PROVISIONED
        return cls.POOL if from_pool else cls.NEW_POD


class ProbeOutcome(StrEnum):
    """What an agent said when asked whether a not-yet-Ready pod can take calls."""

    READY = "ready"  # ready, naming the Function: routed to from now on
    NOT_READY = "not_ready"  # it answered, but not that (still initialising, another Function)
    FAILED = "failed"  # no answer: not listening yet, timed out, gone


SURFACES: Final = ("invoke", "http")
DEFAULT_MAX_FUNCTIONS: Final = 500
_FUNCTION: Final = ("namespace", "function")
_MB_MS_PER_GB_S: Final = 1024 * 1000

# What Lambda bills, by Function (GatewayMetrics.bill).
_USAGE: Final = (
    ("kappa_gateway_billed_requests",
     "Invocations an agent ran (Lambda's billed requests), by Function."),
    ("kappa_gateway_billed_duration_seconds",
     "Billed duration of those invocations (whole milliseconds each), by Function."),
    ("kappa_gateway_billed_gigabyte_seconds",
     "Billed duration times the Function's memory (GB-s, 1 GB = 1024 MB), by Function."),
)  # fmt: skip


class GatewayMetrics:
    """Every collector of one gateway."""

    def __init__(self, max_functions: int = DEFAULT_MAX_FUNCTIONS) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.function = FunctionLabels(max_functions)
        # Running totals of what agents ran, per Function (reported to the operator).
        self.usage: dict[FunctionKey, Usage] = {}
        r = self.registry
        self.invocations = Counter(
            "kappa_gateway_invocations", "Invocations by Function, surface and outcome.",
            [*_FUNCTION, "surface", "outcome"], registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "kappa_gateway_invocation_duration_seconds",
            "Time from request to answer, queue wait included, by Function.",
            _FUNCTION, buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        # Read from the dispatcher's slots at scrape time, not counted up and down, so a
        # Function deleted mid-call cannot leave a series behind or bring one back at -1.
        self.concurrent = FunctionGauge(
            "kappa_gateway_concurrent_executions",
            "Invocations this gateway has running on agents, by Function.",
            self.function.peek,
        )
        r.register(self.concurrent)
        self.queued = Gauge(
            "kappa_gateway_queued_invocations", "Invocations waiting for a slot.", registry=r
        )
        self.body_bytes = Gauge(
            "kappa_gateway_request_body_bytes",
            "Bytes of request bodies held by calls being read, waiting or running.", registry=r,
        )  # fmt: skip
        self.throttles = Counter(
            "kappa_gateway_throttles", "429 answers by Function and cause.",
            [*_FUNCTION, "cause"], registry=r,
        )  # fmt: skip
        self.queue_wait = Histogram(
            "kappa_gateway_queue_wait_seconds", "Time waited for a slot by queued invocations.",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.cold_starts = Counter(
            "kappa_gateway_cold_starts",
            "Invocations that met a fresh runtime, by Function and path.",
            [*_FUNCTION, "path"], registry=r,
        )  # fmt: skip
        self.billed_requests, self.billed_duration, self.billed_gigabyte_seconds = (
            Counter(name, text, _FUNCTION, registry=r) for name, text in _USAGE
        )
        self.labelled_functions = Gauge(
            "kappa_gateway_metrics_labelled_functions",
            "Functions with their own function label (at most the cap; the rest are _other).",
            registry=r,
        )
        self.labelled_functions.set_function(lambda: self.function.labelled)
        self.agent_busy = Counter(
            "kappa_gateway_agent_busy",
            "Agents that answered 'no free slot' (another replica held it) or 'not ready'.",
            registry=r,
        )
        self.readiness_probes = Counter(
            "kappa_gateway_readiness_probes",
            "Agents of not-yet-Ready pods asked whether they can take calls, by outcome.",
            ["outcome"], registry=r,
        )  # fmt: skip
        for probe_outcome in ProbeOutcome:
            self.readiness_probes.labels(probe_outcome.value)
        self.ready_pushes = Counter(
            "kappa_gateway_agent_ready_pushes",
            "Agents' readiness pushes, by outcome (accepted: routed before the kubelet's IP).",
            ["outcome"], registry=r,
        )  # fmt: skip
        for pushed in PushOutcome:
            self.ready_pushes.labels(pushed.value)
        self.ready_pushes.labels("malformed")
        self.capacity_requests = Counter(
            "kappa_gateway_capacity_requests",
            "Requests for more capacity (a call queued for want of a slot).", registry=r,
        )  # fmt: skip
        self.autoscaler_reports = Counter(
            "kappa_gateway_autoscaler_reports",
            "Reports sent to the autoscaler, by kind (stats, poke) and outcome (ok, failed).",
            ["kind", "outcome"], registry=r,
        )  # fmt: skip
        for kind in ("stats", "poke"):
            for outcome in ("ok", "failed"):
                self.autoscaler_reports.labels(kind, outcome)

    def bill(
        self, key: FunctionKey, labels: tuple[str, str], billed_ms: int, memory_mb: int
    ) -> None:
        """Count one invocation of ``key`` an agent ran for ``billed_ms`` at ``memory_mb``."""
        self.usage[key] = self.usage.get(key, Usage()) + Usage.of(billed_ms, memory_mb)
        self.billed_requests.labels(*labels).inc()
        self.billed_duration.labels(*labels).inc(billed_ms / 1000)
        self.billed_gigabyte_seconds.labels(*labels).inc(billed_ms * memory_mb / _MB_MS_PER_GB_S)

    def forget(self, key: FunctionKey) -> None:
        """``key`` was deleted: drop the series no Function is counted in any more."""
        self.usage.pop(key, None)  # the operator counts totals that start again from zero
        labels = self.function.forget(key)
        if labels is None:
            return
        with_enums: list[tuple[Counter, list[tuple[str, ...]]]] = [
            (self.invocations, [(s, o.value) for s in SURFACES for o in Outcome]),
            (self.throttles, [(c.value,) for c in ThrottleCause]),
            (self.cold_starts, [(p.value,) for p in ColdStartPath]),
            (self.billed_requests, [()]),
            (self.billed_duration, [()]),
            (self.billed_gigabyte_seconds, [()]),
        ]
        for collector, rest in with_enums:
            for values in rest:
                _remove(collector, *labels, *values)
        _remove(self.duration, *labels)


def _remove(collector: Counter | Histogram, *values: str) -> None:
    with contextlib.suppress(KeyError):  # never counted
        collector.remove(*values)
