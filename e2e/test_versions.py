"""Published versions and aliases on the cluster, driven as a Lambda team would: `kappa
publish` freezes a Function (its code in a ConfigMap, copied), boto3 invokes a version by
its number, an alias by name or by qualified ARN, the HTTP trigger on an alias; an alias
splits calls between two versions by its weights, and its weights shift under continuous
calls without a failed call.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import REPO, own_namespace
from e2e.gateway import Gateway

GROUP, VERSION = "kappa.dev", "v1alpha1"
AWS = Path(sys.executable).with_name("aws")

HANDLER = """
import os

CODE = {code!r}

def handler(event, context):
    return {{"code": CODE, "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
            "arn": context.invoked_function_arn}}
"""


def code_map(content: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="canary-code"),
        data={"app.py": HANDLER.format(code=content)},
    )


def publish(cluster: Cluster, namespace: str, name: str) -> int:
    """`kappa publish NAME`: the version's number it prints."""
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "PYTHONPATH": str(REPO / "operator"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "kappa", "publish", name, "--namespace", namespace],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def call(gateway: Gateway, lam: Any, function_name: str, qualifier: str | None = None) -> Any:
    args = {"FunctionName": function_name, "Payload": b"{}"}
    if qualifier is not None:
        args["Qualifier"] = qualifier
    response = lam.invoke(**args)
    assert response["StatusCode"] == 200, gateway.logs()
    assert "FunctionError" not in response
    return json.loads(response["Payload"].read())


def answers(gateway: Gateway, function_name: str, qualifier: str, code: str) -> bool:
    """Whether a call to ``qualifier`` answers from ``code`` (the gateway has seen it)."""
    lam = gateway.lambda_client()
    try:
        return bool(call(gateway, lam, function_name, qualifier)["code"] == code)
    except lam.exceptions.ResourceNotFoundException:
        return False


@pytest.fixture(scope="module")
def canary(
    cluster: Cluster, core: client.CoreV1Api, api: client.ApiClient, gateway: Gateway
) -> Iterator[tuple[str, dict[int, str]]]:
    """Function `canary` (code in a ConfigMap) with version 1 ("one") and 2 ("two") and
    $LATEST at "two": (namespace, {version: code})."""
    custom = client.CustomObjectsApi(api)
    with own_namespace(core, "e2e-ver") as namespace:
        Cluster.wait(lambda: core.list_namespaced_service_account(namespace).items, "SA", 60)
        core.create_namespaced_config_map(namespace, code_map("one"))
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "functions", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Function",
            "metadata": {"name": "canary"},
            "spec": {"runtime": "python3.11", "handler": "app.handler",
                     "code": {"configMap": {"name": "canary-code"}}},
        })  # fmt: skip
        name = f"{namespace}/canary"
        Cluster.wait(lambda: answers(gateway, name, "$LATEST", "one"), "canary answers", 240)
        assert publish(cluster, namespace, "canary") == 1
        core.replace_namespaced_config_map("canary-code", namespace, code_map("two"))
        Cluster.wait(lambda: answers(gateway, name, "$LATEST", "two"), "canary rolls", 240)
        assert publish(cluster, namespace, "canary") == 2
        assert publish(cluster, namespace, "canary") == 2  # unchanged: no new version
        yield namespace, {1: "one", 2: "two"}


def test_each_version_runs_its_own_snapshot(
    cluster: Cluster,
    core: client.CoreV1Api,
    api: client.ApiClient,
    gateway: Gateway,
    canary: tuple[str, dict[int, str]],
) -> None:
    namespace, codes = canary
    name = f"{namespace}/canary"
    for number, code in codes.items():

        def answered(n: int = number, c: str = code) -> bool:
            return answers(gateway, name, str(n), c)

        Cluster.wait(answered, f"version {number} answers", 240)
    lam = gateway.lambda_client()
    arn = f"arn:aws:lambda:us-east-1:{namespace}:function:canary"
    assert call(gateway, lam, name, "1") == {"code": "one", "version": "1", "arn": f"{arn}:1"}
    assert call(gateway, lam, f"{arn}:2")["version"] == "2"
    assert call(gateway, lam, name)["version"] == "$LATEST"
    # The Function moves on; its versions do not (their code was copied when published).
    core.replace_namespaced_config_map("canary-code", namespace, code_map("three"))
    Cluster.wait(lambda: answers(gateway, name, "$LATEST", "three"), "canary rolls", 240)
    assert call(gateway, lam, name, "1")["code"] == "one"
    assert call(gateway, lam, name, "2")["code"] == "two"
    core.replace_namespaced_config_map("canary-code", namespace, code_map("two"))
    versions = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "functionversions"
    )["items"]
    assert sorted(v["spec"]["version"] for v in versions) == [1, 2]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=name, Qualifier="7", Payload=b"{}")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=name, Qualifier="nosuchalias", Payload=b"{}")


