"""Which Functions name which objects, looked up backwards (pure).

Two uses, each an instance on the operator's state: the ConfigMap a Function's code
names (watched, not read on every pass: an edit wakes the Functions that name it and
they roll), and the Functions a Function's async destinations name (a Function created
or deleted wakes those that send to it, so their DestinationsReady follows). Kept as
Functions come, change and go, so neither needs a scan of every Function.
"""

from collections.abc import Iterable

from kappa.controller.memory import Key


class References:
    """Function → the objects (namespace, name) it names, and the reverse."""

    def __init__(self) -> None:
        self._of: dict[Key, frozenset[Key]] = {}
        self._by: dict[Key, set[Key]] = {}

    def name(self, function: Key, targets: Iterable[Key]) -> None:
        """``function`` now names ``targets`` (and nothing else)."""
        self.forget(function)
        named = frozenset(targets)
        if named:
            self._of[function] = named
            for target in named:
                self._by.setdefault(target, set()).add(function)

    def forget(self, function: Key) -> None:
        """``function`` is gone, or names nothing any more."""
        for target in self._of.pop(function, frozenset()):
            referrers = self._by[target]
            referrers.discard(function)
            if not referrers:
                del self._by[target]

    def referrers(self, target: Key) -> frozenset[Key]:
        """The Functions that name ``target``."""
        return frozenset(self._by.get(target, ()))
