"""Fixtures: ElasticMQ (started once per module), the gateway with handler agents, pollers."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.brokers import NatsServer
from tests.integration.eventsources.harness import (
    ElasticMq,
    Poller,
    run_elasticmq,
    sqs_client,
    start_poller,
)
from tests.integration.gateway import conftest as gateway_fixtures
from tests.integration.gateway.gateway_harness import Gateway, function_entry
from tests.integration.nats_harness import running_nats

HANDLERS = Path(__file__).parent / "handlers"

# The gateway tests' fixtures: real agents running awslambdaric, a real gateway.
start_agent = gateway_fixtures.start_agent
start_gateway = gateway_fixtures.start_gateway


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    for source in HANDLERS.glob("*.py"):
        shutil.copy(source, root / source.name)
    return root


@pytest.fixture(scope="module")
def elasticmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ElasticMq]:
    yield from run_elasticmq(tmp_path_factory.mktemp("elasticmq") / "elasticmq.log")


@pytest.fixture
def sqs(elasticmq: ElasticMq) -> Any:
    return sqs_client(elasticmq.endpoint)


@pytest.fixture
def queue(sqs: Any) -> Callable[..., str]:
    def make(prefix: str = "q", **attributes: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])

    return make


@pytest.fixture
def async_queue(tmp_path: Path) -> Iterator[NatsServer]:
    """A real nats-server: a failure destination Function is invoked asynchronously (Event),
    which the gateway stores in NATS JetStream before it answers."""
    yield from running_nats(tmp_path / "nats")


@pytest.fixture
def functions(async_queue: NatsServer, start_agent: Any, start_gateway: Any) -> Gateway:
    """`worker` (record_batch, 2 slots) and `dlq` (dead_letters) behind one gateway.

    NATS first: fixtures stop in reverse order, so the gateway stops before its NATS.
    """
    worker = start_agent("esm_fns.record_batch", name="worker", slots=2, timeout=30)
    dlq = start_agent("esm_fns.dead_letters", name="dlq")
    return start_gateway(
        [
            function_entry("worker", [worker], handler="esm_fns.record_batch", slots=2, timeout=30),
            function_entry("dlq", [dlq], handler="esm_fns.dead_letters"),
        ],
        extra_env={"KAPPA_NATS_URL": async_queue.url},
    )


@pytest.fixture
def pollers(tmp_path: Path) -> Iterator[Callable[..., Poller]]:
    started: list[Poller] = []

    def start(mapping: dict[str, Any], gateway: Gateway, **kwargs: Any) -> Poller:
        poller = start_poller(tmp_path, mapping, gateway.url, **kwargs)
        started.append(poller)
        return poller

    yield start
    for poller in started:
        poller.stop()
    for poller in started:
        output = poller.reader.output()
        assert "Traceback" not in output, output


@dataclass
class World:
    """What a test of a source needs: ElasticMQ, queues, the functions and pollers."""

    sqs: Any
    queue: Callable[..., str]
    gateway: Gateway
    pollers: Callable[..., Poller]
    task_root: Path

    def poller(self, mapping: dict[str, Any], **kwargs: Any) -> Poller:
        return self.pollers(mapping, self.gateway, **kwargs)


@pytest.fixture
def world(
    sqs: Any,
    queue: Callable[..., str],
    functions: Gateway,
    pollers: Callable[..., Poller],
    task_root: Path,
) -> World:
    return World(sqs, queue, functions, pollers, task_root)


def sqs_mapping(queue_url: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "EventSourceMapping",
        "metadata": {"name": "orders", "namespace": "default"},
        "spec": {"functionRef": {"name": "worker"}, "sqs": {"queueUrl": queue_url}, **spec},
    }
