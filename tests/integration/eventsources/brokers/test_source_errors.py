"""Problems a user fixes outside the poller come out as the contract's SourceError kinds."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from kappa.api.event_source_mapping import (
    KafkaSasl,
    KafkaSource,
    NatsSource,
    RabbitMqSource,
    RedisStreamsSource,
    SaslMechanism,
    SecretKeyRef,
    SecretValue,
)
from kappa.eventsources import kafka, nats, rabbitmq, redis_streams
from kappa.eventsources.source import (
    SourceCredentialsError,
    SourceError,
    SourceNotFoundError,
    SourceUnreachableError,
)
from tests.integration.brokers import SASL_USER, KafkaBroker, RabbitMqBroker, free_port, start_redis
from tests.integration.eventsources.brokers.broker_harness import (
    Harness,
    KafkaHarness,
    source_config,
)


def _open(module: Any, block: Any, credentials: dict[str, str] | None = None) -> SourceError:
    config = source_config(block, group="g-errors", batch_size=10)
    if credentials:
        config = dataclasses.replace(config, credentials=credentials)

    async def attempt() -> None:
        source = await module.open_source(config)
        await source.close()

    with pytest.raises(SourceError) as caught:
        asyncio.run(attempt())
    return caught.value


@pytest.mark.parametrize(
    ("module", "block"),
    [
        pytest.param(kafka, lambda a: KafkaSource(bootstrap_servers=(a,), topic="t"), id="kafka"),
        pytest.param(
            rabbitmq, lambda a: RabbitMqSource(url=f"amqp://{a}/", queue="q"), id="rabbitmq"
        ),
        pytest.param(nats, lambda a: NatsSource(servers=(f"nats://{a}",), stream="s"), id="nats"),
        pytest.param(
            redis_streams, lambda a: RedisStreamsSource(url=f"redis://{a}", stream="s"), id="redis"
        ),
    ],
)
def test_nothing_listening_is_unreachable(module: Any, block: Any) -> None:
    address = f"127.0.0.1:{free_port()}"
    error = _open(module, block(address))
    assert isinstance(error, SourceUnreachableError)
    assert error.reason == "SourceUnreachable"
    assert address in str(error)


def test_missing_topic_queue_or_stream_is_not_found(harness: Harness) -> None:
    if harness.kind == "redis":
        # Redis makes a stream on first write: a new group makes it (MKSTREAM) instead.
        async def open_and_close() -> int | None:
            source = await harness.open(harness.config(batch_size=1))
            try:
                return await source.backlog()
            finally:
                await source.close()

        assert asyncio.run(open_and_close()) == 0
        return
    block = harness.block().model_copy(
        update={
            "topic"
            if harness.kind == "kafka"
            else "queue"
            if harness.kind == "rabbitmq"
            else "stream": "missing"
        }
    )
    error = _open(harness.module, block)
    assert isinstance(error, SourceNotFoundError)
    assert "'missing'" in str(error)


def test_rabbitmq_wrong_password_is_a_credentials_error(rabbitmq_broker: RabbitMqBroker) -> None:
    ref = SecretValue(secret_key_ref=SecretKeyRef(name="s", key="k"))
    block = RabbitMqSource(url=rabbitmq_broker.url, queue="q", username=ref, password=ref)
    error = _open(rabbitmq, block, {"username": "guest", "password": "wrong"})
    assert isinstance(error, SourceCredentialsError)
    assert error.reason == "CredentialsRejected"


def test_redis_wrong_password_is_a_credentials_error_and_the_right_one_connects(
    tmp_path: Path,
) -> None:
    server = start_redis(tmp_path / "redis-auth", password="right")  # noqa: S106 - a test server
    try:
        ref = SecretValue(secret_key_ref=SecretKeyRef(name="s", key="k"))
        block = RedisStreamsSource(url=server.url, stream="s", password=ref)
        error = _open(redis_streams, block, {"password": "wrong"})
        assert isinstance(error, SourceCredentialsError)
        assert server.url in str(error)

        async def with_the_right_one() -> int | None:
            config = source_config(block, group="g", batch_size=1)
            source = await redis_streams.open_source(
                dataclasses.replace(config, credentials={"password": "right"})
            )
            try:
                return await source.backlog()
            finally:
                await source.close()

        assert asyncio.run(with_the_right_one()) == 0
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("password", "works"),
    [
        pytest.param("wrong", False, id="wrong-password"),
        pytest.param(SASL_USER[1], True, id="right"),
    ],
)
def test_kafka_sasl_plain(kafka_broker: KafkaBroker, password: str, *, works: bool) -> None:
    ref = SecretValue(secret_key_ref=SecretKeyRef(name="s", key="k"))
    topic = f"sasl-{free_port()}"
    asyncio.run(
        KafkaHarness(kind="kafka", module_name="kafka", broker=kafka_broker, name=topic).create()
    )
    block = KafkaSource(
        bootstrap_servers=(kafka_broker.sasl_bootstrap_servers,),
        topic=topic,
        sasl=KafkaSasl(mechanism=SaslMechanism.PLAIN, username=ref, password=ref),
    )
    credentials = {"username": SASL_USER[0], "password": password}
    if not works:
        error = _open(kafka, block, credentials)
        assert isinstance(error, SourceCredentialsError)
        assert kafka_broker.sasl_bootstrap_servers in str(error)
        return

    async def open_and_close() -> None:
        config = dataclasses.replace(
            source_config(block, group="g-sasl", batch_size=1), credentials=credentials
        )
        source = await kafka.open_source(config)
        await source.close()

    asyncio.run(open_and_close())
