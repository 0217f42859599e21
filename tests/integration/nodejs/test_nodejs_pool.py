"""A node pool pod's agent starts one runtime ahead (node, aws-lambda-ric and http loaded)
and hands it the claiming Function: the same process then answers as one started afresh.

The real agent in pool mode with the real node runtime (the image's index.cjs and
bootstrap, under the harness's build), against the same Function started cold.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import signal
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    FUNCTION_ARN,
    Agent,
    LaunchAgent,
    StartAgent,
    pod_environment,
)
from tests.integration.agent.test_pool_mode import specialise as specialise_with
from tests.integration.agent.test_pool_mode import zipped
from tests.integration.brokers import free_port
from tests.integration.nodejs.harness import NodeRuntime

pytestmark = pytest.mark.timeout(90, func_only=True)

HANDLERS = Path(__file__).parent / "handlers"
AHEAD_READY = r"the runtime started ahead is ready \(pid (\d+)\)"
HANDED = r"slot 0: the runtime started ahead runs the Function \(pid (\d+)\)"
AFRESH = r"runtimes start afresh, not the one the pool started ahead: (.*)"


CODE = zipped({"envprobe.js": (HANDLERS / "envprobe.js").read_bytes()})


@pytest.fixture
def token() -> str:
    return secrets.token_hex(32)


def launch_pool(
    launch_agent: LaunchAgent, node_runtime: NodeRuntime, tmp_path: Path, token: str,
    bootstrap: Path, **settings: str | int | float,
) -> Agent:  # fmt: skip
    """A node pool pod: the runtime's and the pod's variables (its size too), no Function's."""
    task_root = tmp_path / "pool-task"
    task_root.mkdir()
    env = pod_environment(
        path="/usr/local/bin:/usr/bin:/bin", home=tmp_path, runtime=node_runtime.name,
        handler="", task_root=task_root, bootstrap=bootstrap, settings=settings,
    )  # fmt: skip
    for name in ("KAPPA_FUNCTION_ARN", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME"):
        del env[name]
    env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{node_runtime.name}"
    env["KAPPA_AGENT_PORT"] = str(free_port())  # a pool pod's port is fixed: the Function's too
    env["KAPPA_POOL_TOKEN_SHA256"] = hashlib.sha256(token.encode()).hexdigest()
    env["KAPPA_PRESTART"] = "on"  # the image's bootstrap has it by default (auto); this is a path
    return launch_agent(env, wait_ready=False)


@pytest.fixture
def pool_agent(
    launch_agent: LaunchAgent, node_runtime: NodeRuntime, tmp_path: Path, token: str
) -> Agent:
    return launch_pool(launch_agent, node_runtime, tmp_path, token, node_runtime.bootstrap)


def function_env(**more: str) -> dict[str, str]:
    return {
        "KAPPA_FUNCTION_ARN": FUNCTION_ARN,
        "_HANDLER": "envprobe.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "demo",
        "GREETING": "hello from the Function",
        "TZ": "Asia/Tokyo",
        **more,
    }


def specialise(agent: Agent, token: str, env: Mapping[str, str]) -> tuple[int, dict[str, object]]:
    return specialise_with(agent, token, {
        "env": dict(env), "zip": base64.b64encode(CODE).decode(),
        "sha256": hashlib.sha256(CODE).hexdigest(),
    })  # fmt: skip


def probe(agent: Agent, request_id: str) -> dict[str, object]:
    reply = agent.invoke({"n": 1}, headers={"X-Kappa-Request-Id": request_id})
    assert reply.status == 200, reply.body
    assert reply.headers.get("x-amz-function-error") is None, reply.body
    result = reply.json()
    assert isinstance(result, dict)
    output = agent.output_through(reply)
    assert re.search(rf"\t{re.escape(request_id)}\tINFO\tenvprobe says hello", output), output
    return result


def comparable(result: dict[str, object], task_root: Path) -> dict[str, object]:
    """A probe's answer less what differs between any two processes (pid, ports)."""
    text = json.dumps({k: v for k, v in result.items() if k != "pid"})
    text = text.replace(str(task_root), "<task root>")
    comparable = json.loads(text)
    env = comparable["env"]
    env["AWS_LAMBDA_RUNTIME_API"] = re.sub(r":\d+$", ":<port>", env["AWS_LAMBDA_RUNTIME_API"])
    env.pop("_X_AMZN_TRACE_ID", None)  # per call
    assert isinstance(comparable, dict)
    return comparable


def test_the_runtime_started_ahead_runs_the_function_as_a_fresh_one_would(
    pool_agent: Agent, token: str, start_agent: StartAgent, task_root: Path, tmp_path: Path
) -> None:
    started = int(pool_agent.wait_for(AHEAD_READY).group(1))
    status, answer = specialise(pool_agent, token, function_env())
    assert status == 200, answer
    assert int(pool_agent.wait_for(HANDED).group(1)) == started
    pooled = probe(pool_agent, "req-pool")
    assert pooled["pid"] == started  # the process started ahead, not a new one

    # The same Function started cold, as a pod of its own would run it.
    cold_agent = start_agent("envprobe.handler", env={"GREETING": "hello from the Function",
                                                      "TZ": "Asia/Tokyo"})  # fmt: skip
    cold = probe(cold_agent, "req-pool")
    pooled_seen, cold_seen = comparable(pooled, tmp_path / "pool-task"), comparable(cold, task_root)
    differing = set(pooled_seen["env"].items()) ^ set(cold_seen["env"].items())  # type: ignore[attr-defined]
    assert not differing
    assert pooled_seen == cold_seen

    # And what that is: the Function's variables, its TZ (node applies it), Lambda's context.
    env = pooled["env"]
    assert isinstance(env, dict)
    assert env["GREETING"] == "hello from the Function"
    assert env["_HANDLER"] == "envprobe.handler"
    assert not [name for name in env if "KAPPA" in name]  # neither the pool's nor its channel
    assert "NODE_PATH" in env  # as the bootstrap sets it
    assert pooled["offset"] == -540
    assert "Japan Standard Time" in str(pooled["date"])
    assert pooled["cwd"] == str(tmp_path / "pool-task")
    assert pooled["gc"] == "function"  # the bootstrap's V8 flags
    assert pooled["requireMain"] == "undefined"
    context = pooled["context"]
    assert isinstance(context, dict)
    assert context["awsRequestId"] == "req-pool"
    assert context["invokedFunctionArn"] == FUNCTION_ARN
    assert context["functionName"] == "demo"
    assert context["memoryLimitInMB"] == "256"


def test_a_function_setting_node_options_gets_a_runtime_started_afresh(
    pool_agent: Agent, token: str
) -> None:
    started = int(pool_agent.wait_for(AHEAD_READY).group(1))
    status, answer = specialise(pool_agent, token, function_env(NODE_OPTIONS="--title=from-opts"))
    assert status == 200, answer
    assert "NODE_OPTIONS" in pool_agent.wait_for(AFRESH).group(1)
    result = probe(pool_agent, "req-options")
    assert result["pid"] != started
    assert result["title"] == "from-opts"  # applied by node's start, as it must be
    assert "runs the Function" not in pool_agent.output()


def test_a_function_of_another_size_gets_a_runtime_started_afresh(
    pool_agent: Agent, token: str
) -> None:
    pool_agent.wait_for(AHEAD_READY)
    status, answer = specialise(
        pool_agent, token, function_env(AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512")
    )
    assert status == 200, answer
    assert "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" in pool_agent.wait_for(AFRESH).group(1)
    result = probe(pool_agent, "req-size")
    assert "--max-old-space-size=461" in result["execArgv"]  # type: ignore[operator]


def test_a_runtime_started_ahead_that_dies_in_the_pool_is_replaced(
    pool_agent: Agent, token: str
) -> None:
    first = int(pool_agent.wait_for(AHEAD_READY).group(1))
    os.kill(first, signal.SIGKILL)
    pool_agent.wait_for(r"the runtime started ahead ended \(status -9\): replacing it")
    replacement = int(
        pool_agent.wait_for(
            rf"the runtime started ahead is ready \(pid (?!{first}\))(\d+)\)"
        ).group(1)
    )
    status, answer = specialise(pool_agent, token, function_env())
    assert status == 200, answer
    result = probe(pool_agent, "req-replaced")
    assert result["pid"] == replacement


def test_when_every_runtime_started_ahead_dies_the_function_starts_afresh(
    pool_agent: Agent, token: str
) -> None:
    killed: set[int] = set()
    for _ in range(3):  # prestart.MAX_STARTS
        pids = [int(p) for p in re.findall(AHEAD_READY, pool_agent.output())]
        while not set(pids) - killed:
            pool_agent.wait_for(AHEAD_READY)  # the next one
            pids = [int(p) for p in re.findall(AHEAD_READY, pool_agent.output())]
        pid = next(p for p in pids if p not in killed)
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
    pool_agent.wait_for(r"no runtime started ahead \(3 runtimes started ahead ended\)")
    status, answer = specialise(pool_agent, token, function_env())
    assert status == 200, answer
    assert "3 runtimes started ahead ended" in pool_agent.wait_for(AFRESH).group(1)
    result = probe(pool_agent, "req-afresh")
    assert result["pid"] not in killed


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param({"env": {"NODE_OPTIONS": 5}}, "is not NAME=string", id="not-a-string"),
        pytest.param({"env": {"BAD-NAME": "x"}}, "is not NAME=string", id="bad-name"),
        pytest.param({"env": {"BIG": "x" * 200_000}}, "over 131072 bytes", id="huge-value"),
        pytest.param({"env": "NODE_OPTIONS=--inspect"}, "the body must be", id="not-a-map"),
        pytest.param(
            {"env": {}, "zip": "not base64!", "sha256": "00" * 32},
            "zip must be base64",
            id="bad-zip",
        ),
    ],
)
def test_malformed_specialise_input_is_refused_and_the_runtime_started_ahead_kept(
    pool_agent: Agent, token: str, body: dict[str, object], says: str
) -> None:
    started = int(pool_agent.wait_for(AHEAD_READY).group(1))
    reply = pool_agent.request(
        "POST", "/specialise", json.dumps(body).encode(), {"Authorization": f"Bearer {token}"}
    )
    assert reply.status == 400, reply.body
    assert says in json.loads(reply.body)["message"]
    assert json.loads(pool_agent.request("GET", "/status").body)["state"] == "pool"
    # The process started ahead is untouched, and the Function that comes next gets it.
    status, answer = specialise(pool_agent, token, function_env())
    assert status == 200, answer
    assert probe(pool_agent, "req-after")["pid"] == started


