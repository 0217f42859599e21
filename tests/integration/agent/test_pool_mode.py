"""A pool pod's agent: it waits with no Function, then one /specialise makes it a Function's
agent on the same port, running real awslambdaric processes on the code it was sent."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    AGENT_ENTRY,
    FUNCTION_ARN,
    LAUNCHER_ENTRY,
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
            "greeting": os.environ["GREETING"],
            "token": [v for v in os.environ if v.startswith("KAPPA_POOL_TOKEN")] or None}
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


def launch_pool(
    launch_agent: LaunchAgent,
    tmp_path: Path,
    task_root: Path,
    token: str,
    zygote: str,
    entry: tuple[str, ...] = AGENT_ENTRY,
) -> Agent:
    """A pool pod's agent: the runtime's and the pod's variables, no Function's."""
    env = pod_environment(
        path="/usr/bin:/bin", home=tmp_path, runtime="python3.11", handler="",
        task_root=task_root, bootstrap=python_bootstrap(tmp_path),
    )  # fmt: skip
    for name in ("KAPPA_FUNCTION_ARN", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME"):
        del env[name]
    env["KAPPA_AGENT_PORT"] = str(free_port())  # a pool pod's port is fixed: the Function's too
    # The pod holds the token's digest only; the operator derives the token (pool_key).
    env["KAPPA_POOL_TOKEN_SHA256"] = hashlib.sha256(token.encode()).hexdigest()
    # The image's own bootstrap has the zygote on by default; this test bootstrap says so.
    env["KAPPA_ZYGOTE"] = zygote
    env["KAPPA_POOL_HOLD_SECONDS"] = "1"  # a call before any Function: refused after 1 s
    return launch_agent(env, wait_ready=False, entry=entry)


@pytest.fixture
def pool_agent(launch_agent: LaunchAgent, tmp_path: Path, task_root: Path, token: str) -> Agent:
    """A pool pod whose runtimes start from scratch (no zygote)."""
    return launch_pool(launch_agent, tmp_path, task_root, token, zygote="off")


@pytest.fixture
def zygote_pool_agent(
    launch_agent: LaunchAgent, tmp_path: Path, task_root: Path, token: str
) -> Agent:
    """A pool pod that starts its zygote while it waits, as the python image's pods do."""
    return launch_pool(launch_agent, tmp_path, task_root, token, zygote="on")


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
    # A call before any Function is held (KAPPA_POOL_HOLD_SECONDS, 1 s here), then refused.
    early = pool_agent.request("POST", "/invoke", b"{}")
    assert early.status == 503
    assert "no Function yet" in json.loads(early.body)["message"]


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
    # Its first answer says it initialised, as a pool pod (the gateway's cold-start path).
    assert "x-kappa-init-duration-ms" in reply.headers
    assert reply.headers["x-kappa-from-pool"] == "true"
    assert "x-kappa-from-pool" not in pool_agent.invoke({"n": 2}).headers
    result = reply.json()
    assert result == {"event": {"n": 1}, "arn": FUNCTION_ARN,
                      "greeting": "hello from the Function", "token": None}  # fmt: skip
    # Once only: the Function's agent has the port, and no /specialise.
    again = pool_agent.request("POST", "/specialise", json.dumps({"env": function_env()}).encode(),
                               {"Authorization": f"Bearer {token}"})  # fmt: skip
    assert again.status == 404


def test_the_images_launcher_leaves_a_pool_pod_to_the_pool_flow(
    launch_agent: LaunchAgent, tmp_path: Path, task_root: Path, token: str
) -> None:
    """The base image's entrypoint: a pool pod waits as ever, its runtimes start at the claim."""
    agent = launch_pool(launch_agent, tmp_path, task_root, token, "off", LAUNCHER_ENTRY)
    assert json.loads(agent.request("GET", "/status").body)["state"] == "pool"
    code = zipped({"app.py": HANDLER})
    status, answer = specialise(agent, token, {
        "env": function_env(),
        "zip": base64.b64encode(code).decode(),
        "sha256": hashlib.sha256(code).hexdigest(),
    })  # fmt: skip
    assert (status, answer["state"]) == (200, "ready"), answer
    reply = agent.invoke({"n": 1})
    assert reply.status == 200, reply.body
    assert reply.headers["x-kappa-from-pool"] == "true"
    assert "runtime started before the agent" not in agent.output()


