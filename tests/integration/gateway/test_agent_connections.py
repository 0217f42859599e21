"""The gateway's connections to agents: kept alive across calls, and given up when they end.

A stand-in agent (a threaded HTTP/1.1 server in the test) counts the connections it
accepts and the requests on each; the real gateway calls it as it calls an agent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.gateway.conftest import StartGateway

pytestmark = pytest.mark.integration

INVOKE = "/2015-03-31/functions/echo/invocations"


@dataclass
class StandIn:
    """What the stand-in agent saw, and how it answers."""

    port: int = 0
    connections: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    close_after_answer: bool = False  # say Connection: close, and close
    drop_after_answer: bool = False  # close without saying so (an agent's idle timeout)
    lock: threading.Lock = field(default_factory=threading.Lock)


def stand_in_server(seen: StandIn) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with seen.lock:
                seen.connections += 1

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with seen.lock:
                seen.requests.append(dict(self.headers.items()))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Kappa-Billed-Duration-Ms", "1")
            self.send_header("Content-Length", str(len(body)))
            if seen.close_after_answer:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            if seen.drop_after_answer:
                self.close_connection = True

        def log_message(self, *_args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    seen = StandIn()
    server = stand_in_server(seen)
    seen.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()


def registry(seen: StandIn, slots: int = 8) -> list[dict[str, object]]:
    return [{
        "name": "echo", "runtime": "python3.11", "handler": "fns.echo", "timeoutSeconds": 3,
        "concurrency": {"perPod": slots},
        "endpoints": [{"pod": "echo-0", "address": f"127.0.0.1:{seen.port}", "slots": slots}],
    }]  # fmt: skip


def test_many_calls_one_after_another_share_one_connection_to_the_agent(
    stand_in: StandIn, start_gateway: StartGateway
) -> None:
    gateway = start_gateway(registry(stand_in))
    for index in range(25):
        reply = gateway.request("POST", INVOKE, json.dumps({"n": index}).encode())
        assert reply.status == 200
        assert reply.json() == {"n": index}
    assert len(stand_in.requests) == 25
    assert stand_in.connections == 1
    # Each call is its own request, with its own id and deadline.
    assert len({r["X-Kappa-Request-Id"] for r in stand_in.requests}) == 25
    assert all(r["X-Kappa-Deadline-Ms"].isdigit() for r in stand_in.requests)


def test_calls_at_once_open_a_connection_each_and_keep_them_for_the_next_calls(
    stand_in: StandIn, start_gateway: StartGateway
) -> None:
    gateway = start_gateway(registry(stand_in))

    def call(index: int) -> int:
        return gateway.request("POST", INVOKE, json.dumps({"n": index}).encode()).status

    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            assert list(pool.map(call, range(4))) == [200] * 4
    assert len(stand_in.requests) == 20
    # At most one connection per call that was ever in flight at once, never one per call.
    assert stand_in.connections <= 4


@pytest.mark.parametrize("how", ["close_after_answer", "drop_after_answer"])
def test_a_connection_the_agent_ends_is_not_used_again(
    how: str, stand_in: StandIn, start_gateway: StartGateway
) -> None:
    setattr(stand_in, how, True)
    gateway = start_gateway(registry(stand_in))
    for index in range(5):
        reply = gateway.request("POST", INVOKE, json.dumps({"n": index}).encode())
        assert reply.status == 200, reply.body
        assert reply.json() == {"n": index}
    assert stand_in.connections == 5
