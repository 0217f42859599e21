"""Per-function metrics and usage metering in the cluster: calls to Functions in two
namespaces are counted under each one's `namespace` and `function` on the gateways'
/metrics (both replicas, read pod by pod), and a 512 MB Function called 100 times for
100 ms shows about 5 GB-seconds."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections.abc import Iterator

import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from e2e.conftest import own_namespace
from e2e.gateway import Gateway
from e2e.test_gateway import create_ready, gateway_pod_urls, manifest, sleeper

_BILLED = re.compile(r"Billed Duration: (\d+) ms")


@pytest.fixture
def two_namespaces(core: client.CoreV1Api) -> Iterator[tuple[str, str]]:
    with (
        own_namespace(core, "e2e-metrics-a") as first,
        own_namespace(core, "e2e-metrics-b") as second,
    ):
        yield first, second


def gateway_samples(
    api: client.ApiClient, core: client.CoreV1Api, name: str
) -> dict[tuple[tuple[str, str], ...], float]:
    """``name``'s samples summed over every gateway replica, by sorted labels."""
    total: dict[tuple[tuple[str, str], ...], float] = {}
    for url in gateway_pod_urls(api, core):
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name:
                    key = tuple(sorted(sample.labels.items()))
                    total[key] = total.get(key, 0.0) + sample.value
    return total


def sample(found: dict[tuple[tuple[str, str], ...], float], **labels: str) -> float:
    return found.get(tuple(sorted(labels.items())), 0.0)


def test_invocations_and_errors_are_counted_per_function_in_two_namespaces(
    api: client.ApiClient,
    core: client.CoreV1Api,
    gateway: Gateway,
    two_namespaces: tuple[str, str],
) -> None:
    first, second = two_namespaces
    for namespace in two_namespaces:
        create_ready(api, namespace, manifest("counted"), replicas=1)
    lam = gateway.lambda_client()
    calls = {first: (3, 1), second: (1, 2)}
    for namespace, (good, bad) in calls.items():
        for fail in [False] * good + [True] * bad:
            lam.invoke(FunctionName=f"{namespace}/counted", Payload=json.dumps({"fail": fail}))
    found = gateway_samples(api, core, "kappa_gateway_invocations_total")
    for namespace, (good, bad) in calls.items():
        where = {"namespace": namespace, "function": "counted", "surface": "invoke"}
        assert sample(found, **where, outcome="success") == good, found
        assert sample(found, **where, outcome="function_error") == bad, found
    requests = gateway_samples(api, core, "kappa_gateway_billed_requests_total")
    assert sample(requests, namespace=first, function="counted") == 4
    assert sample(requests, namespace=second, function="counted") == 3


def test_a_512_mb_function_called_100_times_for_100_ms_uses_about_5_gb_seconds(
    api: client.ApiClient, core: client.CoreV1Api, gateway: Gateway, namespace: str
) -> None:
    create_ready(api, namespace, sleeper("metered", memoryMB=512), replicas=1)
    lam = gateway.lambda_client()
    billed_ms = 0
    for _ in range(100):
        response = lam.invoke(
            FunctionName=f"{namespace}/metered", LogType="Tail", Payload=b'{"sleep": 0.1}'
        )
        assert "FunctionError" not in response
        billed_ms += int(_BILLED.findall(base64.b64decode(response["LogResult"]).decode())[-1])
    where = {"namespace": namespace, "function": "metered"}
    gb_seconds = sample(
        gateway_samples(api, core, "kappa_gateway_billed_gigabyte_seconds_total"), **where
    )
    print(f"100 calls of 100 ms at 512 MB: {gb_seconds:.3f} GB-s")  # noqa: T201 - the figure
    assert gb_seconds == pytest.approx(billed_ms * 0.5 / 1000)
    assert gb_seconds >= 5.0
    requests = gateway_samples(api, core, "kappa_gateway_billed_requests_total")
    assert sample(requests, **where) == 100
