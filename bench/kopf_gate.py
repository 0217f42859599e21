"""make bench-kopf-gate: kopf's index gate at start, its own toggle set vs QuietToggleSet.

A replica's kopf lists every object of every kind that has an index handler before any
other handler runs: a toggle per object in one set, every object's worker waiting on it.
This plays that start for N objects (a toggle made and a worker waiting per object, then
each dropped, then the kind's), in one process with no cluster, and times it with kopf's
``ToggleSet`` and with ``kappa.controller.kopf_toggles.QuietToggleSet``, alternating.
Prints seconds of CPU per start; asserts nothing. Usage:
    python bench/kopf_gate.py [--objects 1000,2000,4000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from kopf._cogs.aiokits import aiotoggles

from kappa.controller.kopf_toggles import QuietToggleSet

KOPF = aiotoggles.ToggleSet


async def start(kind: type[aiotoggles.ToggleSet], objects: int) -> None:
    gate = kind(all)
    listed = await gate.make_toggle(name="functions")
    toggles, workers = [], []
    for _ in range(objects):
        toggles.append(await gate.make_toggle(name="object"))
        workers.append(asyncio.create_task(gate.wait_for(True)))  # noqa: FBT003
        await asyncio.sleep(0)
    for toggle in toggles:
        await gate.drop_toggle(toggle)
        await asyncio.sleep(0)
    await gate.drop_toggle(listed)
    await asyncio.gather(*workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", default="1000,2000,4000")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"{'objects':>8} {'kopf ToggleSet':>16} {'QuietToggleSet':>16}   (CPU s per start)")
    for objects in (int(n) for n in args.objects.split(",")):
        spent: dict[str, list[float]] = {"kopf": [], "quiet": []}
        for _ in range(args.rounds):
            for name, kind in (("kopf", KOPF), ("quiet", QuietToggleSet)):
                began = time.process_time()
                asyncio.run(start(kind, objects))
                spent[name].append(time.process_time() - began)
        print(f"{objects:>8} {min(spent['kopf']):>16.2f} {min(spent['quiet']):>16.2f}")


if __name__ == "__main__":
    main()
