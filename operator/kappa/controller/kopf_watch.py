"""kopf's watch streams without ``metadata.managedFields``.

kopf keeps each listed object's event in that object's worker until every object of
every kind with an index handler has been listed (its index gate), so a replica that
starts with 10,000 Functions, pods and ConfigMaps present holds all 30,000 at once. About
half of each is its ``managedFields`` (the API server's record of who wrote which field):
a parsed function pod is about 61 KB of Python objects, 29 KB without them.

No controller handler reads them (``observed.kept_function`` and ``kept_pod`` drop them
too), and kopf writes with merge patches, which leave them alone. ``install`` wraps kopf's
``infinite_watch`` so every event's object loses them before kopf queues it. kopf exposes
no hook for this; the function is replaced in its private module, which the pinned
version (constraints.txt) has.
"""

from collections.abc import AsyncIterator, Callable
from typing import Any

from kopf._cogs.clients import watching

_KOPF_WATCH: Callable[..., AsyncIterator[Any]] = watching.infinite_watch


def without_managed_fields(event: object) -> object:
    """``event`` (a raw watch event, or kopf's listing bookmark) with its object slimmed.

    The object is changed in place: it was parsed for this event alone.
    """
    if isinstance(event, dict):
        body = event.get("object")
        if isinstance(body, dict):
            metadata = body.get("metadata")
            if isinstance(metadata, dict):
                metadata.pop("managedFields", None)
    return event


async def _slim_watch(**kwargs: Any) -> AsyncIterator[Any]:
    async for event in _KOPF_WATCH(**kwargs):
        yield without_managed_fields(event)


def install() -> None:
    """Make kopf's watchers read slimmed events (call before ``kopf.operator``)."""
    watching.infinite_watch = _slim_watch
