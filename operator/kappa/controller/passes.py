"""When each Function's pass runs: woken, or due; one at a time per Function, a few at once.

No task per Function: a Function between passes is a timer (``loop.call_later``) or
nothing, and a pass is a task only while it runs. At most ``limit`` passes run at once;
the others wait in order of waking. The kubernetes client calls of a pass go through a
small thread pool anyway (KAPPA_KUBE_THREADS): thousands of passes started at once (an
operator's start, a thousand new Functions) would each hold their first call in that
pool's queue, and every Function would wait for all of them before its second call.

- :meth:`Passes.wake`: pass now (after the one running, if one is);
- the pass returns when the next unprompted one is due (seconds) or None for never;
- :meth:`Passes.forget`: the Function is gone: its timer and queued pass dropped, a
  running pass cancelled.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from kappa.controller.memory import Key

log = logging.getLogger(__name__)

# Passes at once: enough to keep the client's threads busy while others compute.
DEFAULT_LIMIT: Final = 32

Run = Callable[[Key], Awaitable[float | None]]


class Passes:
    """Schedules ``run(key)``; ``run`` is set once kopf hands the handlers their indexes."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.run: Run | None = None
        self._running: dict[Key, asyncio.Task[None]] = {}
        self._again: set[Key] = set()  # woken while running: once more right after
        self._queued: dict[Key, None] = {}  # woken, waiting for room (an ordered set)
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._forgotten: set[Key] = set()  # running passes cancelled by forget
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of start()

    def wake(self, key: Key) -> None:
        """Pass now: at once if there is room, after the running pass of ``key`` if any.

        From another thread (a plain kopf handler runs in a worker thread), handed to the
        event loop.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is None:  # nothing runs before start: it starts what waits
                self._queued[key] = None
            else:
                self._loop.call_soon_threadsafe(self.wake, key)
            return
        if key in self._running:
            self._again.add(key)
            return
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if key in self._queued:
            return
        if len(self._running) < self.limit and self.run is not None:
            self._start(key)
        else:
            self._queued[key] = None

    def forget(self, key: Key) -> None:
        """``key`` is gone: drop its timer and queued pass; cancel its running pass."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._queued.pop(key, None)
        self._again.discard(key)
        task = self._running.get(key)
        if task is not None:
            self._forgotten.add(key)
            task.cancel()

    def start(self, run: Run) -> None:
        """Set what a pass runs (once), and start what waited for it."""
        if self.run is None:
            self.run = run
            self._loop = asyncio.get_running_loop()
            self._fill()

    @property
    def running(self) -> int:
        """Passes running now."""
        return len(self._running)

    @property
    def waiting(self) -> int:
        """Passes woken and waiting for room."""
        return len(self._queued)

    def due(self, key: Key) -> float | None:
        """When (the loop's clock) the next unprompted pass of ``key`` is due, if one is."""
        timer = self._timers.get(key)
        return None if timer is None else timer.when()

    def _start(self, key: Key) -> None:
        self._running[key] = asyncio.get_running_loop().create_task(
            self._pass(key), name=f"pass {key[0]}/{key[1]}"
        )

    async def _pass(self, key: Key) -> None:
        delay: float | None = None
        stopping = False  # cancelled by the operator's end, not by forget: start nothing
        try:
            assert self.run is not None  # noqa: S101 - only started once set
            delay = await self.run(key)
        except asyncio.CancelledError:
            stopping = key not in self._forgotten
            raise
        except Exception:  # run reports its own failures; this only keeps the schedule
            log.exception("the pass of %s/%s failed", *key)
        finally:
            del self._running[key]
            self._forgotten.discard(key)
            if stopping:
                pass
            elif key in self._again:
                self._again.discard(key)
                self.wake(key)
            elif delay is not None:
                loop = asyncio.get_running_loop()
                self._timers[key] = loop.call_later(delay, self.wake, key)
            if not stopping:
                self._fill()

    def _fill(self) -> None:
        while self._queued and len(self._running) < self.limit and self.run is not None:
            key = next(iter(self._queued))
            del self._queued[key]
            self._start(key)
