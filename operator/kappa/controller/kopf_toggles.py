"""kopf's gate for index handlers, without its quadratic wake-ups at start.

kopf runs no handler but index handlers until every object of every kind with an index
handler has been listed and indexed. It keeps that as a set of toggles (one per kind and
one per object in the listing) under one ``asyncio.Condition``, and every object's worker
waits on it (``wait_for(True)``). Adding or dropping a toggle wakes *every* waiter, and
each takes the lock and looks again: for N objects listed at start, about N toggles made
and dropped, each waking up to N workers, so N² wake-ups. At 10,000 Functions (and as
many pods and ConfigMaps) a replica that starts, a standby or a new leader after a
failover, spent minutes of CPU there (a profile shows ``ToggleSet.make_toggle`` ->
``Condition.notify_all``) before it could answer anything.

``QuietToggleSet`` wakes the waiters only when the set's state (``all``/``any`` of its
toggles) changes, which is all they wait for, so a start costs O(N). ``install`` puts it
in place of kopf's class before kopf builds its sets. A toggle's own ``turn_to`` still
wakes everyone, as before (kopf turns only its per-kind toggles, a handful).

kopf exposes no way to pass its sets; the class is replaced in its private module, which
the pinned version (constraints.txt) has.
"""

from collections.abc import Iterable

from kopf._cogs.aiokits import aiotoggles


class QuietToggleSet(aiotoggles.ToggleSet):
    """kopf's ``ToggleSet``; waiters are woken only when ``is_on()`` changes."""

    async def make_toggle(  # kopf's signature, positional flag and all
        self,
        __val: bool = False,  # noqa: FBT001, FBT002
        *,
        name: str | None = None,
    ) -> aiotoggles.Toggle:
        """Add a toggle; wake the waiters if that changed the set's state."""
        toggle = aiotoggles.Toggle(__val, name=name, condition=self._condition)
        async with self._condition:
            before = self.is_on()
            self._toggles.add(toggle)
            if self.is_on() != before:
                self._condition.notify_all()
        return toggle

    async def drop_toggle(self, toggle: aiotoggles.Toggle) -> None:
        """Remove a toggle; wake the waiters if that changed the set's state."""
        await self.drop_toggles([toggle])

    async def drop_toggles(self, toggles: Iterable[aiotoggles.Toggle]) -> None:
        """Remove toggles; wake the waiters if that changed the set's state."""
        async with self._condition:
            before = self.is_on()
            self._toggles.difference_update(toggles)
            if self.is_on() != before:
                self._condition.notify_all()


def install() -> None:
    """Make kopf build ``QuietToggleSet``s (call before ``kopf.operator``)."""
    aiotoggles.ToggleSet = QuietToggleSet  # type: ignore[misc]
