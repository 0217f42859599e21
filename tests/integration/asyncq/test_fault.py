"""Nothing lost: 10,000 events while the gateway (publisher and workers) is SIGKILLed three
times and nats-server is restarted once. Every accepted event is processed, and none is
dead-lettered (the handler is a no-op: a dead letter would be an event the faults cost).
Duplicates are reported and bounded: at-least-once delivery runs again only an event that
was in a worker's hands when a fault struck (a handler that ended just before its gateway
died), so no more than the workers' count per fault."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent.agent_harness import Agent
from tests.integration.asyncq.conftest import FAST
from tests.integration.brokers import NatsServer, free_port
from tests.integration.gateway.conftest import StartFunctionAgent
from tests.integration.gateway.gateway_harness import function_entry
from tests.integration.nats_harness import with_connection
from tests.integration.waiting import wait_until

EVENTS = 10_000
SENDERS = 16
WORKERS = 64  # KAPPA_ASYNC_WORKERS: the events one gateway holds at a time
PATH = "/2015-03-31/functions/noop/invocations"


class GatewayProcess:
    """`kappa gateway` on a fixed port, killed and started again by the test."""

    def __init__(self, tmp_path: Path, registry: Path, nats_url: str) -> None:
        self.port = free_port()
        self.log = tmp_path / "gateway.log"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # The checkout under test, when the runner points there (a worktree beside an installed one).
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "HOME": str(tmp_path),
            "KAPPA_GATEWAY_HOST": "127.0.0.1",
            "KAPPA_GATEWAY_PORT": str(self.port),
            "KAPPA_GATEWAY_AUTH": "none",  # no cluster to check callers against here
            "KAPPA_NATS_URL": nats_url,
            "KAPPA_ASYNC_WORKERS": str(WORKERS),
            **FAST,
        }
        self.argv = [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry)]
        self.process: subprocess.Popen[bytes] | None = None
        self.cwd = tmp_path

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Senders:
    """Threads sending Event invocations, each retried (same invocation id) until a 202."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.accepted: dict[str, str] = {}  # invocation id → request id
        self.failures = 0
        self._ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._send, args=(i,)) for i in range(SENDERS)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(300)

    def _send(self, index: int) -> None:
        connection: http.client.HTTPConnection | None = None
        for invocation_id in self._ids[index::SENDERS]:
            while True:
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                    connection.request("POST", PATH, json.dumps({"id": invocation_id}), {
                        "X-Amz-Invocation-Type": "Event", "amz-sdk-invocation-id": invocation_id,
                    })  # fmt: skip
                    response = connection.getresponse()
                    response.read()
                    if response.status == 202:
                        with self._lock:
                            self.accepted[invocation_id] = response.getheader("x-amzn-RequestId")
                        break
                except (OSError, http.client.HTTPException):
                    if connection is not None:
                        connection.close()
                    connection = None
                with self._lock:
                    self.failures += 1
                time.sleep(0.05)
        if connection is not None:
            connection.close()


@pytest.fixture
def noop_agents(start_agent: StartFunctionAgent) -> list[Agent]:
    return [start_agent("asyncfns.noop", name="noop", slots=4) for _ in range(2)]


@pytest.fixture
def gateway_process(
    tmp_path: Path, nats_server: NatsServer, noop_agents: list[Agent]
) -> Iterator[GatewayProcess]:
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"functions": [function_entry("noop", noop_agents, slots=4)]}))
    gateway = GatewayProcess(tmp_path, registry, nats_server.url)
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.mark.timeout(240)
def test_no_event_is_lost_through_gateway_kills_and_a_nats_restart(
    tmp_path: Path, nats_server: NatsServer, gateway_process: GatewayProcess
) -> None:
    senders = Senders(gateway_process.port)
    senders.start()
    # Faults at about a fifth, two fifths, three fifths (gateway) and half (nats-server)
    # of the events accepted.
    faults = [(EVENTS // 5, "kill"), (2 * EVENTS // 5, "kill"), (EVENTS // 2, "nats"),
              (3 * EVENTS // 5, "kill")]  # fmt: skip
    for threshold, fault in faults:
        wait_until(lambda t=threshold: len(senders.accepted) >= t, 120, f"{threshold} accepted")
        if fault == "kill":
            gateway_process.kill()
            time.sleep(0.3)
            gateway_process.start()
        else:
            nats_server.restart()
    senders.join()
    assert len(senders.accepted) == EVENTS
    calls_file = tmp_path / "calls-noop.jsonl"
    accepted = set(senders.accepted.values())

    def runs() -> Counter[str]:
        return Counter(calls_file.read_text().split()) if calls_file.exists() else Counter()

    wait_until(lambda: accepted <= set(runs()) | dead_lettered(nats_server), 120,
               "every accepted event to be processed or dead-lettered")  # fmt: skip
    counted = runs()
    dead = dead_lettered(nats_server)
    twice = sum(1 for n in counted.values() if n > 1)
    print(  # noqa: T201 - the figure the test exists to show
        f"\n{EVENTS} events accepted ({senders.failures} sends retried across faults); "
        f"processed {len(accepted & set(counted))}, dead-lettered {len(accepted & dead)}, "
        f"ran twice {twice}, ran more than twice {sum(1 for n in counted.values() if n > 2)}"
    )
    assert set(counted) <= accepted  # nothing ran that was not accepted
    assert accepted <= set(counted), "accepted events that never ran"
    assert not accepted & dead, f"{len(accepted & dead)} events of a no-op handler dead-lettered"
    # Only an event in a worker's hands at one of the faults can run again.
    assert twice <= len(faults) * WORKERS, f"{twice} events ran twice"
    wait_until(lambda: queued(nats_server) == 0, 60, "every event to be acked")


def queued(server: NatsServer) -> int:
    async def read(nc: Any) -> int:
        info = await nc.jetstream().stream_info("kappa-events_default")
        return int(info.state.messages)

    return with_connection(server, read)  # type: ignore[no-any-return]


def dead_lettered(server: NatsServer) -> set[str]:
    async def read(nc: Any) -> set[str]:
        js = nc.jetstream()
        found: set[str] = set()
        try:
            info = await js.stream_info("kappa-dlq")
        except Exception:  # noqa: BLE001 - no stream yet: nothing dead-lettered
            return found
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg("kappa-dlq", seq=sequence)
            found.add((message.headers or {}).get("RequestID", ""))
        return found

    return with_connection(server, read)  # type: ignore[no-any-return]
