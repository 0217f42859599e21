"""Work a source repeats in the background while it holds records, and its stop.

JetStream forgets a message's delivery after its ack wait and Redis lets
other consumers claim entries idle too long: a source holding records for a
long function tells its broker, every so often, that it still works on them.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class Keepalive:
    """Runs ``action`` every ``every`` seconds until :meth:`stop`.

    An exception of ``errors`` is logged to ``log`` as ``failed: <error>`` and the
    loop goes on; the next round tries again.
    """

    def __init__(
        self,
        every: float,
        action: Callable[[], Awaitable[None]],
        errors: tuple[type[Exception], ...],
        *,
        log: logging.Logger,
        failed: str,
    ) -> None:
        self._every = every
        self._action = action
        self._errors = errors
        self._log = log
        self._failed = failed
        self._task = asyncio.create_task(self._repeat())

    async def _repeat(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self._action()
            except self._errors as error:
                self._log.warning("%s: %s", self._failed, error)

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
