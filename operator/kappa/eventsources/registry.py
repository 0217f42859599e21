"""Which module implements each source kind, and its parts, loaded on use.

A source module (see ``kappa.eventsources.source``) defines ``open_source``
and ``shape``, and may define ``open_failure_destination`` and
``filter_view``. Modules are imported only when a mapping of their kind
runs, so a poller loads one broker client library.
"""

import importlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kappa.api.event_source_mapping import SourceKind
from kappa.eventsources.source import (
    MODULES,
    EventContext,
    FailureDestination,
    Record,
    Source,
    SourceConfig,
)

Shape = Callable[[Sequence[Record], EventContext], object]
FilterView = Callable[[Record, EventContext], dict[str, Any]]
OpenSource = Callable[[SourceConfig], Awaitable[Source]]
OpenDestination = Callable[[SourceConfig, str], Awaitable[FailureDestination]]


def default_filter_view(record: Record, context: EventContext) -> dict[str, Any]:  # noqa: ARG001
    """What patterns see when the module defines no ``filter_view``: body (JSON if it is)."""
    body: Any
    try:
        body = json.loads(record.body)
    except ValueError:
        body = record.body.decode("utf-8", errors="replace")
    return {"body": body, "attributes": dict(record.attributes), "key": record.key}


@dataclass(frozen=True)
class SourceModule:
    """The parts of one source kind's module."""

    open_source: OpenSource
    shape: Shape
    filter_view: FilterView
    open_failure_destination: OpenDestination | None


def load(kind: SourceKind) -> SourceModule:
    """The module of ``kind`` (ImportError when that source is not built in)."""
    module = importlib.import_module(f"kappa.eventsources.{MODULES[kind]}")
    return SourceModule(
        open_source=module.open_source,
        shape=module.shape,
        filter_view=getattr(module, "filter_view", default_filter_view),
        open_failure_destination=getattr(module, "open_failure_destination", None),
    )