def alias(namespace: str, version: str, weights: dict[str, float] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"function": "canary", "functionVersion": version}
    if weights is not None:
        spec["routingConfig"] = {"additionalVersionWeights": weights}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "FunctionAlias",
            "metadata": {"name": "canary.live", "namespace": namespace}, "spec": spec}  # fmt: skip


def set_alias(api: client.ApiClient, namespace: str, version: str,
              weights: dict[str, float] | None) -> None:  # fmt: skip
    custom = client.CustomObjectsApi(api)
    body = alias(namespace, version, weights)
    try:
        current = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "functionaliases", "canary.live"
        )
    except client.ApiException as exc:
        if exc.status != 404:  # not found: made below
            raise
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "functionaliases", body)
        return
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, "functionaliases", "canary.live", body
    )


def test_an_alias_splits_calls_by_weight_and_is_invoked_by_qualified_arn(
    api: client.ApiClient, gateway: Gateway, canary: tuple[str, dict[int, str]]
) -> None:
    namespace, _ = canary
    name = f"{namespace}/canary"
    set_alias(api, namespace, "1", {"2": 0.1})
    lam = gateway.lambda_client()
    Cluster.wait(lambda: answers(gateway, name, "live", "one") or answers(gateway, name, "live", "two"),
                 "the alias answers", 60)  # fmt: skip
    calls = 1000
    seen = Counter(call(gateway, lam, name, "live")["version"] for _ in range(calls))
    # Binomial(1000, 0.1): mean 100, standard deviation 9.5; five of them either side.
    spread = 5 * math.sqrt(calls * 0.1 * 0.9)
    assert set(seen) <= {"1", "2"}
    assert abs(seen["2"] - 100) <= spread, seen
    arn = f"arn:aws:lambda:us-east-1:{namespace}:function:canary:live"
    response = lam.invoke(FunctionName=arn, Payload=b"{}")
    ran = json.loads(response["Payload"].read())["version"]
    assert ran in {"1", "2"}
    assert response["ExecutedVersion"] == ran  # the version the alias picked
    # Promote: the alias at version 2 alone.
    set_alias(api, namespace, "2", None)
    Cluster.wait(lambda: all(call(gateway, lam, arn)["version"] == "2" for _ in range(20)),
                 "the alias promoted to 2", 60)  # fmt: skip
    # The HTTP trigger on the alias.
    request = urllib.request.Request(f"{gateway.url}/fn/{namespace}/canary:live/")
    with gateway.open(request, timeout=60) as answer:
        assert json.loads(answer.read())["version"] == "2"


def started_on(core: client.CoreV1Api, namespace: str, version: str, request_id: str) -> bool:
    """Whether a pod of version ``version`` of canary logged the START line of the call."""
    line = f"START RequestId: {request_id} Version: {version}"
    selector = f"kappa.dev/function=canary,kappa.dev/version={version}"
    for pod in core.list_namespaced_pod(namespace, label_selector=selector).items:
        try:
            log = core.read_namespaced_pod_log(
                pod.metadata.name, namespace, container="function", _preload_content=False
            ).data.decode()
        except client.ApiException:
            continue
        if line in log:
            return True
    return False


def test_an_event_to_a_version_runs_on_that_versions_pods(
    core: client.CoreV1Api, gateway: Gateway, canary: tuple[str, dict[int, str]]
) -> None:
    """An asynchronous call of version 1 is queued for version 1 and runs there, not as
    $LATEST (which runs version 2's code)."""
    namespace, _ = canary
    lam = gateway.lambda_client()
    response = lam.invoke(FunctionName=f"{namespace}/canary", Qualifier="1",
                          InvocationType="Event", Payload=b"{}")  # fmt: skip
    assert response["StatusCode"] == 202
    request_id = response["ResponseMetadata"]["RequestId"]
    Cluster.wait(lambda: started_on(core, namespace, "1", request_id),
                 "the event started on a pod of version 1", 240)  # fmt: skip


