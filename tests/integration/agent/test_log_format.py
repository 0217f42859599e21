"""spec.loggingConfig in the agent: with AWS_LAMBDA_LOG_FORMAT=JSON the real awslambdaric
writes the handler's records as JSON at AWS_LAMBDA_LOG_LEVEL, and the agent writes START,
END and REPORT as Lambda's platform.* records at KAPPA_SYSTEM_LOG_LEVEL: every line of
the invocation is read by a JSON parser."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agent.agent_harness import (
    Agent,
    LaunchAgent,
    pod_environment,
    python_bootstrap,
)

HANDLERS = Path(__file__).parent / "handlers"


@pytest.fixture
def json_agent(launch_agent: LaunchAgent, task_root: Path, tmp_path: Path) -> Any:
    for source in HANDLERS.glob("*.py"):
        shutil.copy(source, task_root / source.name)

    def start(application_level: str, system_level: str) -> Agent:
        env = pod_environment(
            path=os.environ.get("PATH", "/usr/bin:/bin"),
            home=tmp_path,
            runtime="python3.11",
            handler="app.leveled",
            task_root=task_root,
            bootstrap=python_bootstrap(tmp_path),
            settings={"system_log_level": system_level},
        )
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_LOG_LEVEL"] = application_level
        return launch_agent(env)

    return start


def records(agent: Agent, request_id: str) -> list[dict[str, Any]]:
    """The JSON lines of the output that belong to ``request_id``."""
    found = []
    for line in agent.output().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            owner = record.get("requestId") or record.get("record", {}).get("requestId")
            if owner == request_id:
                found.append(record)
    return found


def test_json_lines_from_the_handler_and_the_platform_filtered_by_level(
    json_agent: Any,
) -> None:
    agent = json_agent("WARN", "INFO")
    reply = agent.invoke({}, headers={"X-Kappa-Request-Id": "req-json"})
    assert reply.status == 200, reply.body
    agent.wait_for('"type":"platform.report"')
    found = records(agent, "req-json")
    platform = [r["type"] for r in found if "type" in r]
    assert platform == ["platform.start", "platform.runtimeDone", "platform.report"]
    report = found[-1]["record"]
    assert report["status"] == "success"
    assert report["metrics"]["billedDurationMs"] >= 1
    assert report["metrics"]["memorySizeMB"] == 256
    handler = [(r["level"], r["message"]) for r in found if "level" in r]
    # AWS_LAMBDA_LOG_LEVEL=WARN: the debug and info records are not written.
    assert handler == [("WARNING", "a warning record"), ("ERROR", "an error record")]
    # The log tail the caller gets (X-Amz-Log-Result) holds the JSON lines too.
    assert '"type":"platform.report"' in reply.log_tail


def test_system_log_level_warn_leaves_out_the_lines_of_a_successful_call(
    json_agent: Any,
) -> None:
    agent = json_agent("INFO", "WARN")
    assert agent.invoke({}, headers={"X-Kappa-Request-Id": "req-quiet"}).status == 200
    agent.wait_for("an error record")
    found = records(agent, "req-quiet")
    assert not [r for r in found if "type" in r]
    assert [r["level"] for r in found] == ["INFO", "WARNING", "ERROR"]
