"""Opening a broker connection in steps: close it when a later step fails."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from kappa.eventsources.source import SourceError


@contextlib.asynccontextmanager
async def closed_on_error(
    close: Callable[[], Awaitable[object]],
    errors: tuple[type[Exception], ...],
    source_error: Callable[[Exception], SourceError],
) -> AsyncIterator[None]:
    """Run the block; on one of ``errors``, ``close()`` and raise ``source_error(error)`` from it.

    For the steps after a connection is made (declare, subscribe, ping...), so that a
    source that cannot be opened leaves no connection behind and says why.
    """
    try:
        yield
    except errors as error:
        await close()
        raise source_error(error) from error
