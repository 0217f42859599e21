"""The Function controller's operator-wide state: the API, settings, autoscaler, memory."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kappa.api.meta import ConditionState
from kappa.autoscaler.loop import Autoscaler
from kappa.controller.desired import DesiredFunction
from kappa.controller.memory import FunctionMemories, Key
from kappa.controller.passes import Passes
from kappa.controller.references import References
from kappa.k8s.objects import Objects
from kappa.settings import Settings


class PoolClaims(Protocol):
    """Takes warm pool pods for a Function (kappa.controller.claims.Claims)."""

    def conditions(self, function: Mapping[str, Any]) -> list[ConditionState]:
        """The Function's ``PoolEligible``, where its namespace has pools."""
        ...

    async def claim(
        self, function: Mapping[str, Any], desired: DesiredFunction, count: int
    ) -> tuple[str, list[str]]:
        """Up to ``count`` pool pods made the Function's: (the pool, their names)."""
        ...


@dataclass
class State:
    """Operator-wide state: the API, the settings, the autoscaler and each Function's memory."""

    objects: Objects
    settings: Settings
    memory: FunctionMemories = field(default_factory=FunctionMemories)
    # When each Function's pass runs (no task per Function between passes).
    passes: Passes = field(default_factory=Passes)
    # The ConfigMap each Function's code names; the Functions its destinations name.
    code_references: References = field(default_factory=References)
    destination_references: References = field(default_factory=References)
    # The Layers each Function names; the ConfigMap each Layer's code is in.
    layer_references: References = field(default_factory=References)
    layer_configmaps: References = field(default_factory=References)
    autoscaler: Autoscaler | None = None
    # Publishes a version of the Function (namespace, name): the number and whether it is
    # new (kappa.versions.publish, in a thread); None: spec.publish does nothing (tests).
    publisher: Callable[[str, str], Awaitable[tuple[int, bool]]] | None = None
    # Takes pods from the namespace's warm pools before making new ones; None: no pools.
    claims: PoolClaims | None = None

    def __post_init__(self) -> None:
        if self.autoscaler is None:
            self.autoscaler = Autoscaler(
                concurrency_limit=self.settings.concurrency_limit,
                burst_limit=self.settings.burst_limit,
            )
        self.autoscaler.wake = self.wake
        self.memory.on_wake = self.passes.wake

    @property
    def scaler(self) -> Autoscaler:
        """The autoscaler (always set after construction)."""
        assert self.autoscaler is not None  # noqa: S101 - set in __post_init__
        return self.autoscaler

    def wake(self, key: Key) -> None:
        """Make the Function's reconciler pass now (a Function not known is ignored)."""
        self.memory.wake(key)

    def wake_namespace(self, namespace: str) -> None:
        """Make every known Function of ``namespace`` pass now (its warm pools changed)."""
        for key in [k for k in self.memory if k[0] == namespace]:
            self.memory.wake(key)