def alias_ready(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    """The alias's Ready condition ({} while it has none)."""
    found = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functionaliases", name)
    conditions = (found.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


def test_an_aliass_status_says_whether_the_versions_it_names_exist(
    api: client.ApiClient, core: client.CoreV1Api, canary: tuple[str, dict[int, str]]
) -> None:
    """An alias at a version not published yet is Ready False (VersionNotFound, with a
    Warning Event); pointed at one that exists, it is Ready True."""
    namespace, _ = canary
    custom = client.CustomObjectsApi(api)
    body = alias(namespace, "7", None)
    body["metadata"]["name"] = "canary.later"
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "functionaliases", body)
    missing = Cluster.wait(lambda: (c := alias_ready(custom, namespace, "canary.later"))
                           .get("reason") == "VersionNotFound" and c, "Ready False", 60)  # fmt: skip
    assert missing["status"] == "False"
    assert "version 7 of canary" in missing["message"]

    def warned() -> bool:
        events = core.list_namespaced_event(namespace,
                                            field_selector="involvedObject.name=canary.later")  # fmt: skip
        return any(e.reason == "VersionNotFound" and e.type == "Warning" for e in events.items)

    Cluster.wait(warned, "a Warning Event VersionNotFound on the alias", 60)
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "functionaliases",
                                          "canary.later", {"spec": {"functionVersion": "2"}})  # fmt: skip
    found = Cluster.wait(lambda: (c := alias_ready(custom, namespace, "canary.later"))
                         .get("status") == "True" and c, "Ready True", 60)  # fmt: skip
    assert (found["reason"], found["message"]) == ("Routing", "calls go to 2 100%")
    # A version that appears or goes changes the status of the aliases naming it.
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "functionaliases",
                                          "canary.later", {"spec": {"functionVersion": "3"}})  # fmt: skip
    Cluster.wait(lambda: alias_ready(custom, namespace, "canary.later").get("reason")
                 == "VersionNotFound", "Ready False at 3", 60)  # fmt: skip
    second = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functionversions",
                                                 "canary.2")  # fmt: skip
    third = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "FunctionVersion",
             "metadata": {"name": "canary.3", "namespace": namespace},
             "spec": {**second["spec"], "version": 3}}  # fmt: skip
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "functionversions", third)
    Cluster.wait(lambda: alias_ready(custom, namespace, "canary.later").get("status") == "True",
                 "Ready True once version 3 exists", 60)  # fmt: skip
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "functionversions",
                                           "canary.3")  # fmt: skip
    Cluster.wait(lambda: alias_ready(custom, namespace, "canary.later").get("reason")
                 == "VersionNotFound", "Ready False once version 3 is gone", 60)  # fmt: skip
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "functionaliases",
                                           "canary.later")  # fmt: skip


def test_shifting_an_aliass_weights_under_continuous_calls_fails_no_call(
    api: client.ApiClient, gateway: Gateway, canary: tuple[str, dict[int, str]]
) -> None:
    namespace, _ = canary
    name = f"{namespace}/canary"
    set_alias(api, namespace, "1", None)
    lam = gateway.lambda_client()
    Cluster.wait(lambda: call(gateway, lam, name, "live")["version"] == "1", "alias at 1", 60)
    stop = threading.Event()
    seen: Counter[str] = Counter()
    failures: list[str] = []

    def keep_calling() -> None:
        caller = gateway.lambda_client()
        while not stop.is_set():
            try:
                seen[call(gateway, caller, name, "live")["version"]] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is the test's finding
                failures.append(repr(exc))

    callers = [threading.Thread(target=keep_calling) for _ in range(4)]
    for thread in callers:
        thread.start()
    try:
        for weights in ({"2": 0.25}, {"2": 0.5}, {"2": 0.75}, {"2": 1.0}):
            set_alias(api, namespace, "1", weights)
            time.sleep(3)
        set_alias(api, namespace, "2", None)
        time.sleep(3)
        set_alias(api, namespace, "1", None)
        time.sleep(3)
    finally:
        stop.set()
        for thread in callers:
            thread.join(timeout=120)
    assert not failures, failures[:5]
    assert seen["1"] > 0
    assert seen["2"] > 0


