import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.api.event_source_mapping import KafkaSource
from kappa.eventsources import kafka_shape
from tests.unit.eventsources.shape_context import context

BLOCK = KafkaSource(bootstrap_servers=("b-1:9092", "b-2:9092"), topic="mytopic")


def _record(offset: int = 15, partition: int = 0, **overrides: object) -> kafka_shape.Record:
    fields: dict[str, object] = {
        "topic": "mytopic",
        "partition": partition,
        "offset": offset,
        "timestamp_ms": 1545084650987,
        "timestamp_type": 0,
        "key": b"abc",
        "value": b"Hello, this is a test.",
        "headers": [("headerKey", b"headerValue")],
    }
    fields |= overrides
    return kafka_shape.to_record(**fields)  # type: ignore[arg-type]


def test_event_matches_lambdas_self_managed_kafka_example() -> None:
    # The example event of Lambda's self-managed Kafka documentation, with our values.
    assert kafka_shape.shape([_record()], context(BLOCK)) == {
        "eventSource": "SelfManagedKafka",
        "bootstrapServers": "b-1:9092,b-2:9092",
        "records": {
            "mytopic-0": [
                {
                    "topic": "mytopic",
                    "partition": 0,
                    "offset": 15,
                    "timestamp": 1545084650987,
                    "timestampType": "CREATE_TIME",
                    "key": "YWJj",
                    "value": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==",
                    "headers": [
                        {"headerKey": [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101]}
                    ],
                }
            ]
        },
    }


@pytest.mark.parametrize(
    ("overrides", "absent"),
    [
        pytest.param({"key": None}, "key", id="null-key-omitted"),
        pytest.param({"value": None}, "value", id="tombstone-value-omitted"),
    ],
)
def test_null_key_or_value_is_left_out(overrides: dict[str, object], absent: str) -> None:
    entry = kafka_shape.shape([_record(**overrides)], context(BLOCK))["records"]["mytopic-0"][0]  # type: ignore[index]
    assert absent not in entry


@pytest.mark.parametrize(
    ("timestamp_type", "word"),
    [
        pytest.param(0, "CREATE_TIME", id="create"),
        pytest.param(1, "LOG_APPEND_TIME", id="log-append"),
        pytest.param(-1, "NO_TIMESTAMP_TYPE", id="none"),
    ],
)
def test_timestamp_type_words(timestamp_type: int, word: str) -> None:
    record = _record(timestamp_type=timestamp_type)
    assert kafka_shape.lambda_record(record)["timestampType"] == word


def test_records_grouped_by_topic_partition_in_fetch_order() -> None:
    records = [_record(1, 0), _record(7, 1), _record(2, 0)]
    grouped = kafka_shape.shape(records, context(BLOCK))["records"]
    assert {k: [e["offset"] for e in v] for k, v in grouped.items()} == {  # type: ignore[attr-defined]
        "mytopic-0": [1, 2],
        "mytopic-1": [7],
    }


def test_id_and_key_name_partition_and_offset() -> None:
    record = _record(offset=42, partition=3)
    assert (record.id, record.key) == ("mytopic-3:42", "mytopic-3")


def test_text_headers_become_attributes_binary_ones_do_not() -> None:
    record = _record(headers=[("text", b"yes"), ("bin", b"\xff\xfe")])
    assert record.attributes == {"text": "yes"}
    assert kafka_shape.lambda_record(record)["headers"] == [
        {"text": [121, 101, 115]},
        {"bin": [255, 254]},
    ]


@given(key=st.binary(), value=st.binary())
def test_key_and_value_round_trip_through_base64(key: bytes, value: bytes) -> None:
    entry = kafka_shape.lambda_record(_record(key=key, value=value))
    assert base64.b64decode(entry["key"]) == key == kafka_shape.decode_key(entry["key"])
    assert base64.b64decode(entry["value"]) == value


def test_arn_names_the_topic() -> None:
    assert kafka_shape.event_source_arn("eu-west-1", "shop", "orders") == (
        "arn:kappa:kafka:eu-west-1:shop:topic/orders"
    )
