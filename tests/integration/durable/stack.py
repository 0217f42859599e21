"""Durable Functions run end to end on loopback: a nats-server, the gateway, a real agent.

The gateway (``python -m kappa gateway``) has NATS and the durable key, so it serves the
durable API and runs executions (``durable/runner.py``); each Function's registry entry
carries ``durable`` (as ``spec.durable``) and one agent running awslambdaric with a handler
of ``handlers/durable_fns.py`` on the real aws-durable-execution-sdk-python. The SDK's boto3
client finds the gateway through ``AWS_ENDPOINT_URL_LAMBDA``, as in a durable Function's pod.

One stand-in: the pod signs with static keys, not the pod credential a cluster gives it
(the agent's credentials endpoint needs a TokenReview; this gateway authenticates no one,
and agent/test_pod_credentials.py tests that endpoint).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent.agent_harness import Agent
from tests.integration.asyncq.conftest import StartAsyncGateway
from tests.integration.brokers import NatsServer, free_port
from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent
from tests.integration.gateway.gateway_harness import REGION, Gateway, function_entry

HANDLERS = Path(__file__).parent / "handlers"
# Only guards against a hang: nothing here is timed.
HANG_GUARD = 60.0
# A short lease for timers in a killed gateway's hand (the default is 30 s).
ACK_WAIT = {"KAPPA_DURABLE_ACK_WAIT_SECONDS": "3"}
FUNCTION_TIMEOUT = 30


@dataclass
class DurableStack:
    """The processes of one test, and what they left behind."""

    nats: NatsServer
    effects: Path
    port: int
    entries: list[dict[str, Any]]
    launch: Callable[[int], Gateway]  # a durable gateway on that port
    start_pod: Callable[[str, str], Agent]  # (Function, handler) -> its agent, ready
    gateway: Gateway
    agents: dict[str, Agent] = field(default_factory=dict)

    def runs(self, kind: str) -> int:
        """How many times the handlers recorded ``kind`` (a step's run, an invocation)."""
        return len(list(self.effects.glob(f"{kind}.*")))

    def replace_pod(self, name: str) -> Agent:
        """SIGKILL the Function's agent and its runtimes (a pod lost), start another in its
        place and give the gateway its address."""
        old = self.agents[name].process
        for pid in [*descendants(old.pid), old.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        old.wait(10)
        entry = next(e for e in self.entries if e["name"] == name)
        agent = self.start_pod(name, entry["handler"])
        self.agents[name] = agent
        entry["endpoints"] = function_entry(name, [agent])["endpoints"]
        self.gateway.set_functions(self.entries)
        return agent

    def kill_gateway(self) -> None:
        self.gateway.kill()

    def start_gateway(self) -> Gateway:
        """Another gateway on the same address (the agents' AWS_ENDPOINT_URL_LAMBDA)."""
        self.gateway = self.launch(self.port)
        return self.gateway

    def replica(self) -> Gateway:
        """Another gateway replica on the same NATS, at an address of its own."""
        return self.launch(free_port())


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    """The agents' task root: handlers/ (a test may add modules before starting)."""
    root = tmp_path / "task"
    shutil.copytree(HANDLERS, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


StartStack = Callable[..., DurableStack]


@pytest.fixture
def durable_stack(
    nats_server: NatsServer,
    async_gateway: StartAsyncGateway,
    start_agent: StartFunctionAgent,
    keys_dir: Path,
    tmp_path: Path,
) -> StartStack:
    """Start agents for ``functions`` (name -> handler) and a durable gateway in front of them."""

    def start(
        functions: Mapping[str, str],
        *,
        execution_timeout: int = 300,
        timeout: int = FUNCTION_TIMEOUT,
        **env: str,
    ) -> DurableStack:
        """``timeout``: the Functions' (an invocation's lease is that and 30 s)."""
        port = free_port()
        effects = tmp_path / "effects"
        effects.mkdir(exist_ok=True)
        pod_env = {
            "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{port}",
            "AWS_DEFAULT_REGION": REGION,  # botocore's (AWS_REGION is Lambda's); pods.py sets both
            "AWS_ACCESS_KEY_ID": "kappa-test",
            "AWS_SECRET_ACCESS_KEY": "kappa-test",  # static keys: see the module's docstring
            "DURABLE_EFFECTS_DIR": str(effects),
        }

        def start_pod(name: str, handler: str) -> Agent:
            return start_agent(handler, name=name, timeout=timeout, env=pod_env)

        agents, entries = {}, []
        for name, handler in functions.items():
            agent = start_pod(name, handler)
            agents[name] = agent
            entry = function_entry(name, [agent], handler=handler, timeout=timeout)
            entries.append(entry | {"durable": {"executionTimeoutSeconds": execution_timeout}})
        settings = {"KAPPA_DURABLE_KEYS_DIR": str(keys_dir), **ACK_WAIT, **env}

        def launch(on: int) -> Gateway:
            gateway = async_gateway(entries, env=settings, port=on)
            gateway.reader.wait_for("durable timers: workers started", timeout=HANG_GUARD)
            return gateway

        gateway = launch(port)
        return DurableStack(nats_server, effects, port, entries, launch, start_pod, gateway, agents)

    return start


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (Linux's /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *descendants(int(child))]
    return found


def history(client: Any, arn: str) -> list[dict[str, Any]]:
    """Every event of the execution's history, through boto3's paginator."""
    pages = client.get_paginator("get_durable_execution_history").paginate(
        DurableExecutionArn=arn, IncludeExecutionData=True
    )
    return [event for page in pages for event in page["Events"]]


def wait_for_event(client: Any, arn: str, event_type: str, count: int = 1) -> list[dict[str, Any]]:
    """The history's events of ``event_type`` once there are ``count`` of them."""
    deadline = time.monotonic() + HANG_GUARD
    while True:
        found = [e for e in history(client, arn) if e["EventType"] == event_type]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{arn}: no {event_type} in {history(client, arn)}"
        time.sleep(0.2)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def wait_for_end(client: Any, arn: str, timeout: float = HANG_GUARD) -> dict[str, Any]:
    """GetDurableExecution once the execution has ended."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = client.get_durable_execution(
            DurableExecutionArn=arn, IncludeExecutionData=True
        )
        if found["Status"] != "RUNNING":
            return found
        assert time.monotonic() < deadline, f"{arn} still RUNNING: {history(client, arn)}"
        time.sleep(0.2)


def durable_client(lambda_client: LambdaClient, stack: DurableStack) -> Any:
    """A boto3 Lambda client on the stack's gateway address (it outlives gateway restarts)."""
    return lambda_client(stack.gateway, retries=3)
