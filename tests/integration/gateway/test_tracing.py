"""Tracing end to end on loopback: the real gateway, a real agent, awslambdaric, an OTLP receiver.

One call is one trace: the gateway's span, the agent's (its child) and the handler's own
(a child of the agent's, from ``_X_AMZN_TRACE_ID``), all collected by an in-test
OTLP/HTTP receiver.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    Agent,
    LaunchAgent,
    pod_environment,
    python_bootstrap,
)
from tests.integration.gateway.conftest import StartGateway
from tests.integration.gateway.gateway_harness import Gateway, arn, function_entry
from tests.integration.gateway.otlp_receiver import ReceivedSpan, Receiver, otlp_receiver

TRACE = "5f3c2a1b0123456789abcdef01234567"
CALLER_SPAN = "00f067aa0ba902b7"
XRAY = re.compile(r"^Root=1-([0-9a-f]{8})-([0-9a-f]{24});Parent=([0-9a-f]{16});Sampled=([01])$")
INVOKE = "/2015-03-31/functions/traced/invocations"

StartTracedAgent = Callable[..., Agent]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as running:
        yield running


@pytest.fixture
def traced_agent(launch_agent: LaunchAgent, tmp_path: Path, task_root: Path) -> StartTracedAgent:
    bootstrap = python_bootstrap(tmp_path)

    def start(endpoint: str | None) -> Agent:
        settings: dict[str, str | int | float] = {"slots": 1, "timeout_seconds": 10}
        if endpoint is not None:
            settings["tracing_otlp_endpoint"] = endpoint
        env = pod_environment(
            path=os.environ.get("PATH", "/usr/bin:/bin"),
            home=tmp_path,
            runtime="python3.11",
            handler="traced.handler",
            task_root=task_root,
            bootstrap=bootstrap,
            settings=settings,
        )
        env["KAPPA_FUNCTION_ARN"] = arn("traced")
        env["AWS_LAMBDA_FUNCTION_NAME"] = "traced"
        return launch_agent(env)

    return start


def traced_gateway(start_gateway: StartGateway, agent: Agent, endpoint: str | None) -> Gateway:
    extra = {} if endpoint is None else {"KAPPA_TRACING_OTLP_ENDPOINT": endpoint}
    return start_gateway(
        [function_entry("traced", [agent], handler="traced.handler", timeout=10)],
        extra_env=extra,
    )


def of_call(request_id: str) -> Callable[[list[ReceivedSpan]], bool]:
    """Enough: the gateway's, the agent's and the handler's span of this call."""

    def found(spans: list[ReceivedSpan]) -> bool:
        services = {
            s.service for s in spans if s.attributes.get("faas.invocation_id") == request_id
        }
        return services >= {"kappa-gateway", "kappa-agent", "handler"}

    return found


def spans_of(spans: list[ReceivedSpan], request_id: str) -> dict[str, ReceivedSpan]:
    mine = [s for s in spans if s.attributes.get("faas.invocation_id") == request_id]
    by_service = {s.service: s for s in mine}
    assert len(by_service) == len(mine) == 3, mine  # one span each, no more
    return by_service


def handler_header(body: bytes) -> re.Match[str]:
    result = json.loads(body)
    match = XRAY.match(result["trace_header"])
    assert match is not None, result
    return match


def test_a_call_without_trace_headers_is_one_new_trace_across_gateway_agent_and_handler(
    traced_agent: StartTracedAgent, start_gateway: StartGateway, receiver: Receiver
) -> None:
    gateway = traced_gateway(start_gateway, traced_agent(receiver.url), receiver.url)
    reply = gateway.request("POST", INVOKE, b"{}")
    assert reply.status == 200, reply.body
    request_id = reply.headers["x-amzn-requestid"]
    spans = spans_of(receiver.wait_for(of_call(request_id)), request_id)
    gateway_span, agent_span, handler_span = (
        spans["kappa-gateway"], spans["kappa-agent"], spans["handler"]
    )  # fmt: skip
    assert gateway_span.trace_id == agent_span.trace_id == handler_span.trace_id
    assert gateway_span.parent_span_id is None  # the root: nobody named a trace
    assert agent_span.parent_span_id == gateway_span.span_id
    assert handler_span.parent_span_id == agent_span.span_id
    assert (gateway_span.name, gateway_span.kind) == ("invoke", 2)
    assert (agent_span.name, agent_span.kind) == ("invoke", 2)
    assert gateway_span.attributes["faas.invoked_name"] == "traced"
    assert gateway_span.attributes["k8s.namespace.name"] == "default"
    assert gateway_span.attributes["faas.version"] == "$LATEST"
    assert gateway_span.attributes["kappa.outcome"] == "success"
    assert agent_span.attributes["cloud.resource_id"] == arn("traced")
    assert agent_span.attributes["kappa.outcome"] == "success"
    # The handler saw the same trace, its parent the agent's span, sampled.
    header = handler_header(reply.body)
    assert header[1] + header[2] == gateway_span.trace_id
    assert (header[3], header[4]) == (agent_span.span_id, "1")


def test_a_callers_traceparent_is_continued(
    traced_agent: StartTracedAgent, start_gateway: StartGateway, receiver: Receiver
) -> None:
    gateway = traced_gateway(start_gateway, traced_agent(receiver.url), receiver.url)
    reply = gateway.request(
        "POST",
        INVOKE,
        b"{}",
        headers={"traceparent": f"00-{TRACE}-{CALLER_SPAN}-01", "tracestate": "vendor=x"},
    )
    assert reply.status == 200, reply.body
    request_id = reply.headers["x-amzn-requestid"]
    spans = spans_of(receiver.wait_for(of_call(request_id)), request_id)
    assert {s.trace_id for s in spans.values()} == {TRACE}
    assert spans["kappa-gateway"].parent_span_id == CALLER_SPAN
    assert spans["kappa-agent"].parent_span_id == spans["kappa-gateway"].span_id
    assert spans["handler"].parent_span_id == spans["kappa-agent"].span_id


