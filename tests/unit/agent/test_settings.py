import json
from pathlib import Path

import pytest

from kappa.agent.settings import (
    RUNTIME_BOOTSTRAP,
    AgentSettings,
    Runtime,
    ahead_runtime,
    ahead_zygote,
    parse_sha256,
    runtime_env,
    termination_log_path,
)
from kappa.base.env import SettingsError

ARN = "arn:aws:lambda:us-east-1:default:function:demo"
SHA_HEX = "ab" * 32


def settings(**env: str) -> AgentSettings:
    return AgentSettings.from_env({"KAPPA_RUNTIME": "python3.11", "KAPPA_FUNCTION_ARN": ARN, **env})


def test_defaults_are_the_contracts() -> None:
    parsed = settings()
    assert parsed.runtime is Runtime.PYTHON311
    assert parsed.bootstrap == (RUNTIME_BOOTSTRAP,)
    assert parsed.slots == 1
    assert parsed.timeout_seconds == 3.0
    assert parsed.init_timeout_seconds == 10.0
    assert (parsed.agent_host, parsed.agent_port) == ("0.0.0.0", 8080)  # noqa: S104
    assert parsed.runtime_api_port == 9001
    assert parsed.task_root == Path("/var/task")
    assert parsed.termination_log == Path("/dev/termination-log")
    assert parsed.code_url is None
    assert parsed.memory_size_mb == 128
    assert parsed.function_version == "$LATEST"
    assert parsed.header_timeout_seconds == 10.0
    assert parsed.idle_timeout_seconds == 75.0
    assert parsed.max_connections == 1024


@pytest.mark.parametrize(
    ("env", "bootstrap"),
    [
        pytest.param({}, (RUNTIME_BOOTSTRAP,), id="managed-runtime"),
        pytest.param(
            {"KAPPA_RUNTIME": "provided", "LAMBDA_TASK_ROOT": "/code"},
            ("/code/bootstrap",),
            id="provided",
        ),
        pytest.param({"KAPPA_RUNTIME": "image"}, None, id="image-is-external"),
        pytest.param({"KAPPA_RUNTIME": "java17"}, (RUNTIME_BOOTSTRAP,), id="java17-managed"),
        pytest.param(
            {"KAPPA_BOOTSTRAP": "/bin/sh -c 'exec x'"}, ("/bin/sh", "-c", "exec x"), id="explicit"
        ),
    ],
)
def test_bootstrap(env: dict[str, str], bootstrap: tuple[str, ...] | None) -> None:
    assert settings(**env).bootstrap == bootstrap


def test_values_are_parsed() -> None:
    parsed = settings(
        KAPPA_SLOTS="4",
        KAPPA_TIMEOUT_SECONDS="900",
        KAPPA_INIT_TIMEOUT_SECONDS="0.5",
        KAPPA_AGENT_PORT="0",
        KAPPA_RUNTIME_API_PORT="9100",
        KAPPA_CODE_URL="http://example.test/code.zip",
        KAPPA_CODE_SHA256=SHA_HEX,
        KAPPA_TERMINATION_LOG="/tmp/term",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1769",
        _HANDLER="app.handler",
        KAPPA_HEADER_TIMEOUT_SECONDS="0.5",
        KAPPA_IDLE_TIMEOUT_SECONDS="5",
        KAPPA_MAX_CONNECTIONS="8",
        AWS_LAMBDA_LOG_FORMAT="JSON",
        KAPPA_SYSTEM_LOG_LEVEL="WARN",
    )
    assert (parsed.log_json, parsed.system_log_level) == (True, "WARN")
    assert parsed.slots == 4
    assert parsed.timeout_seconds == 900.0
    assert parsed.init_timeout_seconds == 0.5
    assert parsed.agent_port == 0
    assert parsed.runtime_api_ports() == [9100, 9101, 9102, 9103]
    assert parsed.code_sha256 == bytes.fromhex(SHA_HEX)
    assert parsed.termination_log == Path("/tmp/term")
    assert parsed.memory_size_mb == 1769
    assert parsed.handler == "app.handler"
    assert (parsed.header_timeout_seconds, parsed.idle_timeout_seconds) == (0.5, 5.0)
    assert parsed.max_connections == 8


