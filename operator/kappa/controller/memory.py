"""What the Function controller remembers of each Function between passes: one record each.

All memory of one Function lives in one :class:`FunctionMemory`, kept by a
:class:`FunctionMemories` store that creates it on first :meth:`~FunctionMemories.recall`
and drops all of it at once with :meth:`~FunctionMemories.forget` (as kopf's
inventory keeps an object's memory in one record). Nothing here talks to the API.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Key = tuple[str, str]


@dataclass(frozen=True)
class ExpectedPod:
    """A pod created but not yet shown by the watch."""

    revision: str
    created: datetime
    since: datetime  # when it was created, or last found to exist
    provisioned: bool


@dataclass(frozen=True)
class WrittenStatus:
    """A status this operator wrote that the watch may not have shown yet.

    ``over``: the resourceVersion of the Function the pass that wrote it read; while the
    stored Function is still that one, its status is stale and this is what it says now.
    """

    over: str | None
    status: Mapping[str, Any]


@dataclass
class FunctionMemory:
    """Everything the controller keeps of one Function.

    - ``body``: the Function as last seen (None: not seen, or deleted); when its passes
      run is :class:`kappa.controller.passes.Passes`'s, not this record's;
    - ``expected``: pods created but not shown by the watch yet, by name;
    - ``seen_ready``: pods seen Ready once (a later end of theirs is no init error);
    - ``reported_failures``: failed pods already posted as an Event;
    - ``quota_hold``: why its ConcurrencyQuota holds it (no new pods), or None;
    - ``failures``: consecutive failed passes (the retry backoff's exponent);
    - ``code_loaded``: the generation whose code an environment loaded (CodeReady True),
      known at once, before the status written with it comes back on the watch;
    - ``published``: the generation ``spec.publish`` last published a version of;
    - ``publish_failure``: why its last try to publish failed (None: it did not), so that
      a refusal repeated at every retry is one Event; ``publish_failures``: how many in a
      row (the retry's back-off);
    - ``written``: the status last written, until the watch shows the Function again
      (a pass woken by its pod's creation reads the body of before the first status).
    """

    body: dict[str, Any] | None = None
    expected: dict[str, ExpectedPod] = field(default_factory=dict)
    seen_ready: set[str] = field(default_factory=set)
    reported_failures: set[str] = field(default_factory=set)
    quota_hold: str | None = None
    failures: int = 0
    code_loaded: int | None = None
    published: int | None = None
    publish_failure: str | None = None
    publish_failures: int = 0
    written: WrittenStatus | None = None

    def saw(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """Keep ``body``, the Function as the watch shows it now; the one kept before.

        A status written over an older Function is dropped once the watch shows a newer
        one (as :meth:`current` would at the next pass): a Function at rest passes
        rarely, and would otherwise keep a copy of its status until then.
        """
        before, self.body = self.body, body
        written = self.written
        if written is not None and _version(body) != written.over:
            self.written = None
        return before

    def current(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """``body`` with the status last written, when the watch has not shown it yet."""
        written = self.written
        if written is None:
            return body
        if _version(body) != written.over:
            self.written = None  # a newer Function came: its status is the one to read
            return body
        return {**body, "status": {**(body.get("status") or {}), **written.status}}


def _version(body: Mapping[str, Any]) -> Any:
    return (body.get("metadata") or {}).get("resourceVersion")


class FunctionMemories:
    """The records of every Function the controller knows, by (namespace, name)."""

    def __init__(self) -> None:
        self._records: dict[Key, FunctionMemory] = {}
        # What makes a known Function pass now (kappa.controller.passes.Passes.wake).
        self.on_wake: Callable[[Key], None] = lambda _key: None

    def recall(self, key: Key) -> FunctionMemory:
        """The record of ``key``, created empty the first time."""
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = FunctionMemory()
        return record

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is a Function seen and not deleted."""
        record = self._records.get(key)  # type: ignore[call-overload]
        return record is not None and record.body is not None

    def get(self, key: Key) -> FunctionMemory | None:
        """The record of ``key`` if there is one (never creates it)."""
        return self._records.get(key)

    def forget(self, key: Key) -> FunctionMemory | None:
        """Drop everything remembered of ``key``; the record that was, if any."""
        return self._records.pop(key, None)

    def body(self, key: Key) -> dict[str, Any] | None:
        """The Function last seen under ``key``, or None."""
        record = self._records.get(key)
        return None if record is None else record.body

    def holds(self) -> Mapping[Key, str]:
        """The quota holds, by key."""
        return {k: r.quota_hold for k, r in self._records.items() if r.quota_hold is not None}

    def hold(self, key: Key, message: str | None) -> None:
        """Set (a message) or release (None) the quota hold of ``key``."""
        if message is not None:
            self.recall(key).quota_hold = message
        elif (record := self._records.get(key)) is not None:
            record.quota_hold = None

    def wake(self, key: Key) -> bool:
        """Make the reconciler of a Function that is known pass now; whether it was known."""
        record = self._records.get(key)
        if record is None or record.body is None:
            return False
        self.on_wake(key)
        return True

    def __iter__(self) -> Iterator[Key]:
        return iter(self._records)