def test_a_versions_provisioned_concurrency_and_its_deletion_with_the_function(
    api: client.ApiClient, core: client.CoreV1Api, canary: tuple[str, dict[int, str]]
) -> None:
    namespace, _ = canary
    custom = client.CustomObjectsApi(api)
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "functionversions", "canary.1",
        {"spec": {"provisionedConcurrency": 1}},
    )  # fmt: skip

    def provisioned() -> bool:
        status = (
            custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, "functionversions", "canary.1"
            ).get("status")
            or {}
        )
        scaled = [c for c in status.get("conditions") or [] if c["type"] == "Scaled"]
        return (
            status.get("readyReplicas", 0) >= 1
            and bool(scaled)
            and scaled[0]["reason"] == "ProvisionedFloor"
        )

    # Kept warm by its own floor, whatever calls it gets.
    Cluster.wait(provisioned, "version 1 held at its provisioned floor", 180)
    # A version never changes once published.
    with pytest.raises(client.ApiException) as refused:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "functionversions", "canary.1",
            {"spec": {"snapshot": {"memoryMB": 256}}},
        )  # fmt: skip
    assert refused.value.status == 422
    assert "never changes" in refused.value.body
    with pytest.raises(client.ApiException) as refused:  # nor may it gain a field
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "functionversions", "canary.1",
            {"spec": {"description": "added later"}},
        )  # fmt: skip
    assert "never changes" in refused.value.body
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "canary")

    def versions_gone() -> bool:
        left = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "functionversions")[
            "items"
        ]
        pods = core.list_namespaced_pod(namespace, label_selector="kappa.dev/function=canary")
        return not left and not pods.items

    Cluster.wait(versions_gone, "the versions and their pods gone", 180)


API_HANDLER = """
import os

def handler(event, context):
    return {"code": %r, "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
"""


def grant(api: client.ApiClient, namespace: str, role: str) -> None:
    """Bind the e2e caller to the ClusterRole ``role`` in ``namespace``."""
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(namespace, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": f"e2e-{role}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "kappa-e2e",
                      "namespace": "kappa-system"}],
    })  # fmt: skip


@pytest.fixture(scope="module")
def releaser(
    api: client.ApiClient, core: client.CoreV1Api, gateway: Gateway
) -> Iterator[tuple[str, str]]:
    """Function `rel` ("one") whose namespace grants the e2e caller kappa-releaser, after
    checking that the Lambda API refused that caller without it: (namespace, FunctionName)."""
    custom = client.CustomObjectsApi(api)
    with own_namespace(core, "e2e-rel") as namespace:
        Cluster.wait(lambda: core.list_namespaced_service_account(namespace).items, "SA", 60)
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "functions", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Function", "metadata": {"name": "rel"},
            "spec": {"runtime": "python3.11", "handler": "app.handler",
                     "code": {"inline": {"app.py": API_HANDLER % "one"}}},
        })  # fmt: skip
        name = f"{namespace}/rel"
        Cluster.wait(lambda: answers(gateway, name, "$LATEST", "one"), "rel answers", 240)
        lam = gateway.lambda_client()
        with pytest.raises(lam.exceptions.ClientError) as refused:
            lam.publish_version(FunctionName=name)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "kappa-releaser" in refused.value.response["Error"]["Message"]
        grant(api, namespace, "kappa-releaser")
        yield namespace, name


def test_publish_version_through_the_lambda_api(
    api: client.ApiClient, gateway: Gateway, releaser: tuple[str, str]
) -> None:
    namespace, name = releaser
    custom = client.CustomObjectsApi(api)
    lam = gateway.lambda_client()

    def published() -> dict[str, Any] | None:
        try:
            return dict(lam.publish_version(FunctionName=name, Description="first"))
        except lam.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] == "AccessDeniedException":
                return None  # the gateway's cached refusal, for a few seconds
            raise

    first = Cluster.wait(published, "PublishVersion allowed", 60)
    assert first is not None
    assert first["Version"] == "1"
    assert first["FunctionArn"].endswith(":function:rel:1")
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "rel",
        {"spec": {"code": {"inline": {"app.py": API_HANDLER % "two"}}}})  # fmt: skip
    Cluster.wait(lambda: answers(gateway, name, "$LATEST", "two"), "rel rolls", 240)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    assert lam.publish_version(FunctionName=name)["Version"] == "2"  # unchanged
    listed = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in listed] == ["$LATEST", "1", "2"]
    assert lam.get_function_configuration(FunctionName=name, Qualifier="1")["Version"] == "1"


