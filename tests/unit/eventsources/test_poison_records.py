"""A record nested deeper than the JSON parser takes (RecursionError) is matched as text by
every filter view and never stops the runner; a function's answer nested that deep is a
malformed answer, not a crash (each broker's view goes through filter_payload.parsed)."""

from kappa.eventsources.filter_payload import parsed, with_parsed
from kappa.eventsources.outcome import item_failures
from kappa.eventsources.source import Record, default_filter_view

NESTED = b"[" * 100_000 + b"]" * 100_000


def test_a_too_deep_payload_is_text() -> None:
    assert parsed(NESTED) == NESTED.decode()
    assert parsed(NESTED.decode()) == NESTED.decode()
    assert parsed(b'{"a": 1}') == {"a": 1}
    assert with_parsed({}, "data", NESTED) == {"data": NESTED.decode()}


def test_the_default_filter_view_takes_a_too_deep_body_as_text() -> None:
    record = Record(id="1", key="", body=NESTED, timestamp_ms=0)
    view = default_filter_view(record, None)  # type: ignore[arg-type]
    assert view["body"] == NESTED.decode()


def test_a_too_deep_answer_is_malformed_not_an_error() -> None:
    assert item_failures(NESTED, {"1"}) is None
