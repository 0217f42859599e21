"""Brokers started once per test session (tests/integration/brokers.py), stopped at its end."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.brokers import (
    Broker,
    start_kafka,
    start_nats,
    start_rabbitmq,
    start_redis,
)
from tests.integration.eventsources.brokers.broker_harness import (
    Harness,
    KafkaHarness,
    NatsHarness,
    RabbitMqHarness,
    RedisHarness,
    SqsHarness,
)
from tests.integration.gateway.gateway_harness import Gateway, function_entry


def _session_broker(start: Callable[[Path], Broker], name: str) -> Any:
    @pytest.fixture(scope="session", name=name)
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
        broker = start(tmp_path_factory.mktemp(name))
        yield broker
        broker.stop()

    return fixture


kafka_broker = _session_broker(start_kafka, "kafka_broker")
rabbitmq_broker = _session_broker(start_rabbitmq, "rabbitmq_broker")
nats_server = _session_broker(start_nats, "nats_server")
redis_server = _session_broker(start_redis, "redis_server")


_HARNESSES = {
    "kafka": (KafkaHarness, "kafka", "kafka_broker"),
    "rabbitmq": (RabbitMqHarness, "rabbitmq", "rabbitmq_broker"),
    "nats": (NatsHarness, "nats", "nats_server"),
    "redis": (RedisHarness, "redis_streams", "redis_server"),
}


def _made(request: pytest.FixtureRequest) -> Harness:
    cls, module, broker_fixture = _HARNESSES[request.param]
    made: Harness = cls(
        kind=request.param, module_name=module, broker=request.getfixturevalue(broker_fixture)
    )
    asyncio.run(made.create())
    return made


@pytest.fixture(params=list(_HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    """A fresh topic/queue/stream (and its dead-letter target) on each broker in turn."""
    return _made(request)


@pytest.fixture(params=["kafka", "nats", "redis"])
def stream_harness(request: pytest.FixtureRequest) -> Harness:
    """Like ``harness``, for the sources with a starting position."""
    return _made(request)


BROKER_HANDLERS = Path(__file__).parent / "handlers"


@pytest.fixture
def task_root(task_root: Path) -> Path:
    """The event source handlers' task root, with the broker handler beside them."""
    for source in BROKER_HANDLERS.glob("*.py"):
        shutil.copy(source, task_root / source.name)
    return task_root


@pytest.fixture
def broker_gateway(start_agent: Any, start_gateway: Any) -> Gateway:
    """`worker` (broker_fns.record_batch, 2 slots) behind a real gateway."""
    worker = start_agent("broker_fns.record_batch", name="worker", slots=2, timeout=30)
    return start_gateway(
        [function_entry("worker", [worker], handler="broker_fns.record_batch", slots=2, timeout=30)]
    )


@pytest.fixture
def harness_of(request: pytest.FixtureRequest) -> Callable[[str], Harness]:
    """Make a harness of a named broker inside a test (for tests of some brokers only).

    ``sqs`` (ElasticMQ) too, which the sources' shared tests above do not take.
    """

    def make(kind: str) -> Harness:
        cls, module, broker_fixture = {**_HARNESSES, "sqs": (SqsHarness, "sqs", "elasticmq")}[kind]
        made: Harness = cls(
            kind=kind, module_name=module, broker=request.getfixturevalue(broker_fixture)
        )
        asyncio.run(made.create())
        return made

    return make
