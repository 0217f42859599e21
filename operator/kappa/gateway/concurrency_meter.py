"""This gateway's concurrency per function over each reporting period: what the autoscaler reads.

The dispatcher tells the meter every change of a function's in-flight and
queued counts; at the end of a period (a second) ``snapshot`` gives, per
function, the time-weighted average in flight (so a call of 50 ms in a
second counts 0.05, not 0 or 1 depending on when one looks), the peak, and
what is queued now; then a new period starts. Functions with nothing in
flight, queued or run in the period are left out: the autoscaler reads a
missing function as idle at this gateway.

Pure: callers pass ``now`` (monotonic seconds).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from kappa.autoscaler.stats import Sample
from kappa.invocation.routing import FunctionKey


@dataclass(slots=True)
class _Track:
    since: float  # last change
    in_flight: int = 0
    queued: int = 0
    area: float = 0.0  # in-flight x seconds since the period began
    peak: int = 0


@dataclass
class ConcurrencyMeter:
    """In-flight and queued counts per function, integrated over the current period."""

    _start: float | None = None
    _tracks: dict[FunctionKey, _Track] = field(default_factory=dict)

    def set(self, key: FunctionKey, *, in_flight: int, queued: int, now: float) -> None:
        """``key`` has ``in_flight`` running and ``queued`` waiting from ``now`` on."""
        if self._start is None:
            self._start = now
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(since=now)
        track.area += track.in_flight * max(0.0, now - track.since)
        track.since = now
        track.in_flight = in_flight
        track.queued = queued
        track.peak = max(track.peak, in_flight)

    def current(self, key: FunctionKey) -> Sample:
        """``key``'s counts right now (for a poke)."""
        track = self._tracks.get(key)
        if track is None:
            return Sample()
        return Sample(track.in_flight, track.in_flight, track.queued)

    def snapshot(
        self, now: float, pods: Mapping[FunctionKey, Mapping[str, int]] | None = None
    ) -> dict[FunctionKey, Sample]:
        """The period's figures per function, and a new period from ``now``."""
        start = now if self._start is None else self._start
        period = now - start
        samples: dict[FunctionKey, Sample] = {}
        for key, track in list(self._tracks.items()):
            area = track.area + track.in_flight * max(0.0, now - track.since)
            average = area / period if period > 0 else float(track.in_flight)
            if track.peak or track.in_flight or track.queued or area > 0:
                samples[key] = Sample(
                    in_flight=average,
                    peak=max(track.peak, track.in_flight),
                    queued=track.queued,
                    pods=dict((pods or {}).get(key, {})),
                )
            if track.in_flight == 0 and track.queued == 0:
                del self._tracks[key]
            else:
                track.area, track.since, track.peak = 0.0, now, track.in_flight
        self._start = now
        return samples
