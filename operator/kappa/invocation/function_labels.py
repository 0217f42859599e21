"""The ``namespace`` and ``function`` labels of per-function metrics, with their number capped.

A cluster may hold thousands of Functions; a series per Function for each of a
dozen metrics would swamp Prometheus. So the first ``cap`` Functions a process
counts get their own ``function`` label, and any Function past the cap is counted
under ``function="_other"`` in its namespace (``_other`` cannot be a Function's
name: Kubernetes names hold no underscore). The namespace label is always kept,
so sums per namespace (usage, showback) stay exact at any size.

    key seen before?  ── yes, labelled ──────────► (namespace, name)
      │               ── yes, overflowed ────────► (namespace, "_other")   sticky: its
      │ no                                                                 counters never jump
    fewer than cap labelled? ── yes: labelled ───► (namespace, name)
      │ no
      └─ overflowed ─────────────────────────────► (namespace, "_other")

``forget(key)`` (the Function was deleted) frees its place for the next new
Function and says which label set to drop, so deleted Functions neither keep
series nor hold places. ``cap`` 0 turns per-function labels off: every Function
is ``_other`` of its namespace. Only keys of Functions that exist are given, so
names a caller makes up never become labels. The number of series is bounded
by ``cap`` plus the namespaces that have Functions.
"""

from typing import Final

from kappa.invocation.routing import FunctionKey

OVERFLOW: Final = "_other"
# The labels of what no Function can be charged with (an unknown FunctionName, a
# request refused before its Function was known).
UNATTRIBUTED: Final = ("", "")


class FunctionLabels:
    """Which (namespace, function) label values each Function's series carry."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._labelled: set[FunctionKey] = set()
        self._overflowed: set[FunctionKey] = set()
        self._overflow_per_namespace: dict[str, int] = {}

    def __call__(self, key: FunctionKey) -> tuple[str, str]:
        """The label values of ``key`` (an existing Function)."""
        if key in self._labelled:
            return key
        namespace = key[0]
        if key not in self._overflowed:
            if len(self._labelled) < self.cap:
                self._labelled.add(key)
                return key
            self._overflowed.add(key)
            self._overflow_per_namespace[namespace] = (
                self._overflow_per_namespace.get(namespace, 0) + 1
            )
        return (namespace, OVERFLOW)

    def peek(self, key: FunctionKey) -> tuple[str, str]:
        """The label values ``key`` was given, without giving any: ``_other`` if none."""
        return key if key in self._labelled else (key[0], OVERFLOW)

    def forget(self, key: FunctionKey) -> tuple[str, str] | None:
        """Drop ``key``; the label values no Function uses any more, to remove, or None."""
        if key in self._labelled:
            self._labelled.discard(key)
            return key
        if key in self._overflowed:
            self._overflowed.discard(key)
            namespace = key[0]
            left = self._overflow_per_namespace[namespace] - 1
            if left:
                self._overflow_per_namespace[namespace] = left
                return None
            del self._overflow_per_namespace[namespace]
            return (namespace, OVERFLOW)
        return None

    @property
    def labelled(self) -> int:
        """How many Functions have their own label."""
        return len(self._labelled)
