"""Real ElasticMQ, real gateway + agents + awslambdaric, and `kappa poller` processes on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.integration.agent.agent_harness import Agent
from tests.integration.waiting import wait_until

REPO = Path(__file__).resolve().parents[3]
ELASTICMQ = REPO / "e2e" / "local" / "elasticmq.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def queue_empty(sqs: Any, url: str) -> bool:
    """Whether the queue holds no message, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return set(attributes.values()) == {"0"}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Poller:
    """A `kappa poller --mapping FILE` process."""

    reader: Agent
    metrics_port: int

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics") as answer:
            return str(answer.read().decode())

    def kill(self) -> None:
        self.reader.process.kill()
        self.reader.process.wait(10)

    def exit_status(self, timeout: float = 60) -> int:
        """The exit status of the process once it ended by itself, its output all read.

        Still running after ``timeout`` seconds: it is stopped and TimeoutExpired raised.
        """
        try:
            return self.reader.process.wait(timeout)
        finally:
            self.reader.stop()

    def healthz(self) -> str:
        """What ``/healthz`` answers; an OSError when nothing listens."""
        url = f"http://127.0.0.1:{self.metrics_port}/healthz"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode())

    def stop(self) -> None:
        self.reader.stop()

    def statuses(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)["status"]
            for line in self.reader.output().splitlines()
            if line.startswith('{"status"')
        ]


def start_poller(
    tmp_path: Path,
    mapping: dict[str, Any],
    gateway_url: str,
    *,
    state: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Poller:
    """A `kappa poller` of ``mapping`` (its process environment plus ``env``), read as it runs."""
    index = len(list(tmp_path.glob("mapping-*.json")))
    metrics_port = free_port()
    mapping_file = tmp_path / f"mapping-{index}.json"
    mapping_file.write_text(json.dumps(mapping))
    argv = [sys.executable, "-m", "kappa", "poller", "--mapping", str(mapping_file)]
    argv += ["--gateway", gateway_url]
    if state is not None:
        argv += ["--state", str(state)]
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO / "operator"),  # this checkout's code, not the venv's
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "KAPPA_LOG_LEVEL": "DEBUG",
            "KAPPA_ESM_REPORT_SECONDS": "0.5",
            "KAPPA_POD_NAME": f"poller-{index}",
            "KAPPA_ESM_METRICS_PORT": str(metrics_port),
            **(env or {}),
        },
        cwd=tmp_path,
    )
    reader = Agent(process, tmp_path / "unused")
    reader.start_reading()
    return Poller(reader, metrics_port)


def sqs_client(endpoint: str) -> Any:
    """A boto3 SQS client of ElasticMQ at ``endpoint``."""
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - ElasticMQ takes any
    )


@dataclass
class ElasticMq:
    process: subprocess.Popen[bytes]
    endpoint: str


def run_elasticmq(log: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[ElasticMq]:
    port = port or free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(ELASTICMQ), "run", host, str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: "started in" in log.read_text(errors="replace"), 90, "ElasticMQ to start"
        )
        yield ElasticMq(process, f"http://{host}:{port}")
    finally:
        process.kill()  # a throwaway in-memory server: nothing to flush
        process.wait(10)