def test_a_callers_xray_header_is_continued_on_the_http_trigger(
    traced_agent: StartTracedAgent, start_gateway: StartGateway, receiver: Receiver
) -> None:
    gateway = traced_gateway(start_gateway, traced_agent(receiver.url), receiver.url)
    xray = f"Root=1-{TRACE[:8]}-{TRACE[8:]};Parent={CALLER_SPAN};Sampled=1"
    reply = gateway.request("GET", "/fn/default/traced/", headers={"X-Amzn-Trace-Id": xray})
    assert reply.status == 200, reply.body
    request_id = reply.headers["x-amzn-requestid"]
    spans = spans_of(receiver.wait_for(of_call(request_id)), request_id)
    assert {s.trace_id for s in spans.values()} == {TRACE}
    assert spans["kappa-gateway"].parent_span_id == CALLER_SPAN
    assert spans["kappa-gateway"].attributes["kappa.surface"] == "http"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"traceparent": "00-not-a-trace-01"}, id="garbage-traceparent"),
        pytest.param({"traceparent": f"00-{'0' * 32}-{CALLER_SPAN}-01"}, id="zero-trace-id"),
        pytest.param({"traceparent": f"00-{TRACE}-{CALLER_SPAN}-01" + "x" * 300}, id="too-long"),
        pytest.param({"X-Amzn-Trace-Id": "Root=1-zz;Parent=;Sampled=1"}, id="garbage-xray"),
    ],
)
def test_a_malformed_trace_header_starts_a_fresh_trace_and_the_call_is_served(
    traced_agent: StartTracedAgent,
    start_gateway: StartGateway,
    receiver: Receiver,
    headers: dict[str, str],
) -> None:
    gateway = traced_gateway(start_gateway, traced_agent(receiver.url), receiver.url)
    reply = gateway.request("POST", INVOKE, b"{}", headers=headers)
    assert reply.status == 200, reply.body
    request_id = reply.headers["x-amzn-requestid"]
    spans = spans_of(receiver.wait_for(of_call(request_id)), request_id)
    trace_ids = {s.trace_id for s in spans.values()}
    assert len(trace_ids) == 1
    assert trace_ids != {TRACE}
    assert spans["kappa-gateway"].parent_span_id is None


def test_a_callers_decision_not_to_sample_is_kept(
    traced_agent: StartTracedAgent, start_gateway: StartGateway, receiver: Receiver
) -> None:
    gateway = traced_gateway(start_gateway, traced_agent(receiver.url), receiver.url)
    unsampled = gateway.request(
        "POST", INVOKE, b"{}", headers={"traceparent": f"00-{TRACE}-{CALLER_SPAN}-00"}
    )
    assert unsampled.status == 200, unsampled.body
    header = handler_header(unsampled.body)
    assert (header[1] + header[2], header[4]) == (TRACE, "0")  # passed on, not sampled
    # A sampled call after it: once its spans are in, the unsampled one's would be too.
    sampled = gateway.request("POST", INVOKE, b"{}")
    request_id = sampled.headers["x-amzn-requestid"]
    spans = receiver.wait_for(of_call(request_id))
    assert not [s for s in spans if s.trace_id == TRACE]


def test_with_tracing_off_the_handler_still_gets_a_trace_id(
    traced_agent: StartTracedAgent, start_gateway: StartGateway
) -> None:
    gateway = traced_gateway(start_gateway, traced_agent(None), None)
    reply = gateway.request("POST", INVOKE, b"{}")
    assert reply.status == 200, reply.body
    header = handler_header(reply.body)
    assert header[4] == "0"  # nothing records it: not sampled
    # A caller's id still reaches the handler, in the same trace, with its decision.
    xray = f"Root=1-{TRACE[:8]}-{TRACE[8:]};Parent={CALLER_SPAN};Sampled=0"
    continued = gateway.request("POST", INVOKE, b"{}", headers={"X-Amzn-Trace-Id": xray})
    assert handler_header(continued.body)[1] + handler_header(continued.body)[2] == TRACE
    assert "kappa_gateway_spans_dropped" not in gateway.request("GET", "/metrics").body.decode()


def test_a_collector_that_is_down_costs_spans_not_calls(
    traced_agent: StartTracedAgent, start_gateway: StartGateway, receiver: Receiver
) -> None:
    with otlp_receiver() as gone:
        down = gone.url  # a port nobody listens on once the receiver has stopped
    gateway = traced_gateway(start_gateway, traced_agent(receiver.url), down)
    for _ in range(3):
        reply = gateway.request("POST", INVOKE, b"{}")
        assert reply.status == 200, reply.body
    # The agent still exports to its own collector; the gateway counts what it lost.
    request_id = reply.headers["x-amzn-requestid"]
    receiver.wait_for(
        lambda spans: any(
            s.service == "kappa-agent" and s.attributes.get("faas.invocation_id") == request_id
            for s in spans
        )
    )
    wait_for_metric(gateway, "kappa_gateway_spans_dropped_total", 3)
    assert gateway.metric("kappa_gateway_spans_exported_total") == 0


def wait_for_metric(gateway: Gateway, name: str, at_least: float, timeout: float = 30) -> None:
    import time  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while (value := gateway.metric(name)) < at_least:
        assert time.monotonic() < deadline, f"{name} stayed at {value}"
        time.sleep(0.2)
