"""The real gateway routes to a pod its agent says is ready, before the kubelet would.

The registry file stands for the pod watch: an endpoint with ``"ready": false`` is a
pod the kubelet has not yet marked Ready.
"""

from __future__ import annotations

import json

from tests.integration.gateway.conftest import StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import function_entry

PROBES = "kappa_gateway_readiness_probes_total"


def test_a_pod_not_yet_ready_with_a_live_agent_gets_the_call(
    start_agent: StartFunctionAgent, start_gateway: StartGateway
) -> None:
    agent = start_agent(name="fresh")
    gateway = start_gateway([function_entry("fresh", [agent], ready=False)])
    reply = gateway.request(
        "POST", "/2015-03-31/functions/fresh/invocations", json.dumps({"k": "v"}).encode()
    )
    assert reply.status == 200, reply.body
    assert json.loads(reply.body)["event"] == {"k": "v"}
    assert gateway.sample(PROBES, outcome="ready") == 1


def test_a_live_agent_of_another_function_is_never_routed_to(
    start_agent: StartFunctionAgent, start_gateway: StartGateway
) -> None:
    # The pod listed for "victim" answers the probe as "intruder": not this Function's pod.
    intruder = start_agent(name="intruder")
    gateway = start_gateway(
        [function_entry("victim", [intruder], ready=False)], queue_max_wait_seconds=1
    )
    reply = gateway.request("POST", "/2015-03-31/functions/victim/invocations", b"{}")
    assert reply.status == 429, reply.body
    assert gateway.sample(PROBES, outcome="not_ready") >= 1
    assert gateway.sample(PROBES, outcome="ready") == 0
    assert "START RequestId" not in intruder.output()


def test_with_probes_off_a_pod_not_yet_ready_is_waited_for(
    start_agent: StartFunctionAgent, start_gateway: StartGateway
) -> None:
    agent = start_agent(name="fresh")
    gateway = start_gateway(
        [function_entry("fresh", [agent], ready=False)],
        queue_max_wait_seconds=1,
        readiness_probe_ms=0,
    )
    reply = gateway.request("POST", "/2015-03-31/functions/fresh/invocations", b"{}")
    assert reply.status == 429, reply.body
    assert sum(gateway.samples(PROBES).values()) == 0
