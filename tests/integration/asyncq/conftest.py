"""Fixtures: a real nats-server, real agents running handlers/asyncfns.py, real gateways."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration import nats_harness
from tests.integration.brokers import NatsServer
from tests.integration.gateway.conftest import (  # noqa: F401 - fixtures, shared
    StartGateway,
    lambda_client,
    start_agent,
    start_gateway,
)
from tests.integration.gateway.gateway_harness import Gateway

HANDLERS = Path(__file__).parent / "handlers"

nats_server = nats_harness.nats_server  # a nats-server of each test's own

# Short delays so that retries take fractions of a second (settings, as a deployment sets).
FAST = {
    "KAPPA_ASYNC_RETRY_DELAYS": "0.3,0.6",
    "KAPPA_ASYNC_REQUEUE_MIN_SECONDS": "0.1",
    "KAPPA_ASYNC_REQUEUE_MAX_SECONDS": "0.4",
    "KAPPA_ASYNC_ACK_WAIT_SECONDS": "5",
}


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    shutil.copytree(HANDLERS, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


StartAsyncGateway = Callable[..., Gateway]


@pytest.fixture
def async_gateway(nats_server: NatsServer, request: pytest.FixtureRequest) -> StartAsyncGateway:
    """A gateway with asynchronous invocation on the test's nats-server, fast retries."""
    launch: StartGateway = request.getfixturevalue("start_gateway")

    def start(functions: list[dict[str, Any]], env: dict[str, str] | None = None,
              **settings: str | float) -> Gateway:  # fmt: skip
        extra = {"KAPPA_NATS_URL": nats_server.url, **FAST, **(env or {})}
        gateway = launch(functions, extra_env=extra, **settings)
        gateway.reader.wait_for("async workers started")
        return gateway

    return start


Calls = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def calls(tmp_path: Path) -> Calls:
    """The calls handlers/asyncfns.py recorded for a Function, once there are ``count``."""

    def read(name: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        path = tmp_path / f"calls-{name}.jsonl"
        deadline = time.monotonic() + timeout
        while True:
            lines = path.read_text().splitlines() if path.exists() else []
            if len(lines) >= count:
                return [json.loads(line) for line in lines]
            assert time.monotonic() < deadline, f"{name}: {len(lines)} calls, not {count}"
            time.sleep(0.05)

    return read


def with_async(entry: dict[str, Any], **config: Any) -> dict[str, Any]:
    """A registry entry with ``async`` settings (camelCase keys, as in the Function spec)."""
    return {**entry, "async": config}
