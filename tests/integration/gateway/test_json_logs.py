"""A real gateway with KAPPA_LOG_FORMAT=json: its stderr is JSON lines, a call's carry its id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import function_entry

pytestmark = pytest.mark.integration


def test_json_lines_carry_the_request_id_of_the_call_they_were_logged_for(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, tmp_path: Path
) -> None:
    agent = start_agent("fns.echo", name="echo")
    stdout = tmp_path / "gateway.stdout"
    gateway = start_gateway(
        [
            function_entry("echo", [agent]),
            function_entry("idle"),  # no pod: a call waits for capacity, then is throttled
        ],
        stdout_file=stdout,
        extra_env={"KAPPA_LOG_FORMAT": "json"},
        queue_max_wait_seconds=0.3,
    )
    path = "/2015-03-31/functions/{}/invocations"
    served = gateway.request("POST", path.format("echo"), b'{"hello": "world"}')
    waited = gateway.request("POST", path.format("idle"), b"{}")
    missing = gateway.request("POST", path.format("nothing-here"), b"{}")
    assert (served.status, waited.status, missing.status) == (200, 429, 404)
    waited_id = waited.headers["x-amzn-requestid"]
    missing_id = missing.headers["x-amzn-requestid"]
    gateway.reader.wait_for(f'"requestId":"{missing_id}"')
    gateway.stop()

    lines = _json_lines(gateway.output())
    assert stdout.read_text() == ""  # the log is stderr, whole
    listening = [line for line in lines if line["message"].startswith("listening on ")]
    assert listening
    assert all("requestId" not in line for line in listening)  # no call being served
    for line in lines:
        assert set(line) >= {"time", "level", "logger", "message"}, line
        assert line["time"].endswith("Z")
    by_request: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if "requestId" in line:
            by_request.setdefault(line["requestId"], []).append(line)
    # Waiting for a pod, then throttled: both lines carry the call's id, though only the
    # second one names it in its message.
    waiting = [(line["level"], line["message"]) for line in by_request[waited_id]]
    assert ("DEBUG", "capacity wanted for default/idle") in waiting, waiting
    assert any(level == "INFO" and "TooManyRequestsException" in message
               for level, message in waiting), waiting  # fmt: skip
    assert any("nothing-here" in line["message"] for line in by_request[missing_id])
    # A request id is in no line of another call.
    assert set(by_request) <= {waited_id, missing_id, served.headers["x-amzn-requestid"]}


def _json_lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for raw in output.splitlines():
        parsed = json.loads(raw)  # every line, or the test fails with the line
        assert isinstance(parsed, dict), raw
        lines.append(parsed)
    return lines
