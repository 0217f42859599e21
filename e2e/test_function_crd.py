"""The Function CRD on a real API server: bad manifests refused with a message that says what to fix.

The manifests are those of tests/unit/api/function_cases.py, the table the
pydantic models are tested against, so the CRD (CEL rules, bounds, enums)
and the models are held to the same refusals. Every manifest goes through
the two ways `kubectl apply` sends a new object: a create (client-side
apply, kubectl's default) and a server-side apply; both with kubectl's
strict field validation and as a server-side dry run, so nothing is stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from tests.unit.api.function_cases import ACCEPTED, REFUSED, Refusal, manifest

from e2e.cluster import Cluster
from kappa.api import crd
from kappa.api.function import Function

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "functions"
FIELD_MANAGER = "kappa-e2e"


@pytest.fixture(scope="module")
def crd_namespace(core: client.CoreV1Api) -> Iterator[str]:
    """One namespace for the module: dry runs store nothing, so the tests can share it."""
    name = f"e2e-crd-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture(scope="module")
def functions(
    api: client.ApiClient, kappa_crds: list[str], crd_namespace: str
) -> client.CustomObjectsApi:
    """The Function API, once the API server enforces the CRD as generated now."""
    assert f"customresourcedefinition.apiextensions.k8s.io/{PLURAL}.{GROUP}" in kappa_crds
    objects = client.CustomObjectsApi(api)
    # An updated CRD is Established at once, but its new schema reaches the request
    # handlers a moment later: wait until a rule of this generation answers.
    probe = manifest(name="f" * 64)
    expected = "metadata.name must be at most 63 characters"
    Cluster.wait(
        lambda: expected in _refusal(lambda: _create(objects, crd_namespace, probe)),
        "the Function CRD's rules to be enforced",
        30,
    )
    return objects


def _namespaced(body: dict[str, Any], namespace: str) -> dict[str, Any]:
    """``body`` in ``namespace``; its async destination subjects moved under the namespace
    (the operator's webhook takes only those: kappa.controller.subjects)."""
    spec = dict(body.get("spec") or {})
    destinations = dict(spec.get("async") or {})
    for which in ("onSuccess", "onFailure"):
        subject = (destinations.get(which) or {}).get("natsSubject")
        if isinstance(subject, str) and "." in subject:
            destinations[which] = {**destinations[which],
                                   "natsSubject": f"{namespace}.{subject.split('.', 1)[1]}"}  # fmt: skip
    if destinations:
        spec["async"] = destinations
    return {**body, "spec": spec, "metadata": {**body["metadata"], "namespace": namespace}}


def _create(objects: client.CustomObjectsApi, namespace: str, body: dict[str, Any]) -> Any:
    return objects.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        _namespaced(body, namespace),
        dry_run="All",
        field_validation="Strict",
    )


def _server_side_apply(
    objects: client.CustomObjectsApi, namespace: str, body: dict[str, Any]
) -> Any:
    # JSON is YAML: the body goes out as an apply patch. The client cannot decode the
    # answer of a call whose content type it was told, so the test reads it.
    response = objects.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        body["metadata"]["name"],
        _namespaced(body, namespace),
        dry_run="All",
        field_validation="Strict",
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
        _preload_content=False,
    )
    return json.loads(response.data)


def _refusal(send: Callable[[], Any]) -> str:
    """The API server's message refusing what `send` sends ('' when it is accepted)."""
    try:
        send()
    except client.ApiException as error:
        return str(json.loads(error.body)["message"])
    return ""


def test_every_refusal_of_the_table_is_tried() -> None:
    assert len(REFUSED) >= 20


@pytest.mark.schema
@pytest.mark.parametrize("refusal", REFUSED)
def test_create_is_refused_saying_what_to_fix(
    functions: client.CustomObjectsApi, crd_namespace: str, refusal: Refusal
) -> None:
    message = _refusal(lambda: _create(functions, crd_namespace, refusal.manifest))
    assert message, "accepted"
    assert refusal.apiserver_expects in message


@pytest.mark.schema
@pytest.mark.parametrize("refusal", REFUSED)
def test_server_side_apply_is_refused_saying_what_to_fix(
    functions: client.CustomObjectsApi, crd_namespace: str, refusal: Refusal
) -> None:
    message = _refusal(lambda: _server_side_apply(functions, crd_namespace, refusal.manifest))
    assert message, "accepted"
    assert refusal.server_side_apply_expects in message


@pytest.mark.schema
@pytest.mark.parametrize("body", ACCEPTED)
@pytest.mark.parametrize("how", ["create", "server-side-apply"])
def test_valid_manifest_is_accepted_and_defaulted_as_the_models_do(
    functions: client.CustomObjectsApi, crd_namespace: str, body: dict[str, Any], how: str
) -> None:
    send = _create if how == "create" else _server_side_apply
    stored = send(functions, crd_namespace, body)
    # What the API server stores (its defaults applied) is what the operator will parse.
    sent = _namespaced(body, crd_namespace)
    assert Function.model_validate(stored).spec == Function.model_validate(sent).spec
    assert stored["spec"]["memoryMB"] == body["spec"].get("memoryMB", 128)


def _get(api: client.ApiClient, path: str, accept: str = "application/json") -> Any:
    response = api.call_api(
        path,
        "GET",
        header_params={"Accept": accept},
        auth_settings=["BearerToken"],
        _preload_content=False,
        _return_http_data_only=True,
        _request_timeout=30,
    )
    return json.loads(response.data)


def test_published_schema_has_the_descriptions_kubectl_explain_shows(
    api: client.ApiClient, functions: client.CustomObjectsApi
) -> None:
    document = _get(api, f"/openapi/v3/apis/{GROUP}/{VERSION}")
    published = document["components"]["schemas"][f"dev.kappa.{VERSION}.Function"]
    spec = published["properties"]["spec"]["properties"]
    generated = crd.function_schema()["properties"]["spec"]["properties"]
    assert spec["concurrency"]["description"] == generated["concurrency"]["description"]
    assert spec["concurrency"]["properties"]["perPod"]["description"]
    assert spec["memoryMB"]["description"].startswith("Memory in MiB (128-10240)")


def test_kubectl_get_shows_the_printer_columns(
    api: client.ApiClient, functions: client.CustomObjectsApi, crd_namespace: str
) -> None:
    # A real object, so that there is a row: code in a ConfigMap that does not exist makes
    # no pods, should an operator be running.
    body = manifest(
        name="columns",
        code={"configMap": {"name": "absent"}},
        concurrency={"provisioned": 2, "reserved": 4},
    )
    functions.create_namespaced_custom_object(
        GROUP, VERSION, crd_namespace, PLURAL, _namespaced(body, crd_namespace)
    )
    try:
        table = _get(
            api,
            f"/apis/{GROUP}/{VERSION}/namespaces/{crd_namespace}/{PLURAL}/columns",
            accept="application/json;as=Table;v=v1;g=meta.k8s.io",
        )
    finally:
        functions.delete_namespaced_custom_object(GROUP, VERSION, crd_namespace, PLURAL, "columns")
    names = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Name", "Ready", "Runtime", "Replicas", "Provisioned", "Age"]
    (row,) = table["rows"]
    cells = dict(zip([c["name"] for c in table["columnDefinitions"]], row["cells"], strict=True))
    assert (cells["Name"], cells["Runtime"], cells["Provisioned"]) == ("columns", "python3.11", 2)
