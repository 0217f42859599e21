"""Usage as Lambda bills it (requests and GB-seconds), summed over the gateways per Function.

Each gateway counts, per Function, since it started: the invocations an agent
ran, their billed duration (whole milliseconds each, at least 1) and that
duration times the Function's memory (MB-milliseconds, integers, so sums are
exact). It sends those running totals with its stats every second. The ledger
keeps each gateway's last totals and adds only what grew since, so a report lost
on the way loses nothing (the next one carries it) and a report sent twice counts
once.

A gateway sends only the totals that changed since the ledger last took them
(:func:`changed_totals`), so ten gateways that have each run ten thousand
Functions cost the ledger what they ran in the last second, not ten thousand
entries each. Such a report is partial: the ledger takes it only from a gateway it
already knows. A gateway it does not know (its first report, or the ledger's after
a new leader or ``reset``) must send all of its totals once (``complete``), which is
its baseline; :meth:`UsageLedger.record` says when it wants that.

What the ledger counts is usage since ``since`` (when the operator began to
lead, ``reset``): it lives in the operator's memory. A gateway that started
before ``since`` is taken at its first report as a baseline (what it ran before
is not counted); a gateway that started after counts from zero. A gateway whose totals
go down for a Function (it forgot the Function, deleted and created again) counts
its new totals from zero. A gateway not heard from for ``BASELINE_SECONDS`` is
forgotten; were it to come back with the same id, its totals since ``since``
would count again (a gateway id is fresh per gateway process).

Pure: the times are passed in (seconds since the epoch).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

Key = tuple[str, str]  # (namespace, name)
MB_MS_PER_GB_S: Final = 1024 * 1000
BASELINE_SECONDS: Final = 3600.0


@dataclass(frozen=True, slots=True)
class Usage:
    """Requests, billed milliseconds and MB-milliseconds, counted or summed."""

    requests: int = 0
    billed_ms: int = 0
    mb_ms: int = 0

    @classmethod
    def of(cls, billed_ms: int, memory_mb: int) -> "Usage":
        """One invocation billed ``billed_ms`` at ``memory_mb``."""
        return cls(1, billed_ms, billed_ms * memory_mb)

    @property
    def gb_seconds(self) -> float:
        """Billed duration times memory, in GB-seconds (1 GB = 1024 MB, as Lambda counts)."""
        return self.mb_ms / MB_MS_PER_GB_S

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.requests + other.requests,
            self.billed_ms + other.billed_ms,
            self.mb_ms + other.mb_ms,
        )

    def growth_from(self, before: "Usage") -> "Usage":
        """What these running totals added to ``before``; all of them if any went down."""
        if (
            self.requests < before.requests
            or self.billed_ms < before.billed_ms
            or self.mb_ms < before.mb_ms
        ):
            return self
        return Usage(
            self.requests - before.requests,
            self.billed_ms - before.billed_ms,
            self.mb_ms - before.mb_ms,
        )


@dataclass(slots=True)
class _Gateway:
    at: float
    totals: dict[Key, Usage]


@dataclass
class UsageLedger:
    """Usage per Function since ``since``, from the gateways' running totals."""

    since: float
    baseline_seconds: float = BASELINE_SECONDS
    _gateways: dict[str, _Gateway] = field(default_factory=dict)
    _namespaces: dict[str, dict[str, Usage]] = field(default_factory=dict)

    def record(
        self,
        gateway: str,
        started: float | None,
        totals: Mapping[Key, Usage],
        now: float,
        *,
        complete: bool = True,
    ) -> bool:
        """``gateway`` (running since ``started``; None: unknown) reports its ``totals``.

        ``complete``: ``totals`` are all of the gateway's; otherwise only those that
        changed. False: a partial report from a gateway this ledger does not know, not
        taken; the gateway must send all of its totals.
        """
        known = self._gateways.get(gateway)
        if known is None:
            if not complete:
                return False
            fresh = started is not None and started >= self.since
            known = _Gateway(now, {} if fresh else dict(totals))
            self._gateways[gateway] = known
        known.at = max(known.at, now)
        for key, usage in totals.items():
            grown = usage.growth_from(known.totals.get(key, Usage()))
            known.totals[key] = usage
            if grown != Usage():
                functions = self._namespaces.setdefault(key[0], {})
                functions[key[1]] = functions.get(key[1], Usage()) + grown
        return True

    def reset(self, since: float) -> None:
        """Count from ``since`` again, forgetting every gateway and every total."""
        self.since = since
        self._gateways.clear()
        self._namespaces.clear()

    def expire(self, now: float) -> list[str]:
        """Forget gateways silent for ``baseline_seconds``; their ids."""
        gone = [g for g, seen in self._gateways.items() if now - seen.at > self.baseline_seconds]
        for gateway in gone:
            del self._gateways[gateway]
        return gone

    def namespace(self, namespace: str) -> dict[str, Usage]:
        """Usage of each Function of ``namespace`` that has some, by name (deleted ones too)."""
        return dict(self._namespaces.get(namespace, {}))


def changed_totals(totals: Mapping[Key, Usage], taken: Mapping[Key, Usage]) -> dict[Key, Usage]:
    """What a report must carry: the ``totals`` not as ``taken`` (the ledger's copy of them).

    A Function taken but no longer in ``totals`` (the gateway forgot it) goes as zeros, so
    the ledger counts it from zero should it run again.
    """
    changed = {key: usage for key, usage in totals.items() if taken.get(key) != usage}
    changed.update((key, Usage()) for key in taken.keys() - totals.keys())
    return changed
