"""The gateways' concurrency reports, summed per function; a gateway that falls silent ages out.

Every gateway replica sends, each second, what it ran per function over that
second (time-weighted average and peak of in-flight invocations, queued now,
in-flight per pod) and, at once, a poke when an invocation waits for a slot.
Each report replaces that gateway's previous one; a function missing from it
has nothing in flight there. A gateway not heard from for ``max_age`` seconds
(stopped, partitioned) counts for nothing, so a dead replica cannot hold pods
up. Pokes add to the reporting gateway's figures until its next report.

Pure: the times are passed in (seconds, any epoch).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

Key = tuple[str, str]  # (namespace, name)
MAX_AGE_SECONDS: Final = 3.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One function's figures from one gateway."""

    in_flight: float = 0.0  # time-weighted average over the reporting period
    peak: int = 0  # most in flight at once during the period
    queued: int = 0  # waiting for a slot at the end of the period
    pods: Mapping[str, int] = field(default_factory=dict)  # in flight per pod, at the end

    @property
    def average(self) -> float:
        """Concurrency over the period: running plus waiting."""
        return self.in_flight + self.queued

    @property
    def now(self) -> int:
        """Concurrency now, at its peak: what needs a slot."""
        return self.peak + self.queued


@dataclass(slots=True)
class _Report:
    at: float
    functions: dict[Key, Sample]
    address: str | None = None  # where it takes agents' readiness pushes (host:port)


MAX_READY_ADDRESSES: Final = 16


@dataclass
class StatsBoard:
    """The latest report of every gateway."""

    max_age: float = MAX_AGE_SECONDS
    _reports: dict[str, _Report] = field(default_factory=dict)

    def report(
        self,
        gateway: str,
        functions: Mapping[Key, Sample],
        now: float,
        address: str | None = None,
    ) -> None:
        """Replace ``gateway``'s figures with ``functions`` (and where it takes pushes)."""
        self._reports[gateway] = _Report(now, dict(functions), address)

    def poke(
        self, gateway: str, key: Key, sample: Sample, now: float, address: str | None = None
    ) -> None:
        """An invocation of ``key`` waits at ``gateway``.

        That gateway's figures for ``key`` are at least ``sample``'s until its next report.
        """
        report = self._reports.setdefault(gateway, _Report(now, {}))
        report.at = max(report.at, now)
        report.address = address or report.address
        before = report.functions.get(key, Sample())
        report.functions[key] = Sample(
            in_flight=max(before.in_flight, sample.in_flight),
            peak=max(before.peak, sample.peak),
            queued=max(before.queued, sample.queued),
            pods=before.pods or sample.pods,
        )

    def expire(self, now: float) -> list[str]:
        """Forget gateways silent for ``max_age``; their names."""
        gone = [g for g, r in self._reports.items() if now - r.at > self.max_age]
        for gateway in gone:
            del self._reports[gateway]
        return gone

    @property
    def gateways(self) -> int:
        """Gateways heard from within ``max_age`` (after the last ``expire``)."""
        return len(self._reports)

    def ready_addresses(self) -> tuple[str, ...]:
        """Where the gateways heard from take agents' readiness pushes (sorted, bounded)."""
        found = sorted({r.address for r in self._reports.values() if r.address})
        return tuple(found[:MAX_READY_ADDRESSES])

    def keys(self) -> set[Key]:
        """Functions some gateway reported."""
        return {key for report in self._reports.values() for key in report.functions}

    def total(self, key: Key) -> Sample:
        """``key``'s figures summed over the gateways."""
        samples = [r.functions[key] for r in self._reports.values() if key in r.functions]
        if not samples:
            return Sample()
        return Sample(
            in_flight=sum(s.in_flight for s in samples),
            peak=sum(s.peak for s in samples),
            queued=sum(s.queued for s in samples),
            pods=_sum_pods(s.pods for s in samples),
        )


def _sum_pods(maps: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for pods in maps:
        for pod, count in pods.items():
            total[pod] = total.get(pod, 0) + count
    return total
