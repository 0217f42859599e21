import datetime
from decimal import Decimal

import pytest

from kappa.api.event_source_mapping import RabbitMqSource
from kappa.eventsources import rabbitmq_shape
from tests.unit.eventsources.shape_context import context

BLOCK = RabbitMqSource(url="amqp://10.0.0.5:5672/", queue="pizzaQueue")
ARN = "arn:kappa:rabbitmq:us-east-1:shop:queue///pizzaQueue"


def _record(**overrides: object) -> rabbitmq_shape.Record:
    headers = {"header1": b"value1", "header2": "value2", "numberInHeader": 10}
    fields: dict[str, object] = {
        "queue": "pizzaQueue",
        "virtual_host": "/",
        "delivery_tag": 7,
        "redelivered": False,
        "body": b'{"timeout":0,"data":"CZrmf0Gw8Ov4bqLQxD4E"}',
        "properties": rabbitmq_shape.basic_properties(
            content_type="text/plain",
            headers=headers,
            delivery_mode=1,
            priority=34,
            expiration="60000",
            timestamp=datetime.datetime(1970, 1, 1, 0, 33, 41, tzinfo=datetime.UTC),
            user_id="AIDACKCEVSQ6C2EXAMPLE",
            body_size=80,
        ),
        "headers": headers,
        "timestamp_ms": 2021000,
    }
    fields |= overrides
    return rabbitmq_shape.to_record(**fields)  # type: ignore[arg-type]


def test_event_matches_lambdas_amazon_mq_rabbitmq_example() -> None:
    # Lambda's documented Amazon MQ (RabbitMQ) example event, with our ARN.
    assert rabbitmq_shape.shape([_record()], context(BLOCK, ARN)) == {
        "eventSource": "aws:rmq",
        "eventSourceArn": ARN,
        "rmqMessagesByQueue": {
            "pizzaQueue::/": [
                {
                    "basicProperties": {
                        "contentType": "text/plain",
                        "contentEncoding": None,
                        "headers": {
                            "header1": {"bytes": [118, 97, 108, 117, 101, 49]},
                            "header2": {"bytes": [118, 97, 108, 117, 101, 50]},
                            "numberInHeader": 10,
                        },
                        "deliveryMode": 1,
                        "priority": 34,
                        "correlationId": None,
                        "replyTo": None,
                        "expiration": "60000",
                        "messageId": None,
                        "timestamp": "Jan 1, 1970, 12:33:41 AM",
                        "type": None,
                        "userId": "AIDACKCEVSQ6C2EXAMPLE",
                        "appId": None,
                        "clusterId": None,
                        "bodySize": 80,
                    },
                    "redelivered": False,
                    "data": "eyJ0aW1lb3V0IjowLCJkYXRhIjoiQ1pybWYwR3c4T3Y0YnFMUXhENEUifQ==",
                }
            ]
        },
    }


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param(
            datetime.datetime(1970, 1, 1, 0, 33, 41, tzinfo=datetime.UTC),
            "Jan 1, 1970, 12:33:41 AM",
            id="midnight-hour",
        ),
        pytest.param(
            datetime.datetime(2026, 11, 27, 12, 5, 9, tzinfo=datetime.UTC),
            "Nov 27, 2026, 12:05:09 PM",
            id="noon-hour",
        ),
        pytest.param(
            datetime.datetime(2026, 3, 9, 23, 59, 0, tzinfo=datetime.UTC),
            "Mar 9, 2026, 11:59:00 PM",
            id="evening",
        ),
        pytest.param(
            datetime.datetime(
                2026, 3, 9, 1, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
            ),
            "Mar 8, 2026, 11:00:00 PM",
            id="offset-to-utc",
        ),
    ],
)
def test_java_timestamp(moment: datetime.datetime, text: str) -> None:
    assert rabbitmq_shape.java_timestamp(moment) == text


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("ab", {"bytes": [97, 98]}, id="string"),
        pytest.param(b"\x00\xff", {"bytes": [0, 255]}, id="bytes"),
        pytest.param(True, True, id="bool"),
        pytest.param(3.5, 3.5, id="float"),
        pytest.param(Decimal("1.25"), 1.25, id="decimal"),
        pytest.param(None, None, id="void"),
        pytest.param(["a", 1], [{"bytes": [97]}, 1], id="array"),
        pytest.param({"t": "x"}, {"t": {"bytes": [120]}}, id="table"),
    ],
)
def test_header_values(value: object, shown: object) -> None:
    assert rabbitmq_shape.header_value(value) == shown


@pytest.mark.parametrize(
    ("headers", "redelivered", "attempt"),
    [
        pytest.param({}, False, 1, id="first-delivery"),
        pytest.param({}, True, 2, id="redelivered-classic-queue"),
        pytest.param({"x-delivery-count": 4}, True, 5, id="quorum-queue-count"),
        pytest.param({"x-delivery-count": True}, False, 1, id="bool-is-no-count"),
    ],
)
def test_attempt(headers: dict[str, object], redelivered: bool, attempt: int) -> None:  # noqa: FBT001
    assert rabbitmq_shape.attempt_of(headers, redelivered=redelivered) == attempt


def test_id_is_the_message_id_else_the_delivery_tag() -> None:
    with_id = rabbitmq_shape.basic_properties(message_id="order-1")
    assert _record(properties=with_id).id == "order-1"
    assert _record().id == "delivery-7"


def test_queues_of_other_virtual_hosts_are_keyed_apart() -> None:
    records = [_record(), _record(virtual_host="prod", delivery_tag=8)]
    by_queue = rabbitmq_shape.shape(records, context(BLOCK))["rmqMessagesByQueue"]
    assert list(by_queue) == ["pizzaQueue::/", "pizzaQueue::prod"]  # type: ignore[call-overload]
