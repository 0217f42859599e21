"""EventSourceMappings on a real cluster: the CRD refuses bad manifests, and an SQS mapping feeds
a Function through the gateway.

ElasticMQ runs on the host, bound to the node's address (10.88.0.1 on the local
cluster), which pods reach; the poller Deployment the operator makes reads it
and invokes the Function through the gateway's Service IP.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from kubernetes import client
from tests.integration.eventsources.harness import (
    ElasticMq,
    free_port,
    queue_empty,
    run_elasticmq,
)
from tests.unit.api.esm_cases import ACCEPTED, REFUSED
from tests.unit.api.function_cases import Refusal

from e2e.cluster import Cluster
from e2e.conftest import _kubectl
from e2e.test_gateway import Gateway, ready
from kappa.api.event_source_mapping import EventSourceMapping

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "eventsourcemappings"
NODE_ADDRESS = os.environ.get("KAPPA_E2E_NODE_ADDRESS", "10.88.0.1")

# Prints each record it gets: the test reads the function pods' logs.
WORKER = """
def handler(event, context):
    for record in event["Records"]:
        print("got-record " + record["body"] + " from " + record["eventSource"])
    return {"batchItemFailures": []}
"""


@pytest.fixture(scope="module")
def esm_namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"esm-e2e-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    Cluster.wait(lambda: core.list_namespaced_service_account(name).items, "default SA", 60)
    yield name
    core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture(scope="module")
def mappings(api: client.ApiClient, kappa_crds: list[str]) -> client.CustomObjectsApi:
    assert f"customresourcedefinition.apiextensions.k8s.io/{PLURAL}.{GROUP}" in kappa_crds
    return client.CustomObjectsApi(api)


def _refusal(send: Callable[[], Any]) -> str:
    try:
        send()
    except client.ApiException as error:
        return str(json.loads(error.body)["message"])
    return ""


def _dry_run(objects: client.CustomObjectsApi, namespace: str, body: dict[str, Any]) -> Any:
    return objects.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        {**body, "metadata": {**body["metadata"], "namespace": namespace}},
        dry_run="All",
        field_validation="Strict",
    )


@pytest.mark.schema
@pytest.mark.parametrize("refusal", REFUSED)
def test_the_api_server_refuses_saying_what_to_fix(
    mappings: client.CustomObjectsApi, esm_namespace: str, refusal: Refusal
) -> None:
    message = Cluster.wait(
        lambda: _refusal(lambda: _dry_run(mappings, esm_namespace, refusal.manifest)),
        "a refusal (the CRD's schema may take a moment to apply)",
        30,
    )
    assert refusal.apiserver_expects in message


@pytest.mark.schema
@pytest.mark.parametrize("body", ACCEPTED)
def test_valid_mappings_are_accepted_and_defaulted_as_the_models_do(
    mappings: client.CustomObjectsApi, esm_namespace: str, body: dict[str, Any]
) -> None:
    stored = _dry_run(mappings, esm_namespace, body)
    assert (
        EventSourceMapping.model_validate(stored).spec
        == EventSourceMapping.model_validate(body).spec
    )


# ------------------------------------------------------------------ SQS feed


@pytest.fixture(scope="module")
def elasticmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ElasticMq]:
    log = tmp_path_factory.mktemp("elasticmq") / "elasticmq.log"
    yield from run_elasticmq(log, host=NODE_ADDRESS, port=free_port())


@pytest.fixture(scope="module")
def sqs(elasticmq: ElasticMq) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=elasticmq.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - ElasticMQ takes any
    )


def _function(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": {"inline": {"app.py": WORKER}},
        },
    }


@pytest.fixture(scope="module")
def worker(mappings: client.CustomObjectsApi, esm_namespace: str, gateway: Gateway) -> str:
    """The Function `worker` (it logs each record it gets), Ready: made once, for every
    test that maps to it, whichever of them runs first or alone."""
    mappings.create_namespaced_custom_object(
        "kappa.dev", "v1alpha1", esm_namespace, "functions", _function("worker")
    )
    Cluster.wait(lambda: ready(mappings, esm_namespace, "worker"), "Function worker Ready", 180)
    return "worker"


def mapping_manifest(name: str, function: str, **spec: Any) -> dict[str, Any]:
    """An EventSourceMapping named ``name`` feeding ``function``, the rest of its spec given."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "EventSourceMapping",
        "metadata": {"name": name},
        "spec": {"functionRef": {"name": function}, **spec},
    }


def _mapping(name: str, function: str, queue_url: str) -> dict[str, Any]:
    return mapping_manifest(name, function, sqs={"queueUrl": queue_url}, batchSize=5,
                            functionResponseTypes=["ReportBatchItemFailures"])  # fmt: skip


