"""Prometheus collectors of durable executions, in the gateway's registry.

Every label is a bounded enum (an execution status, an invocation outcome, a timer kind):
no Function, execution or operation name is a label, so the series stay few whatever
runs. Each replica counts what it did; sum them over replicas.
"""

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from kappa.durable.execution import TimerKind
from kappa.durable.model import ExecutionStatus

INVOCATION_OUTCOMES: Final = (
    "succeeded",
    "failed",
    "pending",
    "function_error",
    "throttled",
    "lost",
)
_LATENESS_BUCKETS: Final = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


class DurableMetrics:
    """Every collector of one gateway's durable runner."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.started = Counter(
            "kappa_durable_executions_started",
            "Durable executions started (an Invoke of a durable Function).",
            registry=r,
        )
        self.ended = Counter(
            "kappa_durable_executions_ended",
            "Durable executions ended, by final status.",
            ["status"],
            registry=r,
        )
        self.invocations = Counter(
            "kappa_durable_invocations",
            "Invocations of durable executions, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.timers_armed = Counter(
            "kappa_durable_timers_armed",
            "Timers and wakes stored on the timer stream, by kind.",
            ["kind"],
            registry=r,
        )
        self.timers_fired = Counter(
            "kappa_durable_timers_fired",
            "Due timers and wakes handled, by kind.",
            ["kind"],
            registry=r,
        )
        self.lateness = Histogram(
            "kappa_durable_timer_lateness_seconds",
            "How long after its due time a timer or wake was handled.",
            buckets=_LATENESS_BUCKETS,
            registry=r,
        )
        # Every series exists from the start (a dashboard's rate() sees the first one).
        for status in ExecutionStatus:
            if status is not ExecutionStatus.RUNNING:
                self.ended.labels(status.value)
        for outcome in INVOCATION_OUTCOMES:
            self.invocations.labels(outcome)
        for kind in (*(k.value for k in TimerKind), "wake"):
            self.timers_armed.labels(kind)
            self.timers_fired.labels(kind)
