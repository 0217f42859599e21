"""A per-function gauge read at scrape time from a snapshot, under the capped labels.

For figures that are a state, not a count (calls running, events queued, the age of
the oldest): read when Prometheus scrapes, so a Function whose figure is gone (no
more calls, queue drained, Function deleted) leaves no series behind. Functions that
share a label set (``_other`` of a namespace) are folded with ``fold``: ``sum`` for
amounts, ``max`` for ages. ``labels`` gives a key's label values
(``kappa.invocation.function_labels``): a Function deleted since the snapshot was
taken must not be given a place again.
"""

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric

from kappa.invocation.routing import FunctionKey

Snapshot = Callable[[], Mapping[FunctionKey, float]]
Labeller = Callable[[FunctionKey], tuple[str, str]]
LABELS = ("namespace", "function")


class FunctionGauge:
    """A prometheus_client collector of one gauge with ``namespace`` and ``function``."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: Labeller,
        *,
        fold: Callable[[float, float], float] = float.__add__,
        source: Snapshot = dict,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self._labels = labels
        self._fold = fold
        self.source = source

    def describe(self) -> Iterator[Metric]:
        """The family, without samples (for the registry's name check)."""
        yield GaugeMetricFamily(self.name, self.documentation, labels=LABELS)

    def collect(self) -> Iterator[Metric]:
        """The family with a sample per label set in the current snapshot."""
        family = GaugeMetricFamily(self.name, self.documentation, labels=LABELS)
        folded: dict[tuple[str, str], float] = {}
        for key, value in self.source().items():
            labels = self._labels(key)
            held = folded.get(labels)
            folded[labels] = float(value) if held is None else self._fold(held, float(value))
        for labels, value in sorted(folded.items()):
            family.add_metric(list(labels), value)
        yield family
