"""Helpers to run the real gateway (`python -m kappa gateway --registry FILE`) on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.agent.agent_harness import Agent, Reply

REGION = "us-east-1"


def arn(name: str, namespace: str = "default") -> str:
    return f"arn:aws:lambda:{REGION}:{namespace}:function:{name}"


def function_entry(
    name: str,
    agents: Sequence[Agent] = (),
    *,
    namespace: str = "default",
    handler: str = "fns.echo",
    slots: int = 1,
    timeout: float = 3,
    reserved: int | None = None,
    ready: bool = True,
    memory_mb: int = 256,
) -> dict[str, Any]:
    """One function of a registry file, its endpoints the given agents."""
    entry: dict[str, Any] = {
        "namespace": namespace,
        "name": name,
        "runtime": "python3.11",
        "handler": handler,
        "memoryMB": memory_mb,
        "timeoutSeconds": timeout,
        "concurrency": {"perPod": slots},
        "endpoints": [
            {"pod": f"{name}-{index}", "address": f"127.0.0.1:{agent.port}", "slots": slots,
             "ready": ready}
            for index, agent in enumerate(agents)
        ],
    }  # fmt: skip
    if reserved is not None:
        entry["concurrency"]["reserved"] = reserved
    return entry


@dataclass
class Gateway:
    """A running gateway process (its output read by an Agent reader: same mechanics)."""

    reader: Agent
    registry_file: Path
    port: int = 0
    functions: list[dict[str, Any]] = field(default_factory=list)
    killed: bool = False  # SIGKILLed on purpose: its exit status says nothing

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        self.reader.port = self.port
        return self.reader.request(method, path, body, headers, timeout)

    def set_functions(self, functions: list[dict[str, Any]]) -> None:
        """Rewrite the registry file; the gateway re-reads it within about half a second."""
        self.functions = functions
        temporary = self.registry_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"functions": functions}))
        temporary.replace(self.registry_file)

    def output(self) -> str:
        return self.reader.output()

    def metric(self, name: str) -> float:
        """The value of one unlabelled (or summed) sample in /metrics."""
        text = self.request("GET", "/metrics").body.decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and (line[len(name)] in " {"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def samples(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        """Every sample called ``name`` in /metrics, by its sorted labels."""
        text = self.request("GET", "/metrics").body.decode()
        return {
            tuple(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name
        }

    def sample(self, name: str, **labels: str) -> float:
        """The value of the sample ``name`` with exactly ``labels``; 0 when there is none."""
        return self.samples(name).get(tuple(sorted(labels.items())), 0.0)

    def kill(self) -> None:
        """SIGKILL: no goodbye to NATS, nothing in hand acked or handed back."""
        self.killed = True
        self.reader.process.kill()
        self.reader.process.wait(10)

    def stop(self) -> None:
        process = self.reader.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.reader.stop()
