from typing import Any

import pytest

from kappa.api.event_source_mapping import EventSourceMapping
from kappa.resources.poller_deployment import (
    TEMPLATE_HASH_ANNOTATION,
    PollerParams,
    poller_deployment,
    poller_rbac,
)
from tests.unit.api.esm_cases import QUEUE, kafka, manifest, schedule

PARAMS = PollerParams(
    image="kappa.local/kappa:dev",
    pull_policy="IfNotPresent",
    gateway_url="http://10.96.0.20:80",
    region="us-east-1",
)


def _mapping(body: dict[str, Any]) -> EventSourceMapping:
    body["metadata"].update(namespace="shop", uid="u-1")
    return EventSourceMapping.model_validate(body)


def _env(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_deployment_is_named_owned_and_runs_the_poller() -> None:
    deployment = poller_deployment(_mapping(manifest()), PARAMS)
    meta = deployment["metadata"]
    assert (meta["name"], meta["namespace"]) == ("esm-orders", "shop")
    owner = meta["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("EventSourceMapping", "orders", "u-1")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["poller"]
    assert container["image"] == "kappa.local/kappa:dev"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "kappa-poller"
    env = _env(deployment)
    assert env["KAPPA_GATEWAY_URL"] == "http://10.96.0.20:80"
    assert '"queueUrl": "' + QUEUE + '"' in env["KAPPA_ESM_MAPPING"]


def test_the_pods_run_as_the_service_account_the_mapping_names() -> None:
    default = poller_deployment(_mapping(manifest()), PARAMS)
    named = poller_deployment(_mapping(manifest(serviceAccountName="sqs-reader")), PARAMS)
    assert named["spec"]["template"]["spec"]["serviceAccountName"] == "sqs-reader"
    # The pods roll when it changes: the token their cloud identity comes from is another.
    assert (
        named["metadata"]["annotations"][TEMPLATE_HASH_ANNOTATION]
        != default["metadata"]["annotations"][TEMPLATE_HASH_ANNOTATION]
    )
    # The gateway token is still projected: the poller invokes as that account.
    env = _env(named)
    assert env["KAPPA_TOKEN_FILE"].endswith("/token")
    assert '"serviceAccountName": "sqs-reader"' in env["KAPPA_ESM_MAPPING"]


def test_credentials_come_from_the_secrets_the_spec_names() -> None:
    body = manifest(
        sqs={
            "queueUrl": QUEUE,
            "accessKeyId": {"secretKeyRef": {"name": "aws", "key": "id"}},
            "secretAccessKey": {"secretKeyRef": {"name": "aws", "key": "secret"}},
        }
    )
    env = _env(poller_deployment(_mapping(body), PARAMS))
    assert env["KAPPA_ESM_SECRET_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "aws", "key": "id"}}
    assert env["KAPPA_ESM_SECRET_SECRET_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "aws", "key": "secret"}
    }


def test_nested_credentials_are_found() -> None:
    body = kafka()
    body["spec"]["kafka"]["sasl"] = {
        "mechanism": "PLAIN",
        "username": {"secretKeyRef": {"name": "k", "key": "u"}},
        "password": {"secretKeyRef": {"name": "k", "key": "p"}},
    }
    env = _env(poller_deployment(_mapping(body), PARAMS))
    assert {"KAPPA_ESM_SECRET_USERNAME", "KAPPA_ESM_SECRET_PASSWORD"} <= env.keys()


@pytest.mark.parametrize(
    ("body", "replicas", "strategy"),
    [
        pytest.param(manifest(parallelizationFactor=5), 1, "RollingUpdate", id="queue-one-pod"),
        pytest.param(kafka(parallelizationFactor=3), 3, "RollingUpdate", id="stream-consumers"),
        pytest.param(schedule(), 1, "Recreate", id="schedule-never-twice"),
        pytest.param(manifest(enabled=False), 0, "RollingUpdate", id="disabled"),
    ],
)
def test_replicas_and_strategy(body: dict[str, Any], replicas: int, strategy: str) -> None:
    spec = poller_deployment(_mapping(body), PARAMS)["spec"]
    assert spec["replicas"] == replicas
    assert spec["strategy"]["type"] == strategy


def test_a_spec_change_changes_the_template_hash() -> None:
    first = poller_deployment(_mapping(manifest()), PARAMS)
    again = poller_deployment(_mapping(manifest()), PARAMS)
    changed = poller_deployment(_mapping(manifest(batchSize=5)), PARAMS)
    hashes = [
        d["metadata"]["annotations"][TEMPLATE_HASH_ANNOTATION] for d in (first, again, changed)
    ]
    assert hashes[0] == hashes[1] != hashes[2]


def test_pollers_may_read_mappings_write_their_status_and_invoke_their_namespace_only() -> None:
    account, role, binding = poller_rbac("shop")
    assert account["kind"] == "ServiceAccount"
    assert role["metadata"]["namespace"] == "shop"  # a Role: this namespace's Functions only
    rules = {(tuple(r["resources"]), tuple(r["verbs"])) for r in role["rules"]}
    assert rules == {
        (("eventsourcemappings",), ("get",)),
        (("eventsourcemappings/status",), ("get", "patch")),
        (("functions",), ("get", "invoke")),
    }
    assert binding["subjects"][0] == {
        "kind": "ServiceAccount",
        "name": "kappa-poller",
        "namespace": "shop",
    }


def test_pollers_present_a_projected_token_for_audience_kappa() -> None:
    pod = poller_deployment(_mapping(manifest()), PARAMS)["spec"]["template"]["spec"]
    [volume] = pod["volumes"]
    [source] = volume["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "kappa"
    [container] = pod["containers"]
    [mount] = container["volumeMounts"]
    assert mount["name"] == volume["name"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (
        env["KAPPA_TOKEN_FILE"] == f"{mount['mountPath']}/{source['serviceAccountToken']['path']}"
    )
