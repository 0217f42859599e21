"""Side-by-side coroutines that end together: the first unexpected error ends them all."""

import asyncio
from collections.abc import Coroutine
from typing import Any


async def run_all(*coroutines: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutines`` as tasks until each returns; the first to raise cancels the rest.

    Its error is raised once the others are cancelled. ``asyncio.gather`` would raise it
    and leave the others running: a poller half dead, its ``/healthz`` still green.
    """
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
