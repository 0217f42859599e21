"""Which module implements each source kind, loaded on use.

Each source module exports ``SOURCE``, a :class:`~kappa.eventsources.source.SourceModule`
(its ``open_source``, ``shape``, ``filter_view`` and ``open_failure_destination``),
checked by mypy like any other value. Modules are imported only when a mapping of their
kind runs, so a poller loads one broker client library.
"""

from collections.abc import Callable, Mapping
from typing import Final

from kappa.api.event_source_mapping import SourceKind
from kappa.eventsources.source import SourceModule


# Imported in the loader, not at the top: each pulls in its broker's client library.
def _kafka() -> SourceModule:
    from kappa.eventsources import kafka  # noqa: PLC0415

    return kafka.SOURCE


def _sqs() -> SourceModule:
    from kappa.eventsources import sqs  # noqa: PLC0415

    return sqs.SOURCE


def _rabbitmq() -> SourceModule:
    from kappa.eventsources import rabbitmq  # noqa: PLC0415

    return rabbitmq.SOURCE


def _nats() -> SourceModule:
    from kappa.eventsources import nats  # noqa: PLC0415

    return nats.SOURCE


def _redis_streams() -> SourceModule:
    from kappa.eventsources import redis_streams  # noqa: PLC0415

    return redis_streams.SOURCE


def _schedule() -> SourceModule:
    from kappa.eventsources import schedule  # noqa: PLC0415

    return schedule.SOURCE


_LOADERS: Final[Mapping[SourceKind, Callable[[], SourceModule]]] = {
    SourceKind.KAFKA: _kafka,
    SourceKind.SQS: _sqs,
    SourceKind.RABBITMQ: _rabbitmq,
    SourceKind.NATS: _nats,
    SourceKind.REDIS_STREAMS: _redis_streams,
    SourceKind.SCHEDULE: _schedule,
}


def load(kind: SourceKind) -> SourceModule:
    """The source module of ``kind``."""
    return _LOADERS[kind]()