def test_a_function_cannot_give_its_runtime_the_channel_of_one_started_ahead(
    pool_agent: Agent, token: str
) -> None:
    # KAPPA_ variables never reach runtimes: a fresh runtime of this Function does not
    # wait on its stdin for a hand-over, and the one started ahead is handed over as usual.
    started = int(pool_agent.wait_for(AHEAD_READY).group(1))
    status, answer = specialise(pool_agent, token, function_env(KAPPA_PRESTART_FD="0"))
    assert status == 200, answer
    result = probe(pool_agent, "req-channel")
    assert result["pid"] == started
    assert "KAPPA_PRESTART_FD" not in result["env"]  # type: ignore[operator]


def test_a_runtime_started_ahead_that_never_gets_ready_gives_way_to_a_fresh_one(
    launch_agent: LaunchAgent, node_runtime: NodeRuntime, tmp_path: Path, token: str
) -> None:
    # A bootstrap whose runtime started ahead hangs (never says ready); started for a slot,
    # it is the image's. The claim waits for half the init timeout, then starts afresh.
    wrapper = tmp_path / "hanging-bootstrap"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ -n "${KAPPA_PRESTART_FD:-}" ]; then exec sleep 600; fi\n'
        f'exec {node_runtime.bootstrap} "$@"\n'
    )
    wrapper.chmod(0o755)
    pool = launch_pool(launch_agent, node_runtime, tmp_path, token, wrapper, init_timeout_seconds=8)
    hung = int(pool.wait_for(r"pool runtime started ahead \(pid (\d+)\)").group(1))
    status, answer = specialise(pool, token, function_env())
    assert status == 200, answer
    said = pool.wait_for(r"a runtime starts afresh, not the one started ahead: (.*)")
    assert re.fullmatch(r"not ready within (3\.9\d|4\.00) seconds", said.group(1))
    result = probe(pool, "req-fresh")
    assert result["pid"] != hung
    assert not Path(f"/proc/{hung}").exists()  # killed at once, and reaped
