"""What Lambda filter patterns see of each broker's records (matched by the runner's filters)."""

import datetime
from typing import Any

import pytest

from kappa.api.event_source_mapping import (
    KafkaSource,
    NatsSource,
    RabbitMqSource,
    RedisStreamsSource,
)
from kappa.api.filters import matches_any, parse_all
from kappa.eventsources import kafka_shape, nats_shape, rabbitmq_shape, redis_streams_shape
from kappa.eventsources.filter_payload import parsed
from kappa.eventsources.source import Record
from tests.unit.eventsources.shape_context import context

_ORDER = b'{"kind": "order", "total": 12}'


def _kafka(value: bytes | None) -> Record:
    return kafka_shape.to_record(
        topic="t", partition=0, offset=1, timestamp_ms=1, timestamp_type=0,
        key=b"k", value=value, headers=[],
    )  # fmt: skip


def _rabbitmq(body: bytes) -> Record:
    return rabbitmq_shape.to_record(
        queue="q", virtual_host="/", delivery_tag=1, redelivered=False, body=body,
        properties=rabbitmq_shape.basic_properties(
            timestamp=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), body_size=len(body)
        ),
        headers={}, timestamp_ms=1,
    )  # fmt: skip


def _nats(data: bytes) -> Record:
    return nats_shape.to_record(
        stream="S", consumer="c", subject="orders.eu", sequence=1, timestamp_ms=1,
        delivery_count=1, headers={}, data=data,
    )  # fmt: skip


def _redis(payload: bytes) -> Record:
    return redis_streams_shape.to_record(
        stream="s", group="g", entry_id="1-0", fields=[(b"payload", payload), (b"kind", b"x")]
    )


CASES = [
    ("kafka", kafka_shape.filter_view, _kafka, KafkaSource(bootstrap_servers=("b:9092",), topic="t"),
     '{"value": {"kind": ["order"]}}'),
    ("rabbitmq", rabbitmq_shape.filter_view, _rabbitmq, RabbitMqSource(url="amqp://h:5672/", queue="q"),
     '{"data": {"kind": ["order"]}}'),
    ("nats", nats_shape.filter_view, _nats, NatsSource(servers=("nats://h:4222",), stream="S"),
     '{"data": {"kind": ["order"]}}'),
    ("redis", redis_streams_shape.filter_view, _redis, RedisStreamsSource(url="redis://h:6379", stream="s"),
     '{"fields": {"payload": {"kind": ["order"]}}}'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "view", "make", "block", "pattern"), CASES, ids=[c[0] for c in CASES]
)
def test_a_json_payload_is_matched_field_by_field(
    name: str, view: Any, make: Any, block: Any, pattern: str
) -> None:
    patterns = parse_all([pattern])
    assert matches_any(patterns, view(make(_ORDER), context(block)))
    assert not matches_any(patterns, view(make(b'{"kind": "refund"}'), context(block)))
    assert not matches_any(patterns, view(make(b"plain text"), context(block)))


def test_a_kafka_tombstone_has_a_null_value() -> None:
    block = CASES[0][3]
    assert kafka_shape.filter_view(_kafka(None), context(block))["value"] is None


@pytest.mark.parametrize(
    ("payload", "seen"),
    [
        pytest.param(b'{"a": 1}', {"a": 1}, id="json-object"),
        pytest.param(b"12", 12, id="json-number"),
        pytest.param(b"hello", "hello", id="text"),
        pytest.param(b"\xff", "\ufffd", id="not-utf8"),
    ],
)
def test_parsed(payload: bytes, seen: object) -> None:
    assert parsed(payload) == seen
