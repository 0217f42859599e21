import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.api.event_source_mapping import RedisStreamsSource
from kappa.eventsources import redis_streams_shape
from tests.unit.eventsources.shape_context import context

BLOCK = RedisStreamsSource(url="redis://10.0.0.5:6379", stream="orders")


def _record(entry_id: str = "1700000000000-0", **overrides: object) -> redis_streams_shape.Record:
    fields: dict[str, object] = {
        "stream": "orders",
        "group": "kappa-shop-orders",
        "entry_id": entry_id,
        "fields": [(b"order", b'{"id": 1}'), (b"kind", b"new")],
    }
    fields |= overrides
    return redis_streams_shape.to_record(**fields)  # type: ignore[arg-type]


def test_event_is_kappas_documented_redis_streams_shape() -> None:
    assert redis_streams_shape.shape([_record()], context(BLOCK, "arn:x")) == {
        "eventSource": "kappa:redis-streams",
        "eventSourceArn": "arn:x",
        "stream": "orders",
        "group": "kappa-shop-orders",
        "records": [
            {
                "id": "1700000000000-0",
                "timestamp": 1700000000000,
                "deliveryCount": 1,
                "fields": {"order": "eyJpZCI6IDF9", "kind": "bmV3"},
            }
        ],
    }


def test_body_is_the_fields_as_json_text() -> None:
    record = _record()
    assert json.loads(record.body) == {"order": '{"id": 1}', "kind": "new"}
    assert record.attributes == {"order": '{"id": 1}', "kind": "new"}
    assert (record.id, record.key) == ("1700000000000-0", "orders")


@pytest.mark.parametrize(
    ("entry_id", "millis"),
    [
        pytest.param("1700000000000-0", 1700000000000, id="auto-id"),
        pytest.param("5-3", 5, id="explicit"),
        pytest.param("12", 12, id="no-sequence"),
    ],
)
def test_timestamp_is_the_ids_milliseconds(entry_id: str, millis: int) -> None:
    assert redis_streams_shape.entry_timestamp_ms(entry_id) == millis


@pytest.mark.parametrize("entry_id", ["", "abc", "1-x", "-1"])
def test_bad_entry_id_is_refused(entry_id: str) -> None:
    with pytest.raises(redis_streams_shape.EntryIdError, match="not a stream entry id"):
        redis_streams_shape.entry_timestamp_ms(entry_id)


@given(st.lists(st.tuples(st.binary(min_size=1), st.binary()), min_size=1, max_size=5))
def test_raw_fields_round_trip(fields: list[tuple[bytes, bytes]]) -> None:
    record = _record(fields=fields)
    assert redis_streams_shape.raw_fields(record) == fields