@pytest.mark.parametrize(
    ("authorization", "body", "status", "says"),
    [
        (None, {"env": {}}, 401, "token is required"),
        ("DIGEST", {"env": {}}, 401, "token is required"),  # what reading the pod shows
        ("Bearer " + "0" * 64, {"env": {}}, 401, "token is required"),
        ("TOKEN", {"env": {"1BAD": "x"}}, 400, "is not NAME=string"),
        ("TOKEN", {"env": {"KAPPA_POOL_TOKEN": "mine"}}, 400, "is the pool's"),
        ("TOKEN", {"env": {"KAPPA_POOL_TOKEN_SHA256": "00" * 32}}, 400, "is the pool's"),
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
        else {
            "Authorization": authorization.replace("TOKEN", f"Bearer {token}").replace(
                "DIGEST", f"Bearer {hashlib.sha256(token.encode()).hexdigest()}"
            )
        }
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


PROCESS_HANDLER = b"""
import os
import time

def handler(event, context):
    return {"pid": os.getpid(), "ppid": os.getppid(), "greeting": os.environ.get("GREETING"),
            "token": [v for v in os.environ if v.startswith("KAPPA_POOL")] or None,
            "tz": time.tzname[0],
            "handler": os.environ.get("_HANDLER")}
"""


def specialise_with(agent: Agent, token: str, env: dict[str, str]) -> dict[str, object]:
    code = zipped({"app.py": PROCESS_HANDLER})
    status, answer = specialise(agent, token, {
        "env": env, "zip": base64.b64encode(code).decode(),
        "sha256": hashlib.sha256(code).hexdigest(),
    })  # fmt: skip
    assert status == 200, answer
    reply = agent.invoke({})
    assert reply.status == 200, reply.body
    result = reply.json()
    assert isinstance(result, dict)
    return result


def test_a_python_pool_pod_forks_the_functions_runtime_from_the_zygote_it_started_waiting(
    zygote_pool_agent: Agent, token: str
) -> None:
    result = specialise_with(zygote_pool_agent, token, {**function_env(), "TZ": "Asia/Tokyo"})
    zygote = int(zygote_pool_agent.wait_for(r"fork from the pool's zygote \(pid (\d+)\)").group(1))
    started = zygote_pool_agent.wait_for(r"pool zygote ready in [\d.]+ ms \(pid (\d+)\)")
    assert result["ppid"] == zygote == int(started.group(1))
    # The Function's environment, not the pool's: its variables, its TZ, no token.
    assert result["greeting"] == "hello from the Function"
    assert result["handler"] == "app.handler"
    assert result["tz"] == "JST"
    assert result["token"] is None


def test_a_function_setting_what_python_reads_at_start_gets_runtimes_started_afresh(
    zygote_pool_agent: Agent, token: str, tmp_path: Path
) -> None:
    env = {**function_env(), "PYTHONPATH": str(tmp_path)}
    result = specialise_with(zygote_pool_agent, token, env)
    said = zygote_pool_agent.wait_for(
        r"runtimes start from scratch, not from the pool's zygote: (.*)"
    )
    assert "PYTHONPATH" in said.group(1)
    pool_zygote = zygote_pool_agent.wait_for(r"pool zygote ready in [\d.]+ ms \(pid (\d+)\)")
    assert result["ppid"] != int(pool_zygote.group(1))
    assert result["greeting"] == "hello from the Function"
    assert "fork from the pool's zygote" not in zygote_pool_agent.output()


SHADOW_HANDLER = b"""
import os
import simplejson

def handler(event, context):
    return {"simplejson": simplejson.__file__, "ppid": os.getppid()}
"""


def test_code_with_its_own_copy_of_a_module_the_zygote_imported_gets_fresh_runtimes(
    zygote_pool_agent: Agent, token: str, task_root: Path
) -> None:
    # Lambda puts the task root first on sys.path: a bundled simplejson is the one imported,
    # by the runtime client too. A zygote that imported the image's before the code came
    # would hide it, so the pod's runtimes start from scratch instead.
    import simplejson  # noqa: PLC0415 - the real package, copied into the Function's code

    files = {"app.py": SHADOW_HANDLER}
    package = Path(simplejson.__file__).parent
    for source in package.rglob("*.py"):
        files[f"simplejson/{source.relative_to(package)}"] = source.read_bytes()
    code = zipped(files)
    status, answer = specialise(zygote_pool_agent, token, {
        "env": function_env(), "zip": base64.b64encode(code).decode(),
        "sha256": hashlib.sha256(code).hexdigest(),
    })  # fmt: skip
    assert status == 200, answer
    said = zygote_pool_agent.wait_for(r"not from the pool's zygote: (.*)")
    assert "has its own simplejson" in said.group(1)
    reply = zygote_pool_agent.invoke({})
    assert reply.status == 200, reply.body
    assert reply.json()["simplejson"] == str(task_root / "simplejson" / "__init__.py")


def test_a_call_that_comes_before_the_function_is_held_and_served_once_it_runs(
    pool_agent: Agent, token: str
) -> None:
    # The operator adopts a pool pod (labels, owner) before it specialises it, so the
    # gateway may send the pod its call first: the agent holds it until its Function runs.
    with ThreadPoolExecutor(1) as caller:
        early = caller.submit(pool_agent.invoke, {"n": "early"}, timeout=60)
        pool_agent.wait_for(r"listening on")
        time.sleep(0.3)  # the call waits at the pod (within its 1 s hold)
        assert not early.done()
        code = zipped({"app.py": HANDLER})
        status, answer = specialise(pool_agent, token, {
            "env": function_env(), "zip": base64.b64encode(code).decode(),
            "sha256": hashlib.sha256(code).hexdigest(),
        })  # fmt: skip
        assert status == 200, answer
        reply = early.result(timeout=60)
    assert reply.status == 200, reply.body
    assert reply.json()["event"] == {"n": "early"}
    assert reply.json()["greeting"] == "hello from the Function"
    assert reply.headers["x-kappa-from-pool"] == "true"  # the pod's first call, cold
    assert pool_agent.request("GET", "/invoke").status == 405
