"""The real agent's HTTP/1.1 server against raw sockets: malformed framing, slow heads, the cap.

Each malformed request is answered 400 and its connection closed; a slow head
is closed after the header timeout; connections over the cap are closed at
once. After each, a normal invocation still works.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import Agent, StartAgent, python_bootstrap

HANDLERS = Path(__file__).parent / "handlers"
# Long enough that a loaded machine still sends a whole head in time; the
# slow-header test waits for it to pass.
HEADER_TIMEOUT = 1.0
MAX_CONNECTIONS = 4
# A deadline against a hang, not a bound on speed.
HANG = 30.0


@pytest.fixture
def agent(start_agent: StartAgent, task_root: Path, tmp_path: Path) -> Agent:
    shutil.copy(HANDLERS / "app.py", task_root / "app.py")
    return start_agent(
        handler="app.echo",
        bootstrap=python_bootstrap(tmp_path),
        header_timeout_seconds=HEADER_TIMEOUT,
        max_connections=MAX_CONNECTIONS,
    )


def connect(agent: Agent) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", agent.port), timeout=HANG)
    sock.settimeout(HANG)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the agent sends until it closes the connection (a reset counts as closed)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def assert_invoke_works(agent: Agent) -> None:
    reply = agent.invoke({"after": "guard"})
    assert reply.status == 200
    result = reply.json()
    assert isinstance(result, dict)
    assert result["event"] == {"after": "guard"}


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(
            b"POST /invoke HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"-1\r\nx\r\n0\r\n\r\n",
            id="negative-chunk-size",
        ),
        pytest.param(
            b"POST /invoke HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n",
            id="underscore-in-chunk-size",
        ),
        pytest.param(
            b"POST /invoke HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 7\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            id="transfer-encoding-and-content-length",
        ),
    ],
)
def test_a_malformed_request_is_answered_400_and_closed(agent: Agent, request_bytes: bytes) -> None:
    with connect(agent) as sock:
        sock.sendall(request_bytes)
        received = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 400 "), agent.output()
    assert b"\r\nConnection: close\r\n" in received
    assert_invoke_works(agent)


def test_a_slow_head_is_closed_after_the_header_timeout(agent: Agent) -> None:
    with connect(agent) as sock:
        sock.sendall(b"POST /invoke HTTP/1.1\r\nHost: a\r\n")  # and never the rest
        assert read_until_closed(sock) == b""
    assert_invoke_works(agent)


def test_a_silent_connection_is_closed_after_the_header_timeout(agent: Agent) -> None:
    with connect(agent) as sock:
        assert read_until_closed(sock) == b""
    assert_invoke_works(agent)


@pytest.fixture
def held(agent: Agent) -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


def test_connections_over_the_cap_are_closed(agent: Agent, held: list[socket.socket]) -> None:
    # Each held connection has sent part of a head: the agent keeps it until the header timeout.
    for _ in range(MAX_CONNECTIONS):
        sock = connect(agent)
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        held.append(sock)
    with connect(agent) as extra:
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        assert read_until_closed(extra) == b""
    agent.wait_for(f"{MAX_CONNECTIONS} connections open: closing new ones")
    for sock in held:
        sock.close()
    assert_invoke_works(agent)


def test_a_kept_alive_connection_serves_requests_one_after_another(agent: Agent) -> None:
    with connect(agent) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            reply = b""
            while not reply.endswith(b"ok"):
                chunk = sock.recv(65536)
                assert chunk, f"closed after {reply!r}"
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert_invoke_works(agent)


def test_an_idle_kept_alive_connection_is_closed(
    start_agent: StartAgent, task_root: Path, tmp_path: Path
) -> None:
    shutil.copy(HANDLERS / "app.py", task_root / "app.py")
    agent = start_agent(
        handler="app.echo", bootstrap=python_bootstrap(tmp_path), idle_timeout_seconds=0.5
    )
    with connect(agent) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        reply = read_until_closed(sock)  # the answer, then the close once idle
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert reply.endswith(b"ok")
    assert b"Connection: close" not in reply  # kept alive, until idle
    assert_invoke_works(agent)
