"""Which pods' runtimes the launcher starts before the agent (the rest keep today's order)."""

import pytest

from kappa.agent.launch import qualifies
from kappa.agent.settings import AgentSettings
from kappa.agent.start_env import runtime_api_env

ARN = "arn:aws:lambda:us-east-1:default:function:demo"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({"KAPPA_RUNTIME": "python3.11"}, True, id="plain-python"),
        pytest.param({"KAPPA_RUNTIME": "nodejs22", "KAPPA_SLOTS": "4"}, True, id="node-4-slots"),
        pytest.param({"KAPPA_RUNTIME": "provided"}, True, id="provided"),
        pytest.param({"KAPPA_RUNTIME": "image"}, False, id="image-runtime-is-external"),
        pytest.param({"KAPPA_RUNTIME": "python3.11", "KAPPA_SLOTS": "2"}, False, id="zygote-auto"),
        pytest.param(
            {"KAPPA_RUNTIME": "python3.11", "KAPPA_SLOTS": "2", "KAPPA_ZYGOTE": "off"},
            True,
            id="zygote-off",
        ),
        pytest.param({"KAPPA_RUNTIME": "nodejs22", "KAPPA_ZYGOTE": "on"}, False, id="zygote-on"),
        pytest.param(
            {
                "KAPPA_RUNTIME": "python3.11",
                "KAPPA_CODE_URL": "http://codestore/x.zip",
                "KAPPA_CODE_SHA256": "a" * 64,
            },
            False,
            id="code-to-fetch",
        ),
        pytest.param(
            {
                "KAPPA_RUNTIME": "python3.11",
                "KAPPA_LAYERS": '[{"url": "http://codestore/l.zip", "sha256": "' + "b" * 64 + '"}]',
            },
            False,
            id="layers-to-fetch",
        ),
        pytest.param(
            {"KAPPA_RUNTIME": "python3.11", "KAPPA_FROM_POOL": "true"}, False, id="specialised"
        ),
        pytest.param(
            {"KAPPA_RUNTIME": "python3.11", "KAPPA_POD_TOKEN_FILE": "/var/run/kappa/token"},
            False,
            id="pod-credential",
        ),
    ],
)
def test_only_a_plain_pod_whose_runtime_is_all_there_qualifies(
    env: dict[str, str], *, expected: bool
) -> None:
    settings = AgentSettings.from_env({**env, "KAPPA_FUNCTION_ARN": ARN})
    assert qualifies(settings) is expected


def test_a_runtime_gets_its_slots_runtime_api_and_the_rest_as_is() -> None:
    env = {"AWS_LAMBDA_RUNTIME_API": "elsewhere:1", "TZ": "UTC"}
    assert runtime_api_env(env, 9002) == {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9002", "TZ": "UTC"}
    assert env["AWS_LAMBDA_RUNTIME_API"] == "elsewhere:1"  # not changed in place