def test_port_zero_gives_every_slot_a_free_port() -> None:
    assert settings(KAPPA_SLOTS="3", KAPPA_RUNTIME_API_PORT="0").runtime_api_ports() == [0, 0, 0]


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        pytest.param(
            {"KAPPA_RUNTIME": "cobol"}, "KAPPA_RUNTIME='cobol': is required", id="runtime"
        ),
        pytest.param({"KAPPA_FUNCTION_ARN": "demo"}, "KAPPA_FUNCTION_ARN='demo'", id="arn"),
        pytest.param(
            {"KAPPA_SLOTS": "0"},
            "KAPPA_SLOTS='0' is out of range: it must be an integer from 1",
            id="no-slots",
        ),
        pytest.param({"KAPPA_SLOTS": "two"}, "KAPPA_SLOTS='two' is not an integer", id="slots-nan"),
        pytest.param(
            {"KAPPA_TIMEOUT_SECONDS": "901"},
            "KAPPA_TIMEOUT_SECONDS='901' is out of range: it must be",
            id="timeout",
        ),
        pytest.param({"KAPPA_TIMEOUT_SECONDS": "soon"}, "is not a finite number", id="timeout-nan"),
        pytest.param({"KAPPA_AGENT_PORT": "70000"}, "KAPPA_AGENT_PORT='70000'", id="port"),
        pytest.param(
            {"KAPPA_HEADER_TIMEOUT_SECONDS": "0"},
            "KAPPA_HEADER_TIMEOUT_SECONDS='0': must be more than 0",
            id="header-timeout-zero",
        ),
        pytest.param(
            {"KAPPA_IDLE_TIMEOUT_SECONDS": "-1"},
            "KAPPA_IDLE_TIMEOUT_SECONDS='-1' is out of range",
            id="idle-timeout-negative",
        ),
        pytest.param(
            {"KAPPA_MAX_CONNECTIONS": "0"}, "KAPPA_MAX_CONNECTIONS='0' is out of range", id="cap"
        ),
        pytest.param(
            {"KAPPA_RUNTIME_API_PORT": "65535", "KAPPA_SLOTS": "2"},
            "passes 65535",
            id="ports-run-out",
        ),
        pytest.param(
            {"KAPPA_CODE_URL": "http://x/code.zip"},
            "KAPPA_CODE_SHA256: is required",
            id="sha-missing",
        ),
        pytest.param(
            {"KAPPA_CODE_SHA256": "abc"}, "KAPPA_CODE_SHA256='abc': is neither", id="sha-bad"
        ),
        pytest.param({"KAPPA_BOOTSTRAP": "'unclosed"}, "KAPPA_BOOTSTRAP=", id="bootstrap"),
        pytest.param(
            {"AWS_LAMBDA_LOG_FORMAT": "XML"}, "AWS_LAMBDA_LOG_FORMAT='XML' is not one of", id="fmt"
        ),
        pytest.param(
            {"KAPPA_SYSTEM_LOG_LEVEL": "TRACE"}, "KAPPA_SYSTEM_LOG_LEVEL='TRACE'", id="level"
        ),
    ],
)
def test_invalid_values_are_named(env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        settings(**env)
    assert problem in str(excinfo.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as excinfo:
        AgentSettings.from_env({"KAPPA_SLOTS": "x", "KAPPA_TERMINATION_LOG": "/tmp/t"})
    lines = str(excinfo.value).splitlines()
    assert [line.split(":")[0].split("=")[0] for line in lines] == [
        "KAPPA_RUNTIME",
        "KAPPA_SLOTS",
        "KAPPA_FUNCTION_ARN",
    ]
    assert termination_log_path({"KAPPA_SLOTS": "x", "KAPPA_TERMINATION_LOG": "/tmp/t"}) == Path(
        "/tmp/t"
    )


@pytest.mark.parametrize(
    ("text", "digest"),
    [
        pytest.param(SHA_HEX, bytes.fromhex(SHA_HEX), id="hex"),
        pytest.param(SHA_HEX.upper(), bytes.fromhex(SHA_HEX), id="hex-upper"),
        pytest.param("qqqq" * 10, None, id="base64-wrong-length"),
        pytest.param("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", bytes(range(32)), id="base64"),
        pytest.param("zz" * 32, None, id="hex-garbage"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_sha256(text: str, digest: bytes | None) -> None:
    assert parse_sha256(text) == digest


def test_runtime_env_leaves_out_the_agents_own_parts() -> None:
    env = {
        "PATH": "/opt/kappa/bin:/usr/bin:/bin",
        "KAPPA_SLOTS": "2",
        "KAPPA_CODE_URL": "http://x",
        "VIRTUAL_ENV": "/opt/kappa",
        "_HANDLER": "app.handler",
        "AWS_REGION": "eu-west-1",
        "USER_SETTING": "kept",
    }
    assert runtime_env(env, agent_bin_dir="/opt/kappa/bin", task_root=Path("/var/task")) == {
        "PATH": "/usr/bin:/bin",
        "_HANDLER": "app.handler",
        "AWS_REGION": "eu-west-1",
        "USER_SETTING": "kept",
        "LAMBDA_TASK_ROOT": "/var/task",
    }


def test_settings_carry_the_runtime_env() -> None:
    parsed = settings(USER_SETTING="x")
    assert parsed.runtime_env["USER_SETTING"] == "x"
    assert "KAPPA_RUNTIME" not in parsed.runtime_env


def test_layers_are_read_in_order() -> None:
    first, second = "ab" * 32, "cd" * 32
    layers = json.dumps(
        [
            {"url": "file:///var/kappa/layers/0/code.zip", "sha256": first},
            {"url": "https://example.com/l.zip", "sha256": second},
        ]
    )
    found = settings(KAPPA_LAYERS=layers, KAPPA_OPT_ROOT="/tmp/opt")
    assert found.layers == (
        ("file:///var/kappa/layers/0/code.zip", bytes.fromhex(first)),
        ("https://example.com/l.zip", bytes.fromhex(second)),
    )
    assert str(found.opt_root) == "/tmp/opt"
    assert settings().layers == ()
    assert str(settings().opt_root) == "/opt"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("not json", id="not-json"),
        pytest.param('{"url": "x"}', id="not-a-list"),
        pytest.param(json.dumps([{"url": "u", "sha256": "ab" * 32}] * 6), id="six"),
        pytest.param(json.dumps([{"url": "u"}]), id="no-sha"),
        pytest.param(json.dumps([{"url": "", "sha256": "ab" * 32}]), id="no-url"),
        pytest.param(json.dumps(["u"]), id="not-objects"),
    ],
)
def test_bad_layers_are_named(value: str) -> None:
    with pytest.raises(SettingsError, match="KAPPA_LAYERS"):
        settings(KAPPA_LAYERS=value)


def test_tracing_settings() -> None:
    off = settings()
    assert (off.tracing_endpoint, off.tracing_sample_ratio) == (None, 1.0)
    on = settings(KAPPA_TRACING_OTLP_ENDPOINT="http://otel:4318", KAPPA_TRACING_SAMPLE_RATIO="0")
    assert on.tracing_endpoint is not None
    assert on.tracing_endpoint.path == "/v1/traces"
    assert on.tracing_sample_ratio == 0.0
    # The handler's OpenTelemetry SDK is pointed at the same collector.
    assert on.runtime_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel:4318"
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in off.runtime_env


def test_a_functions_own_collector_wins_for_its_handler() -> None:
    own = settings(
        KAPPA_TRACING_OTLP_ENDPOINT="http://otel:4318", OTEL_EXPORTER_OTLP_ENDPOINT="http://mine"
    )
    assert own.runtime_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://mine"


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        pytest.param(
            {"KAPPA_TRACING_OTLP_ENDPOINT": "ftp://otel"},
            "KAPPA_TRACING_OTLP_ENDPOINT='ftp://otel' is not an http",
            id="scheme",
        ),
        pytest.param({"KAPPA_TRACING_OTLP_ENDPOINT": "http://otel:99999"}, "port", id="port"),
        pytest.param({"KAPPA_TRACING_SAMPLE_RATIO": "2"}, "KAPPA_TRACING_SAMPLE_RATIO", id="ratio"),
    ],
)
def test_bad_tracing_settings_are_named(env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        settings(**env)


@pytest.mark.parametrize(
    ("env", "zygote"),
    [
        pytest.param({}, None, id="auto-one-slot"),
        pytest.param({"KAPPA_SLOTS": "4"}, (RUNTIME_BOOTSTRAP, "--zygote"), id="auto-python"),
        pytest.param(
            {"KAPPA_SLOTS": "4", "KAPPA_RUNTIME": "python3.13"},
            (RUNTIME_BOOTSTRAP, "--zygote"),
            id="auto-python3.13",
        ),
        pytest.param({"KAPPA_SLOTS": "4", "KAPPA_RUNTIME": "nodejs22"}, None, id="auto-node"),
        pytest.param({"KAPPA_SLOTS": "4", "KAPPA_BOOTSTRAP": "/b"}, None, id="auto-own-bootstrap"),
        pytest.param({"KAPPA_SLOTS": "4", "KAPPA_ZYGOTE": "off"}, None, id="off"),
        pytest.param(
            {"KAPPA_BOOTSTRAP": "/b x", "KAPPA_ZYGOTE": "on"}, ("/b", "x", "--zygote"), id="on"
        ),
        pytest.param({"KAPPA_RUNTIME": "image", "KAPPA_ZYGOTE": "on"}, None, id="on-no-process"),
    ],
)
def test_zygote_command(env: dict[str, str], zygote: tuple[str, ...] | None) -> None:
    assert settings(**env).zygote == zygote


def test_a_bad_zygote_choice_is_named() -> None:
    with pytest.raises(SettingsError, match="KAPPA_ZYGOTE='yes' is not one of auto, on, off"):
        settings(KAPPA_ZYGOTE="yes")


def test_calls_per_runtime_come_from_lambdas_max_concurrency() -> None:
    """The runtimes read the same variable: it passes through to them."""
    assert (settings().per_runtime, settings().max_connections) == (1, 1024)
    parsed = settings(AWS_LAMBDA_MAX_CONCURRENCY="1600", KAPPA_SLOTS="2")
    assert parsed.per_runtime == 1600
    assert parsed.runtime_env["AWS_LAMBDA_MAX_CONCURRENCY"] == "1600"
    # Every call the pod takes at once has room on the agent's port, besides probes.
    assert parsed.max_connections == 2 * 1600 + 128
    assert (
        settings(AWS_LAMBDA_MAX_CONCURRENCY="8", KAPPA_MAX_CONNECTIONS="50").max_connections == 50
    )


@pytest.mark.parametrize("value", ["0", "1601", "many"])
def test_max_concurrency_out_of_bounds_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="AWS_LAMBDA_MAX_CONCURRENCY"):
        settings(AWS_LAMBDA_MAX_CONCURRENCY=value)


POOL_POD = {"KAPPA_RUNTIME": "python3.11", "KAPPA_POOL_TOKEN": "t" * 32, "PATH": "/usr/bin"}


@pytest.mark.parametrize(
    ("env", "command"),
    [
        pytest.param({}, (RUNTIME_BOOTSTRAP, "--zygote"), id="python-one-slot"),
        pytest.param({"KAPPA_RUNTIME": "nodejs22"}, None, id="node"),
        pytest.param({"KAPPA_ZYGOTE": "off"}, None, id="off"),
        pytest.param({"KAPPA_ZYGOTE": "maybe"}, None, id="bad-choice"),
        pytest.param({"KAPPA_BOOTSTRAP": "/b"}, None, id="own-bootstrap"),
        pytest.param({"KAPPA_BOOTSTRAP": "/b", "KAPPA_ZYGOTE": "on"}, ("/b", "--zygote"), id="on"),
    ],
)
def test_a_pool_pod_starts_a_zygote_ahead_for_python_even_with_one_slot(
    env: dict[str, str], command: tuple[str, ...] | None
) -> None:
    plan = ahead_zygote({**POOL_POD, **env}, agent_bin_dir=None)
    assert (plan[0] if plan else None) == command


def test_a_pool_zygote_runs_in_the_task_root_without_the_agents_variables() -> None:
    plan = ahead_zygote({**POOL_POD, "LAMBDA_TASK_ROOT": "/srv/task"}, agent_bin_dir=None)
    assert plan is not None
    _, env, cwd = plan
    assert cwd == Path("/srv/task")
    assert env["LAMBDA_TASK_ROOT"] == "/srv/task"
    assert env["PATH"] == "/usr/bin"
    assert not [name for name in env if name.startswith("KAPPA_")]  # the token above all


NODE_POOL_POD = {**POOL_POD, "KAPPA_RUNTIME": "nodejs22"}


@pytest.mark.parametrize(
    ("env", "command"),
    [
        pytest.param({}, (RUNTIME_BOOTSTRAP,), id="nodejs22"),
        pytest.param({"KAPPA_RUNTIME": "nodejs20"}, (RUNTIME_BOOTSTRAP,), id="nodejs20"),
        pytest.param({"KAPPA_RUNTIME": "python3.11"}, None, id="python-has-a-zygote"),
        pytest.param({"KAPPA_RUNTIME": "provided"}, None, id="provided"),
        pytest.param({"KAPPA_RUNTIME": "image"}, None, id="image"),
        pytest.param({"KAPPA_PRESTART": "off"}, None, id="off"),
        pytest.param({"KAPPA_PRESTART": "maybe"}, None, id="bad-choice"),
        pytest.param({"KAPPA_BOOTSTRAP": "/b"}, None, id="own-bootstrap"),
        pytest.param({"KAPPA_BOOTSTRAP": "/b --x", "KAPPA_PRESTART": "on"}, ("/b", "--x"), id="on"),
    ],
)
def test_a_node_pool_pod_starts_its_runtime_ahead(
    env: dict[str, str], command: tuple[str, ...] | None
) -> None:
    plan = ahead_runtime({**NODE_POOL_POD, **env}, agent_bin_dir=None)
    assert (plan[0] if plan else None) == command


def test_a_runtime_started_ahead_runs_in_the_task_root_without_the_agents_variables() -> None:
    plan = ahead_runtime({**NODE_POOL_POD, "LAMBDA_TASK_ROOT": "/srv/task"}, agent_bin_dir="/a")
    assert plan is not None
    _, env, cwd = plan
    assert cwd == Path("/srv/task")
    assert env["LAMBDA_TASK_ROOT"] == "/srv/task"
    assert not [name for name in env if name.startswith("KAPPA_")]


def test_the_pod_token_file_turns_the_pod_credential_on() -> None:
    base = {"KAPPA_RUNTIME": "python3.11", "KAPPA_FUNCTION_ARN": "arn:aws:lambda:r:ns:function:f"}
    assert AgentSettings.from_env(base).pod_token_file is None
    on = AgentSettings.from_env({**base, "KAPPA_POD_TOKEN_FILE": "/var/run/t/token"})
    assert on.pod_token_file == Path("/var/run/t/token")
    assert "KAPPA_POD_TOKEN_FILE" not in on.runtime_env


def test_the_ready_push_is_set_up_from_the_operators_variables() -> None:
    uid = "fafb9981-7e77-4bd4-9135-8179bd8e1d35"
    env = {
        "KAPPA_AGENT_READY_PUSH": "10.0.0.5:8000,bad",
        "KAPPA_POD_NAME": "echo-abc",
        "KAPPA_POD_NAMESPACE": "team",
        "KAPPA_POD_UID": uid,
    }
    target = settings(**env).ready_push
    assert target is not None
    assert target.addresses == ("10.0.0.5:8000",)
    assert (target.push.namespace, target.push.pod, target.push.uid) == ("team", "echo-abc", uid)
    # The runtimes never see them (KAPPA_* is the agent's).
    assert not {k for k in settings(**env).runtime_env if k.startswith("KAPPA_")}


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="none"),
        pytest.param({"KAPPA_AGENT_READY_PUSH": "10.0.0.5:8000"}, id="no-identity"),
        pytest.param({"KAPPA_AGENT_READY_PUSH": "10.0.0.5:8000", "KAPPA_POD_NAME": "p",
                      "KAPPA_POD_NAMESPACE": "t", "KAPPA_POD_UID": "x"}, id="bad-uid"),
    ],
)  # fmt: skip
def test_without_a_usable_push_setup_there_is_no_push(env: dict[str, str]) -> None:
    assert settings(**env).ready_push is None