def test_aliases_through_the_lambda_api(
    api: client.ApiClient, gateway: Gateway, releaser: tuple[str, str]
) -> None:
    namespace, name = releaser
    custom = client.CustomObjectsApi(api)
    lam = gateway.lambda_client()
    created = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                               RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})  # fmt: skip
    assert created["AliasArn"].endswith(":function:rel:live")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.create_alias(FunctionName=name, Name="beta", FunctionVersion="9")
    with pytest.raises(lam.exceptions.ClientError) as bad:
        lam.create_alias(FunctionName=name, Name="Not_A_Kube_Name", FunctionVersion="1")
    assert bad.value.response["Error"]["Code"] == "InvalidParameterValueException"
    held = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functionaliases",
                                               "rel.live")  # fmt: skip
    assert held["spec"]["functionVersion"] == "1"
    assert held["spec"]["routingConfig"]["additionalVersionWeights"] == {"2": 0.1}
    got = lam.get_alias(FunctionName=name, Name="live")
    assert got["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["live"]
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2",
                     RoutingConfig={"AdditionalVersionWeights": {}})  # fmt: skip
    arn = f"arn:aws:lambda:us-east-1:{namespace}:function:rel:live"
    Cluster.wait(lambda: all(call(gateway, lam, arn)["version"] == "2" for _ in range(10)),
                 "the alias promoted through UpdateAlias", 60)  # fmt: skip


def test_concurrency_through_the_lambda_api(
    api: client.ApiClient, gateway: Gateway, releaser: tuple[str, str]
) -> None:
    namespace, name = releaser
    custom = client.CustomObjectsApi(api)
    lam = gateway.lambda_client()
    answer = lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert answer["ReservedConcurrentExecutions"] == 5
    spec = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "rel")
    assert spec["spec"]["concurrency"]["reserved"] == 5
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    lam.delete_function_concurrency(FunctionName=name)
    spec = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "rel")
    assert "reserved" not in (spec["spec"].get("concurrency") or {})

    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live",
                                           ProvisionedConcurrentExecutions=1)  # fmt: skip
    version = custom.get_namespaced_custom_object(GROUP, VERSION, namespace,
                                                  "functionversions", "rel.2")  # fmt: skip
    assert version["spec"]["provisionedConcurrency"] == 1
    config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="2")
    assert config["RequestedProvisionedConcurrentExecutions"] == 1
    with pytest.raises(lam.exceptions.ClientError) as latest:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="$LATEST",
                                               ProvisionedConcurrentExecutions=1)  # fmt: skip
    assert latest.value.response["Error"]["Code"] == "InvalidParameterValueException"
    lam.delete_alias(FunctionName=name, Name="live")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_alias(FunctionName=name, Name="live")


def test_spec_publish_publishes_each_change_once_ready(
    api: client.ApiClient, gateway: Gateway, namespace: str
) -> None:
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "functions", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Function", "metadata": {"name": "auto"},
        "spec": {"runtime": "python3.11", "handler": "app.handler", "publish": True,
                 "code": {"inline": {"app.py": API_HANDLER % "one"}}},
    })  # fmt: skip

    def numbers() -> list[int]:
        items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "functionversions")[
            "items"
        ]
        return sorted(v["spec"]["version"] for v in items)

    Cluster.wait(lambda: numbers() == [1], "version 1 published by spec.publish", 240)
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "auto",
        {"spec": {"code": {"inline": {"app.py": API_HANDLER % "two"}}}})  # fmt: skip
    Cluster.wait(lambda: numbers() == [1, 2], "version 2 published by spec.publish", 240)
    name = f"{namespace}/auto"
    Cluster.wait(lambda: answers(gateway, name, "1", "one"), "version 1 answers", 240)
    Cluster.wait(lambda: answers(gateway, name, "2", "two"), "version 2 answers", 240)
    version = custom.get_namespaced_custom_object(GROUP, VERSION, namespace,
                                                  "functionversions", "auto.2")  # fmt: skip
    # A version never publishes versions of its own (the schema defaults the field to false).
    assert version["spec"]["snapshot"].get("publish", False) is False


