"""The agent tells the gateways it is ready: the real agent, with a real runtime, posts
its readiness push to every address it was given once its runtime reached ``/next``.

The gateways here are plain HTTP servers on loopback that record what they get (the
gateway's side of the push is tested in tests/unit/invocation/test_ready_push_view.py and
e2e/test_cold_start.py); one address answers nothing, and the agent serves all the same.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kappa.base import ready_push
from tests.integration.agent.agent_harness import StartAgent, python_bootstrap

pytestmark = pytest.mark.integration

UID = "fafb9981-7e77-4bd4-9135-8179bd8e1d35"
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"


class Recorder(http.server.BaseHTTPRequestHandler):
    got: list[tuple[str, bytes]]
    arrived: threading.Event

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).got.append((self.path, body))
        type(self).arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def gateways() -> Iterator[list[tuple[str, type[Recorder]]]]:
    """Two recording servers: (their address, their handler class with what it got)."""
    servers = []
    found = []
    for _ in range(2):
        handler = type("Recorder", (Recorder,), {"got": [], "arrived": threading.Event()})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        found.append((f"127.0.0.1:{server.server_address[1]}", handler))
    yield found
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_agent_tells_every_gateway_once_its_runtime_is_ready(
    start_agent: StartAgent,
    task_root: Path,
    tmp_path: Path,
    gateways: list[tuple[str, type[Recorder]]],
) -> None:
    (task_root / "app.py").write_text(HANDLER)
    addresses = [address for address, _ in gateways] + [f"127.0.0.1:{closed_port()}"]
    agent = start_agent(
        handler="app.handler",
        bootstrap=python_bootstrap(tmp_path),
        agent_ready_push=",".join(addresses),
        pod_name="echo-b6c1ab-427785",
        pod_namespace="team",
        pod_uid=UID,
    )
    for _, handler in gateways:
        assert handler.arrived.wait(10), "no readiness push arrived"  # a hang guard only
        [(path, body)] = handler.got
        assert path == ready_push.PATH
        assert ready_push.decode(body) == ready_push.ReadyPush("team", "echo-b6c1ab-427785", UID)
    # The unreachable one changed nothing: the agent serves.
    reply = agent.invoke({})
    assert reply.status == 200
    assert json.loads(reply.body) == {"ok": True}
