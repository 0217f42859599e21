"""The autoscaler's Prometheus collectors, in a registry of their own (served on /metrics).

Labels are bounded: a decision's reason (``decider.Reason``), a direction;
never a namespace or function (a cluster may hold thousands of Functions).
Per-function figures are in each Function's status (desiredReplicas, inFlight).
"""

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kappa.autoscaler.decider import Reason

_FAST_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5,
)  # fmt: skip


class AutoscalerMetrics:
    """Every collector of the autoscaler."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.decisions = Counter(
            "kappa_autoscaler_decisions", "Decisions that changed a Function's pods, by reason.",
            ["reason"], registry=r,
        )  # fmt: skip
        self.scalings = Counter(
            "kappa_autoscaler_scalings", "Target changes by direction (up, down).",
            ["direction"], registry=r,
        )  # fmt: skip
        self.tick_seconds = Histogram(
            "kappa_autoscaler_tick_seconds", "Time to decide for every Function once.",
            buckets=_FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.poke_to_create = Histogram(
            "kappa_autoscaler_poke_to_create_seconds",
            "From an invocation queued at a gateway for want of a slot to the pod-create call "
            "returning (gateway and operator clocks: one node, or NTP).",
            buckets=_FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.reports = Counter(
            "kappa_autoscaler_reports", "Gateway reports received, by kind (stats, poke).",
            ["kind"], registry=r,
        )  # fmt: skip
        self.bad_reports = Counter(
            "kappa_autoscaler_bad_reports", "Gateway reports refused as malformed.", registry=r
        )
        self.usage_totals = Counter(
            "kappa_autoscaler_usage_totals",
            "Usage totals read from gateways' stats reports (each carries only the changed ones).",
            registry=r,
        )  # fmt: skip
        self.complete_usage_asked = Counter(
            "kappa_autoscaler_complete_usage_requests",
            "Stats reports answered with a request for all of the gateway's usage totals "
            "(a gateway this replica did not know yet).",
            registry=r,
        )  # fmt: skip
        self.unauthenticated_reports = Counter(
            "kappa_autoscaler_unauthenticated_reports",
            "Reports and pokes refused: no gateway's credentials.", registry=r,
        )  # fmt: skip
        self.decision_errors = Counter(
            "kappa_autoscaler_decision_errors",
            "Functions whose decision failed in a tick (the others were decided).", registry=r,
        )  # fmt: skip
        self.gateways = Gauge(
            "kappa_autoscaler_gateways", "Gateways heard from in the last few seconds.", registry=r
        )
        self.functions = Gauge(
            "kappa_autoscaler_functions", "Functions the autoscaler sizes.", registry=r
        )
        self.target_pods = Gauge(
            "kappa_autoscaler_target_pods", "Pods wanted, summed over every Function.", registry=r
        )
        self.panicking = Gauge(
            "kappa_autoscaler_panicking_functions", "Functions in panic mode.", registry=r
        )
        for reason in Reason:
            self.decisions.labels(reason.value)
        for direction in ("up", "down"):
            self.scalings.labels(direction)
        for kind in ("stats", "poke"):
            self.reports.labels(kind)
