"""kopf's index gate with ``QuietToggleSet``: the same answers as kopf's own set, woken
only when its state changes (kopf's wakes every waiter at every toggle: N² at start)."""

import asyncio

import pytest
from kopf._cogs.aiokits import aiotoggles

from kappa.controller import kopf_toggles
from kappa.controller.kopf_toggles import QuietToggleSet

KOPF_TOGGLE_SET = aiotoggles.ToggleSet


async def listing(kind: type[aiotoggles.ToggleSet], objects: int) -> tuple[int, list[int]]:
    """kopf's start, as its queueing makes it: a toggle per kind, one per object listed
    (each object's worker then waits for the gate), the kind's dropped at the end of the
    listing, the objects' as each is indexed. The wake-ups, and when each waiter passed."""
    gate = kind(all)
    wakeups = 0
    notify_all = gate._condition.notify_all  # noqa: SLF001

    def counted() -> None:
        nonlocal wakeups
        wakeups += len(gate._condition._waiters)  # type: ignore[attr-defined]  # noqa: SLF001
        notify_all()

    gate._condition.notify_all = counted  # type: ignore[method-assign]  # noqa: SLF001
    kind_toggle = await gate.make_toggle(name="functions")
    passed: list[int] = []
    step = 0

    async def worker() -> None:
        await gate.wait_for(True)  # noqa: FBT003 - kopf's API
        passed.append(step)

    workers = []
    toggles = []
    for _ in range(objects):
        toggles.append(await gate.make_toggle(name="object"))
        workers.append(asyncio.create_task(worker()))
        await asyncio.sleep(0)
    for toggle in toggles:  # each object indexed
        await gate.drop_toggle(toggle)
        await asyncio.sleep(0)
    assert passed == []  # the listing is not over: nobody passes
    step = 1
    await gate.drop_toggle(kind_toggle)  # the listing is over
    await asyncio.wait_for(asyncio.gather(*workers), 10)
    return wakeups, passed


def test_the_gate_opens_at_the_same_moment_as_kopfs() -> None:
    for kind in (KOPF_TOGGLE_SET, QuietToggleSet):
        _, passed = asyncio.run(listing(kind, 50))
        assert passed == [1] * 50, kind


def test_waiters_are_woken_only_when_the_gate_opens() -> None:
    theirs, _ = asyncio.run(listing(KOPF_TOGGLE_SET, 300))
    ours, _ = asyncio.run(listing(QuietToggleSet, 300))
    assert theirs > 300 * 300 // 2  # every waiter at every toggle
    assert ours == 300  # each waiter once, when it opens


def test_a_toggle_turned_still_wakes_and_any_sets_follow_their_state() -> None:
    async def run() -> None:
        paused = QuietToggleSet(any)
        first = await paused.make_toggle(False)  # noqa: FBT003
        second = await paused.make_toggle(False)  # noqa: FBT003
        assert paused.is_off()
        waiting = asyncio.create_task(paused.wait_for(True))  # noqa: FBT003
        await second.turn_to(True)  # noqa: FBT003
        await asyncio.wait_for(waiting, 5)
        waiting = asyncio.create_task(paused.wait_for(False))  # noqa: FBT003
        await paused.drop_toggle(second)
        await asyncio.wait_for(waiting, 5)
        assert paused.is_off()
        assert first in paused

    asyncio.run(run())


def test_install_makes_kopf_build_quiet_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiotoggles, "ToggleSet", KOPF_TOGGLE_SET)
    kopf_toggles.install()
    from kopf._core.reactor import orchestration  # noqa: PLC0415 - what kopf calls at start

    assert orchestration.aiotoggles.ToggleSet is QuietToggleSet
