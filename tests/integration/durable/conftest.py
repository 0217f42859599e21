"""Fixtures of the durable tests: a real nats-server of each test's own, stores on it, and
(``stack.py``) the whole path: gateway, agents with the real SDK, nats-server."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import nats
import pytest

from kappa.durable.decider import CheckpointCall, Decision, Refusal, checkpoint, invoke, start
from kappa.durable.execution import Execution
from kappa.durable.model import OperationAction, OperationType, OperationUpdate
from kappa.durable.settings import DurableSettings
from kappa.durable.store import DurableStore, ExecutionKey
from kappa.durable.summary import Identity
from tests.integration import nats_harness
from tests.integration.asyncq.conftest import async_gateway
from tests.integration.brokers import NatsServer
from tests.integration.durable.stack import durable_stack, task_root
from tests.integration.gateway.conftest import lambda_client, start_agent, start_gateway

nats_server = nats_harness.nats_server  # a nats-server of each test's own
# The fixtures of the whole path (shared with the async queue's and the gateway's tests).
__all__ = ["async_gateway", "durable_stack", "lambda_client", "start_agent", "start_gateway",
           "task_root"]  # fmt: skip

T0 = 1_700_000_000_000


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    """The durable key, as the chart's Secret mounts it (KAPPA_DURABLE_KEYS_DIR)."""
    directory = tmp_path / "durable-keys"
    directory.mkdir()
    (directory / "current").write_bytes(secrets.token_bytes(32))
    return directory


KEY = ExecutionKey("team", "orders", "order-1")
JS_TIMEOUT = 2.0


def identity(key: ExecutionKey = KEY, payload: str = '{"n":1}') -> Identity:
    arn = (
        f"arn:aws:lambda:us-east-1:{key.namespace}:function:{key.function}:$LATEST"
        f"/durable-execution/{key.name}/ex-{key.name}"
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()
    return Identity(arn, f"ex-{key.name}", "$LATEST", digest)


def started(key: ExecutionKey = KEY, payload: str = '{"n":1}') -> Decision:
    """``decider.start``'s decision for a new execution of ``key``."""
    return start(f"ex-{key.name}", payload, 3600, T0)


def claim(invocation: str = "inv1") -> Any:
    """A ``decide`` that makes ``invocation`` the current one (``decider.invoke``)."""
    return lambda state: invoke(state, invocation, T0 + 1)


def step_succeeds(
    operation: str, payload: str = '"ok"', invocation: str = "inv1", now: int = T0 + 10
) -> Any:
    """A ``decide``: the current invocation checkpoints STEP ``operation`` SUCCEED."""

    def decide(state: Execution) -> Decision | Refusal:
        update = OperationUpdate(
            operation, OperationType.STEP, OperationAction.SUCCEED, name=operation, payload=payload
        )
        call = CheckpointCall(invocation, state.fields.token_sequence, None, (update,))
        return checkpoint(state, call, now, lambda op: f"cb-{op}")

    return decide


async def connect(server: NatsServer) -> Any:
    return await nats.connect(
        server.url,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        connect_timeout=2,
    )


async def store_on(
    server: NatsServer, settings: DurableSettings | None = None
) -> tuple[Any, DurableStore]:
    """A connection and a store set up on it."""
    nc = await connect(server)
    store = DurableStore(nc.jetstream(timeout=JS_TIMEOUT), settings or DurableSettings())
    await store.setup()
    return nc, store
