"""A pool pod's agent: it waits with no Function, then one /specialise makes it a Function's
agent on the same port, running real awslambdaric processes on the code it was sent."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import zipfile
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    FUNCTION_ARN,
    Agent,
    LaunchAgent,
    pod_environment,
    python_bootstrap,
)
from tests.integration.brokers import free_port

HANDLER = b"""
import os

def handler(event, context):
    return {"event": event, "arn": context.invoked_function_arn,
            "greeting": os.environ["GREETING"], "token": os.environ.get("KAPPA_POOL_TOKEN")}
"""


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def token() -> str:
    return secrets.token_hex(32)


@pytest.fixture
def pool_agent(launch_agent: LaunchAgent, tmp_path: Path, task_root: Path, token: str) -> Agent:
    """A pool pod's agent: the runtime's and the pod's variables, no Function's."""
    env = pod_environment(
        path="/usr/bin:/bin", home=tmp_path, runtime="python3.11", handler="",
        task_root=task_root, bootstrap=python_bootstrap(tmp_path),
    )  # fmt: skip
    for name in ("KAPPA_FUNCTION_ARN", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME"):
        del env[name]
    env["KAPPA_AGENT_PORT"] = str(free_port())  # a pool pod's port is fixed: the Function's too
    env["KAPPA_POOL_TOKEN"] = token
    return launch_agent(env, wait_ready=False)


def function_env() -> dict[str, str]:
    return {
        "KAPPA_FUNCTION_ARN": FUNCTION_ARN,
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "demo",
        "GREETING": "hello from the Function",
    }


def specialise(agent: Agent, token: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    reply = agent.request(
        "POST", "/specialise", json.dumps(body).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, timeout=90,
    )  # fmt: skip
    answer = json.loads(reply.body)
    assert isinstance(answer, dict)
    return reply.status, answer


def test_a_pool_pod_waits_ready_to_be_claimed_and_names_no_function(pool_agent: Agent) -> None:
    status = pool_agent.request("GET", "/status")
    assert json.loads(status.body)["state"] == "pool"
    assert json.loads(status.body)["function"] is None
    readyz = pool_agent.request("GET", "/readyz")
    assert (readyz.status, readyz.body) == (200, b"pool")
    assert pool_agent.request("GET", "/healthz").status == 200
    assert pool_agent.request("POST", "/invoke", b"{}").status == 404


def test_specialise_runs_the_code_it_was_sent_with_the_functions_settings(
    pool_agent: Agent, token: str, task_root: Path
) -> None:
    code = zipped({"app.py": HANDLER})
    status, answer = specialise(pool_agent, token, {
        "env": function_env(),
        "zip": base64.b64encode(code).decode(),
        "sha256": hashlib.sha256(code).hexdigest(),
    })  # fmt: skip
    assert status == 200, answer
    assert answer["state"] == "ready"
    assert answer["function"] == FUNCTION_ARN
    assert (task_root / "app.py").read_bytes() == HANDLER
    # The same port now serves the Function: ready, named, invoked.
    assert pool_agent.request("GET", "/readyz").status == 200
    assert json.loads(pool_agent.request("GET", "/status").body)["function"] == FUNCTION_ARN
    reply = pool_agent.invoke({"n": 1})
    assert reply.status == 200, reply.body
    result = reply.json()
    assert result == {"event": {"n": 1}, "arn": FUNCTION_ARN,
                      "greeting": "hello from the Function", "token": None}  # fmt: skip
    # Once only: the Function's agent has the port, and no /specialise.
    again = pool_agent.request("POST", "/specialise", json.dumps({"env": function_env()}).encode(),
                               {"Authorization": f"Bearer {token}"})  # fmt: skip
    assert again.status == 404


@pytest.mark.parametrize(
    ("authorization", "body", "status", "says"),
    [
        (None, {"env": {}}, 401, "token is required"),
        ("Bearer " + "0" * 64, {"env": {}}, 401, "token is required"),
        ("TOKEN", {"env": {"1BAD": "x"}}, 400, "is not NAME=string"),
        ("TOKEN", {"env": {"KAPPA_POOL_TOKEN": "mine"}}, 400, "is the pool's"),
        (
            "TOKEN",
            {"env": {}, "zip": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==", "sha256": "00" * 32},
            400,
            "sha256 is not the one given",
        ),
        ("TOKEN", {"env": {}}, 400, "KAPPA_FUNCTION_ARN"),
        ("TOKEN", {"nothing": True}, 400, "the body must be"),
    ],
)
def test_hostile_or_wrong_requests_are_refused_and_the_pod_stays_in_the_pool(
    pool_agent: Agent,
    token: str,
    authorization: str | None,
    body: dict[str, object],
    status: int,
    says: str,
) -> None:
    headers = (
        {}
        if authorization is None
        else {"Authorization": authorization.replace("TOKEN", f"Bearer {token}")}
    )
    reply = pool_agent.request("POST", "/specialise", json.dumps(body).encode(), headers)
    assert reply.status == status, reply.body
    assert says in json.loads(reply.body)["message"]
    assert json.loads(pool_agent.request("GET", "/status").body)["state"] == "pool"
    # Still claimable by the operator afterwards.
    code = zipped({"app.py": HANDLER})
    good, answer = specialise(pool_agent, token, {
        "env": function_env(), "zip": base64.b64encode(code).decode(),
        "sha256": hashlib.sha256(code).hexdigest(),
    })  # fmt: skip
    assert good == 200, answer


def test_code_that_does_not_load_is_the_init_error_and_ends_the_pod(
    pool_agent: Agent, token: str
) -> None:
    code = zipped({"app.py": b"def handler(:\n"})
    status, answer = specialise(pool_agent, token, {
        "env": function_env(), "zip": base64.b64encode(code).decode(),
        "sha256": hashlib.sha256(code).hexdigest(),
    })  # fmt: skip
    assert status == 502
    assert answer["errorType"] == "Runtime.UserCodeSyntaxError"
    assert pool_agent.exit_status(30) == 1
    assert pool_agent.termination_message()["errorType"] == "Runtime.UserCodeSyntaxError"