def once_allowed(call: Any) -> Any:
    """``call()`` once RBAC allows it: a gateway replica caches a refusal for a few seconds
    (the fixture's own refusal of the same access, before its RoleBinding)."""

    def tried() -> Any:
        try:
            return call()
        except Exception as exc:  # only a refusal is tried again
            if "AccessDeniedException" in str(exc):
                return None
            raise

    return Cluster.wait(tried, "the call allowed", 60)


def zipped(code: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", API_HANDLER % code)
        # Filler that does not compress: a package of a realistic size (~600 KB).
        archive.writestr("data.bin", os.urandom(600 * 1024))
    return buffer.getvalue()


def test_create_update_and_delete_a_function_through_the_lambda_api(
    api: client.ApiClient, gateway: Gateway, releaser: tuple[str, str], tmp_path: Path
) -> None:
    """The AWS CLI creates a Function from a zip (as a Lambda team's script would), boto3
    updates its code and configuration and publishes, then deletes a version and the
    Function; refused until the caller holds kappa-author."""
    namespace, _ = releaser
    custom = client.CustomObjectsApi(api)
    lam = gateway.lambda_client()
    name = f"{namespace}/made"
    # Refused under another name: each gateway replica caches a refusal for a few seconds.
    with pytest.raises(lam.exceptions.ClientError) as refused:
        lam.create_function(FunctionName=f"{namespace}/refused", Role="arn:aws:iam::1:role/none",
                            Runtime="python3.11", Handler="app.handler",
                            Code={"ZipFile": zipped("one")})  # fmt: skip
    assert "kappa-author" in refused.value.response["Error"]["Message"]
    grant(api, namespace, "kappa-author")
    package = tmp_path / "made.zip"
    package.write_bytes(zipped("one"))
    env = {
        "PATH": str(AWS.parent), "HOME": str(tmp_path), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": gateway.identity.access_key_id,
        "AWS_SECRET_ACCESS_KEY": gateway.identity.secret_access_key,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }  # fmt: skip

    def created() -> dict[str, Any] | None:
        done = subprocess.run(
            [str(AWS), "lambda", "create-function", "--endpoint-url", gateway.url,
             "--function-name", name, "--runtime", "python3.11", "--handler", "app.handler",
             "--role", "arn:aws:iam::1:role/none", "--memory-size", "256",
             "--zip-file", f"fileb://{package}"],
            capture_output=True, text=True, env=env, check=False, timeout=120,
        )  # fmt: skip
        if "AccessDeniedException" in done.stderr:
            return None  # the gateway's cached refusal, for a few seconds
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    made = Cluster.wait(created, "CreateFunction allowed", 60)
    assert made is not None
    assert made["FunctionArn"].endswith(":function:made")
    assert made["MemorySize"] == 256
    held = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "made")
    assert held["spec"]["code"] == {"configMap": {"name": "made-package", "archive": "code.zip"}}
    Cluster.wait(lambda: answers(gateway, name, "$LATEST", "one"), "made answers", 240)
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_function(FunctionName=name, Role="r", Runtime="python3.11",
                            Handler="app.handler", Code={"ZipFile": zipped("one")})  # fmt: skip

    updated = once_allowed(
        lambda: lam.update_function_code(FunctionName=name, ZipFile=zipped("two"), Publish=True)
    )
    assert updated["Version"] == "1"
    Cluster.wait(lambda: answers(gateway, name, "$LATEST", "two"), "made rolls", 240)
    assert call(gateway, lam, name, "1")["code"] == "two"
    lam.update_function_configuration(FunctionName=name, Timeout=9,
                                      Environment={"Variables": {"STAGE": "prod"}})  # fmt: skip
    held = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "functions", "made")
    assert held["spec"]["timeoutSeconds"] == 9
    assert held["spec"]["env"] == [{"name": "STAGE", "value": "prod"}]
    with pytest.raises(lam.exceptions.ClientError) as bad:
        lam.update_function_configuration(FunctionName=name, Handler="no-dot-here")
    assert bad.value.response["Error"]["Code"] == "InvalidParameterValueException"

    lam.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_configuration(FunctionName=name, Qualifier="1")
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_configuration(FunctionName=name)