def _ready(mappings: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    body = mappings.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


def _logged_bodies(core: client.CoreV1Api, namespace: str, function: str) -> set[str]:
    bodies: set[str] = set()
    pods = core.list_namespaced_pod(namespace, label_selector=f"kappa.dev/function={function}")
    for pod in pods.items:
        try:
            # Raw: the client would otherwise try to decode the log as a Python literal.
            log = core.read_namespaced_pod_log(
                pod.metadata.name, namespace, container="function", _preload_content=False
            ).data.decode()
        except client.ApiException:
            continue
        bodies |= {line.split()[1] for line in log.splitlines() if line.startswith("got-record ")}
    return bodies


@pytest.fixture
def explain(cluster: Cluster, esm_namespace: str) -> Callable[[str], str]:
    """What the cluster shows of the mappings of the test namespace (for failure messages)."""
    kubectl = _kubectl(cluster)

    def run(*args: str) -> str:
        done = subprocess.run([*kubectl, *args], capture_output=True, text=True, check=False)
        return f"$ kubectl {' '.join(args)}\n{done.stdout}{done.stderr}"

    def describe(name: str) -> str:
        return "\n".join(
            [
                run("-n", esm_namespace, "get", "esm", name, "-o", "yaml"),
                run("-n", esm_namespace, "get", "deploy,pods", "-o", "wide"),
                run("-n", esm_namespace, "logs", f"deploy/esm-{name}", "--tail=40"),
                run("-n", esm_namespace, "logs", "-l", "kappa.dev/component=function", "--tail=40"),
                run("-n", "kappa-system", "logs", "deploy/kappa-operator", "--tail=60"),
            ]
        )

    return describe


def _wait(probe: Callable[[], Any], what: str, timeout: float, explain: Callable[[], str]) -> Any:
    try:
        return Cluster.wait(probe, what, timeout)
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{explain()}") from None


@pytest.mark.timeout(600)
def test_an_sqs_mapping_feeds_a_function_through_the_gateway(
    core: client.CoreV1Api,
    mappings: client.CustomObjectsApi,
    esm_namespace: str,
    gateway: Gateway,
    sqs: Any,
    elasticmq: ElasticMq,
    explain: Callable[[str], str],
    worker: str,
) -> None:
    url = sqs.create_queue(QueueName=f"orders-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    assert NODE_ADDRESS in url
    mappings.create_namespaced_custom_object(
        GROUP, VERSION, esm_namespace, PLURAL, _mapping("orders", worker, url)
    )
    bodies = {f"order-{i}" for i in range(12)}
    for body in sorted(bodies):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    _wait(
        lambda: _logged_bodies(core, esm_namespace, worker) >= bodies,
        "every message in the function's log",
        180,
        lambda: explain("orders"),
    )
    _wait(lambda: queue_empty(sqs, url), "the queue to be empty", 60, lambda: explain("orders"))
    ready_condition = _wait(
        lambda: (c := _ready(mappings, esm_namespace, "orders")).get("status") == "True" and c,
        "the mapping to be Ready",
        60,
        lambda: explain("orders"),
    )
    assert ready_condition["reason"] == "Polling"
    status = mappings.get_namespaced_custom_object(GROUP, VERSION, esm_namespace, PLURAL, "orders")[
        "status"
    ]
    assert status["state"] == "Enabled"
    assert status["source"]["connected"] is True


@pytest.mark.timeout(600)
def test_a_mapping_to_a_missing_function_says_so_and_recovers(
    core: client.CoreV1Api,
    mappings: client.CustomObjectsApi,
    esm_namespace: str,
    gateway: Gateway,
    sqs: Any,
    elasticmq: ElasticMq,
    explain: Callable[[str], str],
) -> None:
    url = sqs.create_queue(QueueName=f"late-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="waited-for-its-function")
    mappings.create_namespaced_custom_object(
        GROUP, VERSION, esm_namespace, PLURAL, _mapping("late", "late-worker", url)
    )
    condition = _wait(
        lambda: (
            (c := _ready(mappings, esm_namespace, "late")).get("reason") == "FunctionNotFound" and c
        ),
        "Ready=False FunctionNotFound",
        60,
        lambda: explain("late"),
    )
    assert condition["status"] == "False"
    assert "late-worker does not exist" in condition["message"]
    mappings.create_namespaced_custom_object(
        "kappa.dev", "v1alpha1", esm_namespace, "functions", _function("late-worker")
    )
    _wait(
        lambda: "waited-for-its-function" in _logged_bodies(core, esm_namespace, "late-worker"),
        "the waiting message to reach the function",
        240,
        lambda: explain("late"),
    )
    _wait(
        lambda: _ready(mappings, esm_namespace, "late").get("status") == "True",
        "the mapping to recover",
        60,
        lambda: explain("late"),
    )


@pytest.mark.timeout(300)
def test_an_unreachable_queue_shows_as_a_condition(
    mappings: client.CustomObjectsApi,
    esm_namespace: str,
    gateway: Gateway,
    explain: Callable[[str], str],
    worker: str,
) -> None:
    closed = f"http://{NODE_ADDRESS}:{free_port()}/000000000000/nowhere"
    mappings.create_namespaced_custom_object(
        GROUP, VERSION, esm_namespace, PLURAL, _mapping("nowhere", worker, closed)
    )
    condition = _wait(
        lambda: (
            (c := _ready(mappings, esm_namespace, "nowhere")).get("reason") == "SourceUnreachable"
            and c
        ),
        "Ready=False SourceUnreachable",
        120,
        lambda: explain("nowhere"),
    )
    assert "cannot reach" in condition["message"]


def test_a_deployment_of_the_pollers_name_that_is_not_the_mappings_is_left_alone(
    api: client.ApiClient,
    mappings: client.CustomObjectsApi,
    esm_namespace: str,
    gateway: Gateway,
    explain: Callable[[str], str],
    worker: str,
) -> None:
    """A mapping named X never replaces or deletes someone else's Deployment `esm-X`."""
    apps = client.AppsV1Api(api)
    theirs = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="esm-taken", labels={"owner": "someone-else"}),
        spec=client.V1DeploymentSpec(
            replicas=0,
            selector=client.V1LabelSelector(match_labels={"app": "theirs"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "theirs"}),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="main", image="kappa.local/base:dev", command=["sleep", "3600"])]),
            ),
        ),
    )  # fmt: skip
    apps.create_namespaced_deployment(esm_namespace, theirs)
    closed = f"http://{NODE_ADDRESS}:{free_port()}/000000000000/taken"
    mappings.create_namespaced_custom_object(
        GROUP, VERSION, esm_namespace, PLURAL, _mapping("taken", worker, closed)
    )
    body = _wait(
        lambda: next(
            (b for b in [mappings.get_namespaced_custom_object(
                GROUP, VERSION, esm_namespace, PLURAL, "taken")]
             if any(c["type"] == "PollerReady" and c.get("reason") == "DeploymentNotOwned"
                    for c in (b.get("status") or {}).get("conditions") or ())),
            None,
        ),
        "PollerReady=False DeploymentNotOwned",
        60,
        lambda: explain("taken"),
    )  # fmt: skip
    assert body is not None
    still = apps.read_namespaced_deployment("esm-taken", esm_namespace)
    assert still.metadata.labels == {"owner": "someone-else"}
    assert still.spec.replicas == 0
    assert not still.metadata.owner_references


