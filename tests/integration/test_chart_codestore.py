"""The chart's code store as ``helm template`` renders it: on by default over a claim of
the default StorageClass, reached by its Service's ClusterIP, writable by the gateways
only, with least privileges; and off on request."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chart_render import by_kind_and_name, helm_template

pytestmark = pytest.mark.integration

Objects = dict[tuple[str, str], dict[str, Any]]


def env_of(objects: Objects, deployment: str) -> dict[str, Any]:
    (container,) = objects["Deployment", deployment]["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_on_by_default_over_a_claim_and_named_to_the_gateways() -> None:
    objects = by_kind_and_name()
    deployment = objects["Deployment", "kappa-codestore"]["spec"]
    assert deployment["replicas"] == 1
    assert deployment["strategy"] == {"type": "Recreate"}  # one pod at a time on the volume
    pod = deployment["template"]["spec"]
    assert pod["volumes"] == [{"name": "packages",
                               "persistentVolumeClaim": {"claimName": "kappa-codestore"}}]  # fmt: skip
    claim = objects["PersistentVolumeClaim", "kappa-codestore"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert "storageClassName" not in claim["spec"]  # the default StorageClass
    env = env_of(objects, "kappa-codestore")
    assert env["KAPPA_CODESTORE_URL"] == "http://$(KAPPA_CODESTORE_SERVICE_HOST):8080"
    assert env["KAPPA_CODESTORE_UPLOADERS"] == "system:serviceaccount:kappa-system:kappa-gateway"
    assert env["KAPPA_CODESTORE_AUTH"] == "kubernetes"
    assert env["KAPPA_CODESTORE_MAX_BYTES"] == "52428800"
    gateway = env_of(objects, "kappa-gateway")
    assert gateway["KAPPA_GATEWAY_CODE_STORE_URL"] == "http://$(KAPPA_CODESTORE_SERVICE_HOST):8080"
    service = objects["Service", "kappa-codestore"]["spec"]
    assert service["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]


def test_it_may_only_list_functions_and_versions_and_review_tokens() -> None:
    rules = by_kind_and_name()["ClusterRole", "kappa-codestore"]["rules"]
    assert rules == [
        {"apiGroups": ["kappa.dev"], "resources": ["functions", "functionversions"],
         "verbs": ["list"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"],
         "verbs": ["create"]},
    ]  # fmt: skip


def test_its_network_policy_admits_gateways_function_and_pool_pods_only() -> None:
    policy = by_kind_and_name()["NetworkPolicy", "kappa-codestore"]["spec"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "kappa",
                                            "app.kubernetes.io/component": "gateway"}}} in rule["from"]  # fmt: skip
    pods = {
        "matchExpressions": [
            {"key": "kappa.dev/component", "operator": "In", "values": ["function", "pool"]}
        ]
    }
    assert {"namespaceSelector": {}, "podSelector": pods} in rule["from"]  # fmt: skip


def test_off_renders_no_store_and_the_gateway_names_none() -> None:
    objects = by_kind_and_name("codestore.enabled=false")
    assert not [key for key in objects if key[1] == "kappa-codestore"]
    assert "KAPPA_GATEWAY_CODE_STORE_URL" not in env_of(objects, "kappa-gateway")


def test_settings_pinned_and_without_a_claim() -> None:
    claim = by_kind_and_name("codestore.persistence.storageClass=fast")[
        "PersistentVolumeClaim", "kappa-codestore"
    ]
    assert claim["spec"]["storageClassName"] == "fast"
    objects = by_kind_and_name(
        "codestore.persistence.enabled=false", "codestore.service.clusterIP=10.96.0.77"
    )
    assert ("PersistentVolumeClaim", "kappa-codestore") not in objects
    pod = objects["Deployment", "kappa-codestore"]["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "packages", "emptyDir": {}}]
    assert objects["Service", "kappa-codestore"]["spec"]["clusterIP"] == "10.96.0.77"


@pytest.mark.parametrize(
    "setting",
    [
        "codestore.maxPackageBytes=52428801",  # past Lambda's 50 MB
        "codestore.url=ftp://x",
        "codestore.persistence.size=lots",
        "codestore.unknown=1",
        "codestore.s3.bucket=Not_A_Bucket",
        "codestore.s3.endpoint=minio:9000",
    ],
)
def test_the_schema_refuses(setting: str) -> None:
    result = helm_template(setting)
    assert result.returncode != 0
    assert "codestore" in result.stderr


def test_a_service_monitor_scrapes_it_when_asked() -> None:
    assert ("ServiceMonitor", "kappa-codestore") not in by_kind_and_name()
    monitor = by_kind_and_name("serviceMonitor.enabled=true")["ServiceMonitor", "kappa-codestore"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "codestore"


def test_with_a_bucket_no_claim_and_the_bucket_settings_and_secret() -> None:
    objects = by_kind_and_name(
        "codestore.s3.bucket=kappa-packages", "codestore.s3.endpoint=http://minio:9000",
        "codestore.s3.credentialsSecret=s3-keys", "codestore.s3.prefix=prod",
    )  # fmt: skip
    assert ("PersistentVolumeClaim", "kappa-codestore") not in objects
    pod = objects["Deployment", "kappa-codestore"]["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "packages", "emptyDir": {}}]
    env = env_of(objects, "kappa-codestore")
    assert env["KAPPA_CODESTORE_S3_BUCKET"] == "kappa-packages"
    assert env["KAPPA_CODESTORE_S3_ENDPOINT"] == "http://minio:9000"
    assert env["KAPPA_CODESTORE_S3_PREFIX"] == "prod"
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "s3-keys", "key": "access-key-id"}}
    assert "KAPPA_CODESTORE_S3_BUCKET" not in env_of(by_kind_and_name(), "kappa-codestore")
