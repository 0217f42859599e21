"""The cold-start header and metric of the real gateway in front of real agents.

The registry file stands for the pod watch: ``"ready": false`` is a pod the kubelet
has not yet marked Ready (the call waits, and the agent's own readiness lets it in),
``"ready": true`` a pod started ahead of the call.
"""

from __future__ import annotations

import pytest

from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import function_entry

COLD = "kappa_gateway_cold_starts_total"
INVOKE = "/2015-03-31/functions/{}/invocations"


@pytest.mark.parametrize(
    "path", [pytest.param(INVOKE.format("fresh"), id="invoke-api"),
             pytest.param("/fn/default/fresh/any", id="http-trigger")],
)  # fmt: skip
def test_a_call_that_waited_for_a_new_pod_is_cold_and_the_next_is_warm(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, path: str
) -> None:
    agent = start_agent(name="fresh")
    gateway = start_gateway([function_entry("fresh", [agent], ready=False)])
    first = gateway.request("POST", path, b"{}")
    second = gateway.request("POST", path, b"{}")
    assert (first.status, second.status) == (200, 200), first.body
    assert first.headers["x-kappa-cold-start"] == "true"
    assert second.headers["x-kappa-cold-start"] == "false"
    assert gateway.sample(COLD, namespace="default", function="fresh", path="new_pod") == 1
    assert gateway.sample(COLD, namespace="default", function="fresh", path="provisioned") == 0


def test_a_runtime_started_ahead_of_the_call_is_not_cold_for_the_caller(
    start_agent: StartFunctionAgent, start_gateway: StartGateway
) -> None:
    agent = start_agent(name="ahead")
    gateway = start_gateway([function_entry("ahead", [agent], ready=True)])
    reply = gateway.request("POST", INVOKE.format("ahead"), b"{}")
    assert reply.status == 200, reply.body
    assert reply.headers["x-kappa-cold-start"] == "false"
    # The runtime's first call still counts (its REPORT carries the Init Duration).
    assert gateway.sample(COLD, namespace="default", function="ahead", path="provisioned") == 1
    agent.wait_for("Init Duration: ")  # printed before the answer, read by a thread