@pytest.mark.timeout(300)
def test_a_missing_service_account_is_named_and_no_poller_is_made_until_it_exists(
    core: client.CoreV1Api,
    mappings: client.CustomObjectsApi,
    esm_namespace: str,
    gateway: Gateway,
    explain: Callable[[str], str],
    worker: str,
) -> None:
    account = f"ticker-{uuid.uuid4().hex[:6]}"
    mappings.create_namespaced_custom_object(
        GROUP, VERSION, esm_namespace, PLURAL,
        mapping_manifest("ticker", worker, schedule={"cron": "*/5 * * * *"},
                         serviceAccountName=account),
    )  # fmt: skip
    condition = _wait(
        lambda: (
            (c := _ready(mappings, esm_namespace, "ticker")).get("reason")
            == "ServiceAccountNotFound"
            and c
        ),
        "Ready=False ServiceAccountNotFound",
        60,
        lambda: explain("ticker"),
    )
    assert condition["status"] == "False"
    assert (
        f"ServiceAccount {account} (spec.serviceAccountName) does not exist"
        in (condition["message"])
    )
    assert f"kubectl create serviceaccount {account} -n {esm_namespace}" in condition["message"]

    def warned() -> bool:
        events = core.list_namespaced_event(
            esm_namespace, field_selector="involvedObject.name=ticker"
        ).items
        return any(e.reason == "ServiceAccountNotFound" and account in e.message for e in events)

    _wait(warned, "a ServiceAccountNotFound Event", 30, lambda: explain("ticker"))
    deployments = client.AppsV1Api(core.api_client).list_namespaced_deployment(esm_namespace)
    assert "esm-ticker" not in {d.metadata.name for d in deployments.items}

    # Created and bound as the message says: the poller is made and runs as that account.
    core.create_namespaced_service_account(
        esm_namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=account))
    )
    client.RbacAuthorizationV1Api(core.api_client).create_namespaced_role_binding(
        esm_namespace,
        {
            "metadata": {"name": f"{account}-kappa-poller"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": "kappa-poller"},
            "subjects": [{"kind": "ServiceAccount", "name": account,
                          "namespace": esm_namespace}],
        },
    )  # fmt: skip

    def poller_account() -> str | None:
        try:
            found = client.AppsV1Api(core.api_client).read_namespaced_deployment(
                "esm-ticker", esm_namespace
            )
        except client.ApiException:
            return None
        return str(found.spec.template.spec.service_account_name)

    assert _wait(poller_account, "the poller Deployment", 60, lambda: explain("ticker")) == account
    _wait(
        lambda: _ready(mappings, esm_namespace, "ticker").get("reason") != "ServiceAccountNotFound",
        "the condition to clear",
        60,
        lambda: explain("ticker"),
    )
