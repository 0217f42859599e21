"""Fixtures: real agents with real awslambdaric handlers, and real gateway processes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.integration.agent.agent_harness import (
    LISTENING,
    SOURCE_ROOT,
    Agent,
    LaunchAgent,
    pod_environment,
    python_bootstrap,
)
from tests.integration.gateway.gateway_harness import REGION, Gateway, arn

HANDLERS = Path(__file__).parent / "handlers"

StartFunctionAgent = Callable[..., Agent]
StartGateway = Callable[..., Gateway]


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    for source in HANDLERS.glob("*.py"):
        shutil.copy(source, root / source.name)
    return root


@pytest.fixture
def start_agent(launch_agent: LaunchAgent, tmp_path: Path, task_root: Path) -> StartFunctionAgent:
    """Start a real agent running handlers/fns.py with awslambdaric, ready."""
    bootstrap = python_bootstrap(tmp_path)

    def start(
        handler: str = "fns.echo",
        *,
        name: str = "echo",
        namespace: str = "default",
        slots: int = 1,
        timeout: float = 3,
        memory_mb: int = 256,
        env: Mapping[str, str] | None = None,
    ) -> Agent:
        """``env``: more of the pod's variables (the Function's ``env``), set last."""
        pod = pod_environment(
            path=os.environ.get("PATH", "/usr/bin:/bin"),
            home=tmp_path,
            runtime="python3.11",
            handler=handler,
            task_root=task_root,
            bootstrap=bootstrap,
            settings={"slots": slots, "timeout_seconds": timeout},
        )
        pod["KAPPA_FUNCTION_ARN"] = arn(name, namespace)
        pod["AWS_LAMBDA_FUNCTION_NAME"] = name
        pod["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(memory_mb)
        pod.update(env or {})
        return launch_agent(pod)

    return start


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[StartGateway]:
    """Start `python -m kappa gateway --registry FILE` on a free loopback port."""
    started: list[Gateway] = []

    def start(
        functions: list[dict[str, Any]],
        *,
        extra_env: dict[str, str] | None = None,
        namespace_limits: dict[str, int] | None = None,
        namespace_queued_events: dict[str, int] | None = None,
        namespace_queued_bytes: dict[str, int] | None = None,
        stdout_file: Path | None = None,
        **settings: str | float,
    ) -> Gateway:
        """A gateway; its stdout and stderr read as one, or stderr alone with ``stdout_file``."""
        registry_file = tmp_path / f"registry-{len(started)}.json"
        document: dict[str, Any] = {"functions": functions}
        if namespace_limits is not None:
            document["namespaceLimits"] = namespace_limits
        if namespace_queued_events is not None:
            document["namespaceQueuedEvents"] = namespace_queued_events
        if namespace_queued_bytes is not None:
            document["namespaceQueuedBytes"] = namespace_queued_bytes
        registry_file.write_text(json.dumps(document))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            # The source tree under test, whatever copy of kappa is installed.
            "PYTHONPATH": str(SOURCE_ROOT),
            "KAPPA_GATEWAY_HOST": "127.0.0.1",
            "KAPPA_GATEWAY_PORT": "0",
            "KAPPA_LOG_LEVEL": "DEBUG",
            # No cluster to check callers against here (tests/unit/auth and e2e test authentication).
            "KAPPA_GATEWAY_AUTH": "none",
        }
        env.update({f"KAPPA_GATEWAY_{key.upper()}": str(value) for key, value in settings.items()})
        env.update(extra_env or {})
        with contextlib.ExitStack() as files:
            stdout = (
                subprocess.PIPE
                if stdout_file is None
                else files.enter_context(stdout_file.open("wb"))
            )
            process = subprocess.Popen(
                [sys.executable, "-m", "kappa", "gateway", "--registry", str(registry_file)],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT if stdout_file is None else subprocess.PIPE,
                env=env,
                cwd=tmp_path,
            )
        reader = Agent(process, tmp_path / "unused")
        reader.start_reading()
        gateway = Gateway(reader, registry_file, functions=functions)
        started.append(gateway)
        gateway.port = int(reader.wait_for(LISTENING.pattern).group(1))
        return gateway

    yield start
    problems = []
    for gateway in started:
        gateway.stop()
        status = gateway.reader.process.returncode
        output = gateway.output()
        if (status != 0 and not gateway.killed) or any(sign in output for sign in _TROUBLE):
            problems.append(f"gateway exited {status}:\n{output}")
    assert not problems, "\n".join(problems)


# What a clean gateway never prints, even while stopping.
_TROUBLE = ("Traceback", "never retrieved", "Unclosed", "was destroyed but it is pending")


LambdaClient = Callable[..., Any]


@pytest.fixture
def lambda_client() -> Iterator[LambdaClient]:
    """boto3 Lambda clients pointed at a gateway; no retries, so throttles are seen as they are."""
    clients: list[Any] = []

    def make(gateway: Gateway, *, retries: int = 1, read_timeout: float = 30) -> Any:
        client = boto3.session.Session().client(
            "lambda",
            endpoint_url=gateway.url,
            region_name=REGION,
            aws_access_key_id="x",
            aws_secret_access_key="x",  # noqa: S106 - dummy: Kappa does not check
            config=Config(
                retries={"total_max_attempts": retries, "mode": "standard"},
                read_timeout=read_timeout,
                connect_timeout=5,
            ),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
