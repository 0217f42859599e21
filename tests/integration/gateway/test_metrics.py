"""Per-function metrics and usage metering of the real gateway in front of real agents."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent, StartGateway
from tests.integration.gateway.gateway_harness import function_entry

_BILLED = re.compile(r"Billed Duration: (\d+) ms")


def test_invocations_and_errors_are_counted_per_namespace_and_function(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    first = start_agent("fns.maybe_fail", name="resize", namespace="team-a")
    second = start_agent("fns.maybe_fail", name="report", namespace="team-b")
    gateway = start_gateway(
        [
            function_entry("resize", [first], namespace="team-a", handler="fns.maybe_fail"),
            function_entry("report", [second], namespace="team-b", handler="fns.maybe_fail"),
        ]
    )
    client = lambda_client(gateway)
    calls = {"team-a/resize": (3, 2), "team-b/report": (1, 4)}
    for name, (good, bad) in calls.items():
        for fail in [False] * good + [True] * bad:
            client.invoke(FunctionName=name, Payload=json.dumps({"fail": fail}))
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="team-a/nothing-here", Payload=b"{}")
    gateway.request("GET", "/fn/team-b/report")  # the HTTP trigger: an event, "fail" absent

    name = "kappa_gateway_invocations_total"
    for namespace, function, surface, outcome, count in [
        ("team-a", "resize", "invoke", "success", 3),
        ("team-a", "resize", "invoke", "function_error", 2),
        ("team-b", "report", "invoke", "success", 1),
        ("team-b", "report", "invoke", "function_error", 4),
        ("team-b", "report", "http", "success", 1),
        # A name no Function has never becomes a label.
        ("", "", "invoke", "client_error", 1),
    ]:
        labels = {"namespace": namespace, "function": function}
        assert gateway.sample(name, **labels, surface=surface, outcome=outcome) == count, (
            gateway.samples(name)
        )
    assert not any(("function", "nothing-here") in labels for labels in gateway.samples(name)), (
        gateway.samples(name)
    )
    histogram = "kappa_gateway_invocation_duration_seconds_count"
    assert gateway.sample(histogram, namespace="team-b", function="report") == 6
    # Each agent's first call met a runtime that was ready before the call came.
    cold = "kappa_gateway_cold_starts_total"
    assert gateway.sample(cold, namespace="team-a", function="resize", path="provisioned") == 1


def test_past_the_cap_functions_count_as_other_of_their_namespace(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    agents = {name: start_agent(name=name, namespace="team-a") for name in ("one", "two")}
    gateway = start_gateway(
        [function_entry(name, [agent], namespace="team-a") for name, agent in agents.items()],
        extra_env={"KAPPA_METRICS_MAX_FUNCTIONS": "1"},
    )
    client = lambda_client(gateway)
    client.invoke(FunctionName="team-a/one", Payload=b"{}")
    client.invoke(FunctionName="team-a/two", Payload=b"{}")
    client.invoke(FunctionName="team-a/two", Payload=b"{}")
    name = "kappa_gateway_billed_requests_total"
    assert gateway.sample(name, namespace="team-a", function="one") == 1
    assert gateway.sample(name, namespace="team-a", function="_other") == 2
    assert gateway.sample("kappa_gateway_metrics_labelled_functions") == 1


def test_a_512_mb_function_called_100_times_for_100_ms_uses_about_5_gb_seconds(
    start_agent: StartFunctionAgent, start_gateway: StartGateway, lambda_client: LambdaClient
) -> None:
    agent = start_agent("fns.interval", name="thumbs", namespace="team-a", memory_mb=512)
    gateway = start_gateway(
        [
            function_entry(
                "thumbs", [agent], namespace="team-a", handler="fns.interval", memory_mb=512
            )
        ]
    )
    client = lambda_client(gateway)
    billed_ms = 0
    for _ in range(100):
        response = client.invoke(
            FunctionName="team-a/thumbs", LogType="Tail", Payload=b'{"seconds": 0.1}'
        )
        assert "FunctionError" not in response
        report = base64.b64decode(response["LogResult"]).decode()
        billed_ms += int(_BILLED.findall(report)[-1])
    where = {"namespace": "team-a", "function": "thumbs"}
    gb_seconds = gateway.sample("kappa_gateway_billed_gigabyte_seconds_total", **where)
    print(f"100 calls of 100 ms at 512 MB: {gb_seconds:.3f} GB-s, {billed_ms} ms billed")  # noqa: T201 - the figure
    # The meter is the REPORT lines' billed durations times 0.5 GB, to the millisecond.
    assert gb_seconds == pytest.approx(billed_ms * 0.5 / 1000)
    assert gb_seconds >= 5.0  # every call slept at least 100 ms
    assert gateway.sample("kappa_gateway_billed_requests_total", **where) == 100
    assert gateway.sample("kappa_gateway_billed_duration_seconds_total", **where) == (
        pytest.approx(billed_ms / 1000)
    )
