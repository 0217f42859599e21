"""An event's trace across the queue: the gateway's invoke span, a worker's ``process`` span,
the agent's and the handler's, one trace, each the child of the one before."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    Agent,
    LaunchAgent,
    pod_environment,
    python_bootstrap,
)
from tests.integration.asyncq.conftest import StartAsyncGateway
from tests.integration.gateway.gateway_harness import arn, function_entry
from tests.integration.gateway.otlp_receiver import ReceivedSpan, Receiver, otlp_receiver

TRACED = Path(__file__).parents[1] / "gateway" / "handlers" / "traced.py"
TRACE = "5f3c2a1b0123456789abcdef01234567"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as running:
        yield running


def traced_agent(launch: LaunchAgent, tmp_path: Path, task_root: Path, endpoint: str) -> Agent:
    shutil.copy(TRACED, task_root / "traced.py")
    env = pod_environment(
        path=os.environ.get("PATH", "/usr/bin:/bin"),
        home=tmp_path,
        runtime="python3.11",
        handler="traced.handler",
        task_root=task_root,
        bootstrap=python_bootstrap(tmp_path),
        settings={"slots": 1, "timeout_seconds": 10, "tracing_otlp_endpoint": endpoint},
    )
    env["KAPPA_FUNCTION_ARN"] = arn("traced")
    env["AWS_LAMBDA_FUNCTION_NAME"] = "traced"
    return launch(env)


def four_spans(request_id: str):
    def found(spans: list[ReceivedSpan]) -> bool:
        mine = [s for s in spans if s.attributes.get("faas.invocation_id") == request_id]
        return len(mine) >= 4

    return found


@pytest.mark.parametrize("traceparent", [None, f"00-{TRACE}-{CALLER_SPAN}-01"])
def test_an_event_is_one_trace_through_the_queue(
    launch_agent: LaunchAgent,
    tmp_path: Path,
    task_root: Path,
    async_gateway: StartAsyncGateway,
    receiver: Receiver,
    traceparent: str | None,
) -> None:
    agent = traced_agent(launch_agent, tmp_path, task_root, receiver.url)
    gateway = async_gateway(
        [function_entry("traced", [agent], handler="traced.handler", timeout=10)],
        env={"KAPPA_TRACING_OTLP_ENDPOINT": receiver.url},
    )
    headers = {"X-Amz-Invocation-Type": "Event"}
    if traceparent is not None:
        headers["traceparent"] = traceparent
    reply = gateway.request("POST", "/2015-03-31/functions/traced/invocations", b"{}", headers)
    assert reply.status == 202, reply.body
    request_id = reply.headers["x-amzn-requestid"]
    spans = [
        s
        for s in receiver.wait_for(four_spans(request_id))
        if s.attributes.get("faas.invocation_id") == request_id
    ]
    by_name = {(s.service, s.name): s for s in spans}
    assert len(by_name) == len(spans) == 4, spans
    enqueue = by_name["kappa-gateway", "invoke"]
    worker = by_name["kappa-gateway", "process"]
    agent_span = by_name["kappa-agent", "invoke"]
    handler = by_name["handler", "handler-work"]
    assert len({s.trace_id for s in spans}) == 1
    if traceparent is not None:
        assert (enqueue.trace_id, enqueue.parent_span_id) == (TRACE, CALLER_SPAN)
    else:
        assert enqueue.parent_span_id is None
    assert enqueue.attributes["kappa.outcome"] == "accepted"
    assert (worker.parent_span_id, worker.kind) == (enqueue.span_id, 5)  # a consumer
    assert worker.attributes["kappa.outcome"] == "answered"
    assert agent_span.parent_span_id == worker.span_id
    assert handler.parent_span_id == agent_span.span_id
