"""Bytes the operator keeps per watched object, before and after trimming it.

Reads a `kubectl get ... -o json` list on stdin (pods labelled
kappa.dev/component=function, or Functions) and prints, per object, the memory of a
deep copy of the whole object (what the controller used to keep) and of what it keeps
now (`kept_pod`, `kept_function`), measured with tracemalloc:

    kubectl get pods -A -l kappa.dev/component=function -o json | python bench/kept_objects.py pods
    kubectl get functions -A -o json | python bench/kept_objects.py functions

and, with no input, what else the operator holds per watched object or Function, before
and after `make bench-operator-memory`'s cuts, side by side:

    python bench/kept_objects.py structures

- kopf's record of an object (``ResourceMemory``), which it no longer keeps for the kinds
  handled by event and index handlers only (kappa.controller.kopf_memories);
- an idle Function's reconciler: a task waiting on its wake-up Event with a timeout (as
  each Function had), against the timer an idle Function holds now
  (kappa.controller.passes).
"""

import asyncio
import contextlib
import copy
import json
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

from kappa.controller.observed import kept_function, kept_pod


def bytes_each(items: list[dict[str, Any]], make: Callable[[dict[str, Any]], Any]) -> float:
    each = iter(items)
    return traced(lambda: make(next(each)), len(items))


def traced(make: Callable[[], Any], count: int = 10_000) -> float:
    """Bytes each of ``count`` objects made by ``make`` hold (tracemalloc)."""
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = [make() for _ in range(count)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del kept
    return size / count


async def _idle(count: int = 10_000) -> tuple[float, float]:
    """Bytes per idle Function: a reconciler task waiting (wait_for on an Event), a timer."""

    async def reconciler(wakeup: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=30)

    tasks: list[asyncio.Task[None]] = []

    def task() -> asyncio.Task[None]:
        made = asyncio.create_task(reconciler(asyncio.Event()))
        tasks.append(made)
        return made

    loop = asyncio.get_running_loop()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(count):
        task()
    await asyncio.sleep(0.1)  # each has started and waits in wait_for
    after = tracemalloc.take_snapshot()
    tasks_bytes = sum(s.size_diff for s in after.compare_to(before, "filename")) / count
    for made in tasks:
        made.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
    before = tracemalloc.take_snapshot()
    timers = [loop.call_later(30, print) for _ in range(count)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    timer_bytes = sum(s.size_diff for s in after.compare_to(before, "filename")) / count
    for timer in timers:
        timer.cancel()
    return tasks_bytes, timer_bytes


def structures() -> int:
    from kopf._core.reactor.inventory import ResourceMemory  # noqa: PLC0415 - this mode only

    async def records() -> float:  # a record reads the loop's clock when made
        return traced(ResourceMemory)

    record = asyncio.run(records())
    print(f"kopf's record of an object: {record:,.0f} bytes (kept for every function pod, "
          "ConfigMap and Function before; none kept now)")  # fmt: skip
    task, timer = asyncio.run(_idle())
    print(f"an idle Function: {task:,.0f} bytes as a waiting reconciler task (before), "
          f"{timer:,.0f} as a timer (now)")  # fmt: skip
    return 0


def main() -> int:
    kind = sys.argv[1] if len(sys.argv) > 1 else "pods"
    if kind == "structures":
        return structures()
    keep = kept_pod if kind == "pods" else kept_function
    items = json.load(sys.stdin)["items"]
    if not items:
        print(f"no {kind} in the list")
        return 1
    whole = bytes_each(items, copy.deepcopy)
    trimmed = bytes_each(items, lambda item: copy.deepcopy(keep(item)))
    print(f"{len(items)} {kind}: {whole:,.0f} bytes each whole, {trimmed:,.0f} kept "
          f"({100 * (1 - trimmed / whole):.0f} % less)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
