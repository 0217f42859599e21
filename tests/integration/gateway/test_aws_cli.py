"""`aws lambda invoke --endpoint-url` (the real AWS CLI) against the real gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import function_entry

AWS = Path(sys.executable).with_name("aws")


def cli_environment(home: Path) -> dict[str, str]:
    """The CLI's environment: dummy keys, no configuration files of the machine's."""
    return {
        "PATH": str(AWS.parent),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
    }


def test_aws_cli_invoke_writes_the_result_file(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, tmp_path: Path
) -> None:
    gateway = start_gateway([function_entry("echo", [start_agent()])])
    out = tmp_path / "out.json"
    env = cli_environment(tmp_path)
    result = subprocess.run(
        [str(AWS), "lambda", "invoke", "--endpoint-url", gateway.url,
         "--function-name", "echo", "--payload", '{"from": "cli"}', "--log-type", "Tail",
         str(out)],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["StatusCode"] == 200
    assert summary["ExecutedVersion"] == "$LATEST"
    assert "LogResult" in summary
    assert json.loads(out.read_text())["event"] == {"from": "cli"}
