"""ConcurrencyQuota on a real cluster: invalid quotas refused by the API server, a namespace at
its quota throttled by the gateway (both replicas) while another namespace is not, a Function
over its namespace's quota refused at `kubectl apply` by the operator's admission webhook, and
the quota's status: the namespace's use, and a quota lowered below it holding the Function.

The throttle needs no autoscaler: the namespace's Function has exactly as many slots as the
quota allows (provisioned pods), so a call that finds every slot busy is throttled at once
(kappa.gateway.admission.when_full) by whichever gateway replica it reaches.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from tests.unit.api.function_cases import Refusal
from tests.unit.api.quota_cases import ACCEPTED, REFUSED, quota

from e2e.cluster import Cluster
from e2e.conftest import Operator, _kubectl
from e2e.gateway import ADMISSION_THROTTLE_MESSAGE, burst_at, routes_to_both_pods
from e2e.test_function_crd import _refusal
from e2e.test_gateway import (
    Gateway,
    _knows,
    create_ready,
    gateway_pod_urls,
    max_overlap,
    ready,
    sleeper,
)

GROUP, VERSION, QUOTAS, FUNCTIONS = "kappa.dev", "v1alpha1", "concurrencyquotas", "functions"


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


@pytest.mark.schema
@pytest.mark.parametrize("refusal", REFUSED)
def test_invalid_quota_is_refused_saying_what_to_fix(
    quotas: client.CustomObjectsApi, refusal: Refusal
) -> None:
    message = _refusal(lambda: _dry_run(quotas, "default", refusal.manifest))
    assert message, "accepted"
    assert refusal.apiserver_expects in message


@pytest.mark.schema
@pytest.mark.parametrize("body", ACCEPTED)
def test_valid_quota_is_accepted(quotas: client.CustomObjectsApi, body: dict[str, Any]) -> None:
    stored = _dry_run(quotas, "default", body)
    assert stored["spec"] == body["spec"]


def test_a_namespace_at_its_quota_is_throttled_while_another_is_not(
    gateway: Gateway,
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
            # Each replica's pod watch has both (Ready) pods: calls run side by side.
            Cluster.wait(
                lambda u=url, n=namespace: routes_to_both_pods(u, f"{n}/pair"),
                f"{url} to see both pods of {namespace}/pair",
                120,
            )
    # Each replica's quota watch has the quota: a third call at once is refused by it.
    for url in urls:
        Cluster.wait(
            lambda u=url: any(
                kind == "error" and body.get("Reason") == "ConcurrentInvocationLimitExceeded"
                for kind, body, _ in burst_at(f"{limited}/pair", [u], 3, sleep=1)
            ),
            f"{url} to hold {limited} to its quota",
            60,
        )

    results = burst_at(f"{limited}/pair", urls, 3, sleep=10)
    ran = [body for kind, body, _ in results if kind == "ok"]
    refused = [(body, at) for kind, body, at in results if kind == "error"]
    assert all("errorType" not in body for body in ran), results
    intervals = [(body["start"], body["end"]) for body in ran]
    assert max_overlap(intervals) <= 2, results
    assert len(ran) == 2, (results, gateway.logs())
    assert len(refused) == 4, results
    for error, at in refused:
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 429, error
        assert error["Error"]["Code"] == "TooManyRequestsException", error
        assert error["Reason"] == "ConcurrentInvocationLimitExceeded", error
        # Refused by admission, not after a wait in the queue.
        assert error["Error"]["Message"] == ADMISSION_THROTTLE_MESSAGE, error
        # At once: answered while both slots were still busy, not after one came free.
        assert at < min(end for _, end in intervals), (error, at, intervals)

    # The same burst in a namespace without a quota: the extra calls wait for a slot.
    results = burst_at(f"{free}/pair", urls, 3, sleep=1)
    assert [kind for kind, _, _ in results] == ["ok"] * 6, (results, gateway.logs())


def _apply(
    kubectl: list[str], namespace: str, body: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*kubectl, "apply", "-n", namespace, "-f", "-"],
        input=json.dumps(body),
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_function_over_its_namespace_quota_is_refused_at_apply(
    cluster: Cluster,
    api: client.ApiClient,
    quotas: client.CustomObjectsApi,
    operator: Operator,
    namespaces: Callable[[], str],
) -> None:
    namespace = namespaces()
    kubectl = _kubectl(cluster)
    quotas.create_namespaced_custom_object(
        GROUP, VERSION, namespace, QUOTAS, quota(maxConcurrency=10, maxReserved=2)
    )
    functions = client.CustomObjectsApi(api)
    functions.create_namespaced_custom_object(
        GROUP, VERSION, namespace, FUNCTIONS, sleeper("first", concurrency={"reserved": 2})
    )
    second = sleeper("second", concurrency={"reserved": 1})
    expected = (
        f"spec.concurrency.reserved 1 would bring the reserved concurrency of namespace "
        f"{namespace} to 3, over its ConcurrencyQuota's maxReserved 2 (0 left): lower reserved "
        "or raise the quota"
    )
    # The operator serves the webhook once it has started and seen `first`.
    Cluster.wait(
        lambda: expected in _refusal(lambda: _dry_run_function(functions, namespace, second)),
        "the quota webhook to refuse",
        60,
    )
    done = _apply(kubectl, namespace, second)
    assert done.returncode != 0, done.stdout
    assert 'admission webhook "quota.kappa.dev" denied the request' in done.stderr, done.stderr
    assert expected in done.stderr, done.stderr
    # Within the quota it is accepted; lowering what a Function asks for always is.
    second["spec"]["concurrency"] = {"reserved": 0}
    assert _apply(kubectl, namespace, second).returncode == 0
    first = sleeper("first", concurrency={"reserved": 1})
    assert _apply(kubectl, namespace, first).returncode == 0


def _dry_run_function(
    functions: client.CustomObjectsApi, namespace: str, body: dict[str, Any]
) -> Any:
    return functions.create_namespaced_custom_object(
        GROUP, VERSION, namespace, FUNCTIONS, body, dry_run="All"
    )


def _get(objects: client.CustomObjectsApi, namespace: str, plural: str, name: str) -> Any:
    return objects.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)


def _ready(obj: dict[str, Any]) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


def test_quota_status_shows_use_and_a_lowered_quota_holds_functions(
    api: client.ApiClient,
    core: client.CoreV1Api,
    quotas: client.CustomObjectsApi,
    operator: Operator,
    namespaces: Callable[[], str],
) -> None:
    namespace = namespaces()
    quotas.create_namespaced_custom_object(
        GROUP, VERSION, namespace, QUOTAS, quota(maxConcurrency=4)
    )
    functions = create_ready(api, namespace, sleeper("warm", concurrency={"provisioned": 1}), 1)

    def status() -> dict[str, Any]:
        return dict(_get(quotas, namespace, QUOTAS, "default").get("status") or {})

    def use_shown() -> bool:
        got = status()
        return (
            got.get("functions"),
            got.get("provisioned"),
            got.get("reserved"),
            got.get("slots"),
        ) == (1, 1, 0, 1) and _ready({"status": got}).get("reason") == "WithinQuota"

    Cluster.wait(use_shown, "the quota's status to show the namespace's use", 60)
    assert status()["observedGeneration"] == 1
    assert _ready({"status": status()})["message"] == (
        "reserved 0 of 4, provisioned 1 of 4, ready slots 1 of 4"
    )

    # Lowered below what the namespace holds: the quota says so, the Function is held.
    quotas.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, QUOTAS, "default", {"spec": {"maxProvisioned": 0}}
    )

    def held() -> bool:
        got = status()
        function = _get(functions, namespace, FUNCTIONS, "warm")
        return (
            _ready({"status": got}).get("reason") == "OverQuota"
            and got.get("overQuota") == ["warm"]
            and _ready(function).get("reason") == "QuotaExceeded"
        )

    Cluster.wait(held, "the quota to show it is over, and warm to be held", 60)
    over = _ready({"status": status()})
    assert over["status"] == "False"
    assert over["observedGeneration"] == 2
    assert over["message"].startswith("1 Function(s) do not fit and are held at Ready=False: warm.")
    function = _ready(_get(functions, namespace, FUNCTIONS, "warm"))
    assert function["status"] == "False"
    assert "over its ConcurrencyQuota's maxProvisioned 0" in function["message"]
    events = core.list_namespaced_event(namespace, field_selector="reason=QuotaExceeded").items
    assert [e.involved_object.name for e in events] == ["warm"]

    # Raised again: the Function is Ready once more.
    quotas.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, QUOTAS, "default", {"spec": {"maxProvisioned": None}}
    )
    Cluster.wait(lambda: ready(functions, namespace, "warm"), "warm Ready again", 60)
    Cluster.wait(
        lambda: _ready({"status": status()}).get("reason") == "WithinQuota", "quota within", 60
    )


def test_a_runtime_the_installation_has_no_image_for_is_refused_at_apply(
    cluster: Cluster,
    api: client.ApiClient,
    operator: Operator,
    namespaces: Callable[[], str],
) -> None:
    # The CRD accepts python3.12; this installation builds no image for it (its settings
    # list the runtimes it has), so the operator's webhook refuses it, naming the others.
    namespace = namespaces()
    newer = sleeper("newer")
    newer["spec"]["runtime"] = "python3.12"
    expected = "spec.runtime python3.12 is not installed in this cluster: use one of python3.11"
    refused = _refused_by_webhook(cluster, api, namespace, newer, expected)
    assert "nodejs20, nodejs22, provided, image" in refused, refused
    # An installed runtime passes the same webhook.
    newer["spec"]["runtime"] = "python3.11"
    assert _apply(_kubectl(cluster), namespace, newer).returncode == 0


def test_an_async_destination_subject_outside_the_namespace_is_refused_at_apply(
    cluster: Cluster,
    api: client.ApiClient,
    operator: Operator,
    namespaces: Callable[[], str],
) -> None:
    # A subject of Kappa's own (another namespace's dead letters) or of another namespace
    # would let one tenant plant records where another reads them.
    namespace = namespaces()
    planted = sleeper("planted")
    planted["spec"]["async"] = {"onFailure": {"natsSubject": "kappa.dlq.other.fn"}}
    expected = "spec.async.onFailure.natsSubject 'kappa.dlq.other.fn' must start with"
    refused = _refused_by_webhook(cluster, api, namespace, planted, expected)
    assert f"{namespace}.dlq.other.fn" in refused, refused  # what to use instead
    planted["spec"]["async"] = {"onFailure": {"natsSubject": f"{namespace}.failed"}}
    assert _apply(_kubectl(cluster), namespace, planted).returncode == 0


def _refused_by_webhook(
    cluster: Cluster, api: client.ApiClient, namespace: str, body: dict[str, Any], expected: str
) -> str:
    """``kubectl apply`` of ``body`` refused by the operator's webhook saying ``expected``
    (waited for until the webhook answers); kubectl's stderr."""
    functions = client.CustomObjectsApi(api)
    Cluster.wait(
        lambda: expected in _refusal(lambda: _dry_run_function(functions, namespace, body)),
        "the webhook to refuse",
        60,
    )
    done = _apply(_kubectl(cluster), namespace, body)
    assert done.returncode != 0, done.stdout
    assert 'admission webhook "runtimes.kappa.dev" denied the request' in done.stderr, done.stderr
    assert expected in done.stderr, done.stderr
    return done.stderr
