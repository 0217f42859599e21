"""A durable Function's pod: the projected token its agent makes the pod credential of,
mounted whatever ``automountServiceAccountToken`` says, the agent told of it, and the
Lambda API's address for the SDK unless the Function names its own; nothing of it for a
Function that is not durable."""

from dataclasses import replace
from typing import Any

import pytest

from kappa.resources.pods import CodeMount, make_pod, revision_of
from tests.unit.resources.test_pods import PARAMS, env_of

ENDPOINT = "http://10.96.0.20:80"
DURABLE = replace(PARAMS, durable_endpoint=ENDPOINT)


def projected(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [volume for volume in pod["spec"]["volumes"] if "projected" in volume]


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in pod["spec"]["containers"] if c["name"] == name]
    return found


def token_mounts(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in found.get("volumeMounts", []) if m["name"] == "kappa-token"]


@pytest.mark.parametrize(
    "service_account", [pytest.param(None, id="default-account"), pytest.param("orders", id="own")]
)
def test_a_durable_pod_mounts_the_token_for_its_agent_and_names_the_lambda_api(
    service_account: str | None,
) -> None:
    pod = make_pod(replace(DURABLE, service_account_name=service_account), name="p", revision="r")
    [volume] = projected(pod)
    [source] = volume["projected"]["sources"]
    assert source["serviceAccountToken"] == {"audience": "kappa", "expirationSeconds": 3600,
                                             "path": "token"}  # fmt: skip
    agent = container(pod, "function")  # the agent runs the runtimes in this container
    [mount] = token_mounts(agent)
    env = env_of(agent)
    assert env["KAPPA_POD_TOKEN_FILE"] == f"{mount['mountPath']}/token"
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == ENDPOINT
    # automountServiceAccountToken keeps its meaning: the default token only with an account.
    assert pod["spec"]["automountServiceAccountToken"] is (service_account is not None)


def test_a_function_that_is_not_durable_gets_none_of_it() -> None:
    pod = make_pod(PARAMS, name="p", revision="r")
    env = env_of(container(pod, "function"))
    assert projected(pod) == []
    assert not {"KAPPA_POD_TOKEN_FILE", "AWS_ENDPOINT_URL_LAMBDA"} & set(env)


def test_the_functions_own_lambda_endpoint_wins() -> None:
    own = {"name": "AWS_ENDPOINT_URL_LAMBDA", "value": "http://elsewhere:9000"}
    pod = make_pod(replace(DURABLE, env=(own,)), name="p", revision="r")
    variables = container(pod, "function")["env"]
    assert [v for v in variables if v["name"] == "AWS_ENDPOINT_URL_LAMBDA"] == [own]


def test_a_durable_image_function_mounts_the_token_in_the_agents_container() -> None:
    params = replace(DURABLE, runtime="image", code=CodeMount(), image="registry/fn:1")
    pod = make_pod(params, name="p", revision="r")
    assert len(token_mounts(container(pod, "agent"))) == 1
    assert token_mounts(container(pod, "function")) == []
    assert env_of(container(pod, "function"))["AWS_ENDPOINT_URL_LAMBDA"] == ENDPOINT


def test_durable_rolls_the_pods() -> None:
    # Others keep theirs: test_pods.py's test_text_logging_sets_nothing_and_keeps_the_revision...
    assert revision_of(DURABLE) != revision_of(PARAMS)
    assert revision_of(replace(DURABLE, durable_endpoint="http://other:80")) != revision_of(DURABLE)
