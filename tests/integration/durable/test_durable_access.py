"""Who may list and steer executions: the durable routes on a gateway that checks callers.

The gateway runs in this process (its app, on loopback) with a real ``DurableService`` on
a real nats-server; the guard's view of the cluster (which token is whose, what RBAC
allows) is a stand-in, as no Kubernetes API server runs here: ``viewer`` may ``get`` and
``list`` ``functions/durableexecutions``, ``outsider`` may do nothing. The CLI runs as a
process against it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from aiohttp import web

from kappa.auth.access import Access
from kappa.auth.access_keys import AccessKey
from kappa.auth.guard import Guard
from kappa.auth.subject import Subject
from kappa.durable import service as durable
from kappa.durable import settings as durable_settings
from kappa.durable.store import DurableStore
from kappa.gateway.app import Gateway
from kappa.gateway.durable_api import DurableApi
from kappa.gateway.settings import GatewaySettings
from kappa.invocation.registry import StaticRegistry
from tests.integration import nats_harness
from tests.integration.brokers import NatsServer

pytestmark = [
    pytest.mark.integration,
    # The gateway keeps the caller under a string key (as it has since before aiohttp's
    # RequestKey); the gateway's process does not turn that warning into an error.
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]

nats_server = nats_harness.nats_server
__all__ = ["nats_server"]

REGION = "us-east-1"
NAMESPACE = "team-a"
FUNCTION = "orders"


class Cluster:
    """The guard's view of the cluster: two tokens, RBAC allowing ``viewer`` reads only."""

    async def token(self, token: str) -> Subject | None:
        return Subject(token) if token in {"viewer", "outsider"} else None

    async def access(self, subject: Subject, access: Access) -> bool:
        return subject == Subject("viewer") and access.verb in {"get", "list"}

    async def key(self, _access_key_id: str) -> AccessKey | None:
        return None


class Running:
    """The gateway's app with the durable routes, on a loop of its own, and the service."""

    def __init__(self, server: NatsServer, keys_dir: Path) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.nc = self.call(nats.connect(server.url, connect_timeout=2))
        store = DurableStore(self.nc.jetstream(timeout=5), durable_settings.DurableSettings())
        self.call(store.setup())
        (keys_dir / "current").write_bytes(secrets.token_bytes(32))
        keys = durable.load_keys(keys_dir)
        self.service = durable.DurableService(store, keys, region=REGION)
        guard = Guard(Cluster(), region=REGION)
        api = DurableApi(self.service, guard)
        app = Gateway(GatewaySettings(), StaticRegistry(), guard=guard, control=(api,)).app()
        self._runner = web.AppRunner(app)
        self.call(self._runner.setup())
        self.call(web.TCPSite(self._runner, "127.0.0.1", 0).start())
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def start(self, name: str) -> str:
        started = self.call(
            self.service.start(namespace=NAMESPACE, function=FUNCTION, version="$LATEST",
                               name=name, payload="{}", timeout_seconds=3600)
        )  # fmt: skip
        return str(started.arn)

    def stop(self) -> None:
        self.call(self._runner.cleanup())
        self.call(self.nc.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def running(nats_server: NatsServer, tmp_path: Path) -> Iterator[Running]:
    made = Running(nats_server, tmp_path)
    yield made
    made.stop()


def kappa_executions(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "kappa", "executions", *args, "--gateway", url],
        capture_output=True, text=True, check=False, timeout=60,
        env={**env, "KAPPA_TOKEN": token},
    )  # fmt: skip


def status_of(url: str, token: str | None) -> int:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        refused.close()
        return refused.code


def test_only_a_caller_rbac_allows_lists_shows_or_stops(running: Running) -> None:
    arn = running.start("order-1")
    listed = kappa_executions(running.url, "viewer", FUNCTION, "-n", NAMESPACE)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["order-1"]
    assert kappa_executions(running.url, "viewer", "show", arn).returncode == 0

    refused = kappa_executions(running.url, "outsider", FUNCTION, "-n", NAMESPACE)
    assert refused.returncode == 1
    assert "403" in refused.stderr
    assert "403" in kappa_executions(running.url, "outsider", "show", arn).stderr
    # Reading is not stopping: the viewer's stop is refused and the execution runs on.
    stop = kappa_executions(running.url, "viewer", "stop", arn)
    assert stop.returncode == 1
    assert "403" in stop.stderr
    glance = f"{running.url}/kappa/v1/namespaces/{NAMESPACE}/functions/{FUNCTION}"
    assert status_of(f"{glance}/durable-executions", None) in {401, 403}
    assert status_of(f"{glance}/durable-executions", "viewer") == 200
    # Hostile queries of an allowed caller: 400, and the gateway keeps serving.
    for query in ("?marker=x", "?limit=99999999999999999999", "?limit=-1", "?qualifier=%00"):
        assert status_of(f"{glance}/durable-executions{query}", "viewer") == 400, query
    assert status_of(f"{glance}/durable-executions", "viewer") == 200
    shown = kappa_executions(running.url, "viewer", "show", arn)
    assert "Status:   RUNNING" in shown.stdout.splitlines()
