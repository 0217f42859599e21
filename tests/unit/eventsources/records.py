"""Records for unit tests."""

from kappa.eventsources.source import Record


def record(
    index: int, key: str = "", *, attempt: int = 1, timestamp_ms: int = 0, size: int = 4
) -> Record:
    return Record(
        id=f"m{index}",
        key=key,
        body=b"x" * size,
        timestamp_ms=timestamp_ms,
        attempt=attempt,
    )


def ids(records: tuple[Record, ...] | list[Record]) -> list[str]:
    return [r.id for r in records]
