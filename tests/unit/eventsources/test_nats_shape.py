from kappa.api.event_source_mapping import NatsSource
from kappa.eventsources import nats_shape
from tests.unit.eventsources.shape_context import context

BLOCK = NatsSource(servers=("nats://10.0.0.5:4222",), stream="ORDERS")


def _record(sequence: int, subject: str = "orders.eu", delivered: int = 1) -> nats_shape.Record:
    return nats_shape.to_record(
        stream="ORDERS",
        consumer="kappa-shop-orders",
        subject=subject,
        sequence=sequence,
        timestamp_ms=1545084650987,
        delivery_count=delivered,
        headers={"trace": ["abc", "def"]},
        data=b'{"id": 1}',
    )


def test_event_is_kappas_documented_nats_shape() -> None:
    assert nats_shape.shape(
        [_record(42), _record(43, "orders.us", 2)], context(BLOCK, "arn:x")
    ) == {
        "eventSource": "kappa:nats",
        "eventSourceArn": "arn:x",
        "stream": "ORDERS",
        "consumer": "kappa-shop-orders",
        "records": [
            {
                "subject": "orders.eu",
                "sequence": 42,
                "timestamp": 1545084650987,
                "deliveryCount": 1,
                "headers": {"trace": ["abc", "def"]},
                "data": "eyJpZCI6IDF9",
            },
            {
                "subject": "orders.us",
                "sequence": 43,
                "timestamp": 1545084650987,
                "deliveryCount": 2,
                "headers": {"trace": ["abc", "def"]},
                "data": "eyJpZCI6IDF9",
            },
        ],
    }


def test_record_is_keyed_by_subject_and_named_by_sequence() -> None:
    record = _record(7, delivered=3)
    assert (record.id, record.key, record.attempt) == ("7", "orders.eu", 3)
    assert record.attributes == {"trace": "abc"}


def test_arn_names_stream_and_consumer() -> None:
    assert nats_shape.event_source_arn("us-east-1", "shop", "ORDERS", "c") == (
        "arn:kappa:nats:us-east-1:shop:stream/ORDERS/consumer/c"
    )
