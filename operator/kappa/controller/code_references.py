"""Which Functions take their code from which ConfigMap (pure).

A ConfigMap named by ``spec.code.configMap`` is watched, not read on every pass: when it
changes, the Functions that name it get a pass at once and roll to its new content.
"""

from kappa.controller.memory import Key


class CodeReferences:
    """Function → the ConfigMap its code names, and the reverse."""

    def __init__(self) -> None:
        self._of: dict[Key, Key] = {}
        self._by: dict[Key, set[Key]] = {}

    def name(self, function: Key, configmap: str | None) -> None:
        """``function`` now names ``configmap`` in its namespace (None: no ConfigMap)."""
        self.forget(function)
        if configmap is not None:
            key = (function[0], configmap)
            self._of[function] = key
            self._by.setdefault(key, set()).add(function)

    def forget(self, function: Key) -> None:
        """``function`` is gone, or names no ConfigMap any more."""
        old = self._of.pop(function, None)
        if old is not None:
            named = self._by[old]
            named.discard(function)
            if not named:
                del self._by[old]

    def functions(self, configmap: Key) -> frozenset[Key]:
        """The Functions whose code is the ConfigMap ``configmap`` (namespace, name)."""
        return frozenset(self._by.get(configmap, ()))
