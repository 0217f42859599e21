"""ConcurrencyQuota on a real cluster: invalid quotas refused by the API server, a namespace at
its quota throttled by the gateway (both replicas) while another namespace is not.

The throttle needs no autoscaler: the namespace's Function has exactly as many slots as the
quota allows (provisioned pods), so a call that finds every slot busy is throttled at once
(kappa.gateway.admission.when_full) by whichever gateway replica it reaches.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kubernetes import client
from tests.unit.api.function_cases import Refusal
from tests.unit.api.quota_cases import ACCEPTED, REFUSED, quota

from e2e.cluster import Cluster
from e2e.test_function_crd import _refusal
from e2e.test_gateway import (
    Gateway,
    _knows,
    create_ready,
    gateway,  # noqa: F401 - the fixture, shared with the gateway's tests
    gateway_pod_urls,
    lambda_client_at,
    max_overlap,
    sleeper,
)

GROUP, VERSION, QUOTAS = "kappa.dev", "v1alpha1", "concurrencyquotas"


@pytest.fixture
def namespaces(core: client.CoreV1Api) -> Iterator[Callable[[], str]]:
    """Make namespaces of the test's own (prefix quota-); all are deleted afterwards."""
    made: list[str] = []

    def make() -> str:
        name = f"quota-{uuid.uuid4().hex[:8]}"
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        made.append(name)
        Cluster.wait(lambda: core.list_namespaced_service_account(name).items, "default SA", 60)
        return name

    yield make
    for name in made:
        core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture(scope="module")
def quotas(api: client.ApiClient, kappa_crds: list[str]) -> client.CustomObjectsApi:
    """The ConcurrencyQuota API, once the API server enforces the CRD as generated now."""
    assert f"customresourcedefinition.apiextensions.k8s.io/{QUOTAS}.{GROUP}" in kappa_crds
    objects = client.CustomObjectsApi(api)
    probe = quota(maxReserved=11)
    expected = "spec.maxReserved is greater than spec.maxConcurrency"
    Cluster.wait(
        lambda: expected in _refusal(lambda: _dry_run(objects, "default", probe)),
        "the ConcurrencyQuota CRD's rules to be enforced",
        30,
    )
    return objects


def _dry_run(objects: client.CustomObjectsApi, namespace: str, body: dict[str, Any]) -> Any:
    return objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, QUOTAS, body, dry_run="All", field_validation="Strict"
    )


@pytest.mark.parametrize("refusal", REFUSED)
def test_invalid_quota_is_refused_saying_what_to_fix(
    quotas: client.CustomObjectsApi, refusal: Refusal
) -> None:
    message = _refusal(lambda: _dry_run(quotas, "default", refusal.manifest))
    assert message, "accepted"
    assert refusal.apiserver_expects in message


@pytest.mark.parametrize("body", ACCEPTED)
def test_valid_quota_is_accepted(quotas: client.CustomObjectsApi, body: dict[str, Any]) -> None:
    stored = _dry_run(quotas, "default", body)
    assert stored["spec"] == body["spec"]


def _burst(name: str, urls: list[str], calls_per_url: int, sleep: float) -> list[Any]:
    """Call ``name`` from ``calls_per_url`` clients per gateway replica at once."""
    clients = [lambda_client_at(url) for url in urls for _ in range(calls_per_url)]
    barrier = threading.Barrier(len(clients))

    def call(lam: Any) -> tuple[str, Any, float]:
        barrier.wait()
        began = time.monotonic()
        try:
            response = lam.invoke(FunctionName=name, Payload=json.dumps({"sleep": sleep}))
        except ClientError as exc:
            return "error", exc.response, time.monotonic() - began
        return "ok", json.loads(response["Payload"].read()), time.monotonic() - began

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(call, clients))


def test_a_namespace_at_its_quota_is_throttled_while_another_is_not(
    gateway: Gateway,  # noqa: F811 - the fixture imported above
    api: client.ApiClient,
    core: client.CoreV1Api,
    quotas: client.CustomObjectsApi,
    namespaces: Callable[[], str],
) -> None:
    limited, free = namespaces(), namespaces()
    quotas.create_namespaced_custom_object(GROUP, VERSION, limited, QUOTAS, quota(maxConcurrency=2))
    # Two pods of one slot in each namespace: `limited` has as many slots as its quota.
    for namespace in (limited, free):
        create_ready(api, namespace, sleeper("pair", concurrency={"provisioned": 2}), 2)
    urls = gateway_pod_urls(api, core)
    for namespace in (limited, free):
        for url in urls:
            Cluster.wait(
                lambda u=url, n=namespace: _knows(u, f"{n}/pair"), f"{url} to see {namespace}", 30
            )
    time.sleep(2)  # each replica's pod watch has both (Ready) pods, its quota watch the quota

    results = _burst(f"{limited}/pair", urls, 3, sleep=3)
    ran = [body for kind, body, _ in results if kind == "ok"]
    refused = [(body, took) for kind, body, took in results if kind == "error"]
    assert all("errorType" not in body for body in ran), results
    assert max_overlap([(body["start"], body["end"]) for body in ran]) <= 2, results
    assert len(ran) == 2, (results, gateway.logs())
    assert len(refused) == 4, results
    for error, took in refused:
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 429, error
        assert error["Error"]["Code"] == "TooManyRequestsException", error
        assert error["Reason"] == "ConcurrentInvocationLimitExceeded", error
        assert took < 2.5, error  # at once: it did not wait for a slot to end

    # The same burst in a namespace without a quota: the extra calls wait for a slot.
    results = _burst(f"{free}/pair", urls, 3, sleep=1)
    assert [kind for kind, _, _ in results] == ["ok"] * 6, (results, gateway.logs())
