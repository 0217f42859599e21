import base64
import hashlib
from typing import Any

import pytest

from kappa.api.function_version import as_function_body
from kappa.base.env import SettingsError
from kappa.controller.desired import desired_function, referenced_configmap
from kappa.resources.code_configmap import code_digest, code_sha256
from kappa.settings import Settings

SETTINGS = Settings()
HANDLER = "def handler(event, context):\n    return event\n"
SHA = "0123456789abcdef" * 4


def body(code: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "fn", "namespace": "team-a", "uid": "uid-1", "generation": 1},
        "spec": {"runtime": "python3.11", "handler": "app.handler", "code": code, **spec},
    }


def volumes(pod: dict[str, Any]) -> dict[str, Any]:
    return {v["name"]: v for v in pod["spec"]["volumes"]}


def test_inline_code_gets_its_configmap_mounted() -> None:
    desired = desired_function(body({"inline": {"app.py": HANDLER}}), SETTINGS)
    assert desired.code_problem is None
    assert not desired.hold
    assert desired.code_sha256 == code_sha256({"app.py": HANDLER})
    assert desired.code_configmap is not None
    assert desired.code_configmap_name == desired.code_configmap["metadata"]["name"]
    assert desired.code_configmap_name.startswith("fn-code-")
    assert desired.referenced_configmap is None
    assert desired.arn == "arn:aws:lambda:us-east-1:team-a:function:fn"
    assert (desired.replicas, desired.provisioned, desired.provisioned_pods) == (1, 0, 0)
    pod = desired.pod("fn-abc", attempt=0)
    assert volumes(pod)["code"]["configMap"]["name"] == desired.code_configmap_name
    assert pod["metadata"]["labels"]["kappa.dev/revision"] == desired.revision
    assert pod["spec"]["containers"][0]["image"] == "kappa.local/runtime-python3.11:dev"


def test_new_inline_code_is_a_new_revision() -> None:
    one = desired_function(body({"inline": {"app.py": HANDLER}}), SETTINGS)
    two = desired_function(body({"inline": {"app.py": HANDLER + "# 2\n"}}), SETTINGS)
    assert one.revision != two.revision
    assert one.code_configmap_name != two.code_configmap_name


def test_referenced_configmap_content_is_part_of_the_revision() -> None:
    manifest = body({"configMap": {"name": "my-code"}})
    assert referenced_configmap(manifest) == "my-code"
    one = desired_function(
        manifest, SETTINGS, referenced=code_digest({"data": {"app.py": HANDLER}})
    )
    two = desired_function(
        manifest, SETTINGS, referenced=code_digest({"data": {"app.py": HANDLER + "# 2\n"}})
    )
    assert one.code_problem is None
    assert one.referenced_configmap == "my-code"
    assert one.code_configmap is None
    assert one.code_sha256 == code_sha256({"app.py": HANDLER})
    assert one.revision != two.revision
    assert volumes(one.pod("p", attempt=0))["code"]["configMap"]["name"] == "my-code"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(None, "ConfigMapNotFound", id="missing"),
        pytest.param({}, "ConfigMapEmpty", id="empty"),
    ],
)
def test_unusable_referenced_configmap_holds_the_function(
    data: dict[str, str] | None, reason: str
) -> None:
    found = None if data is None else code_digest({"data": data})
    desired = desired_function(body({"configMap": {"name": "my-code"}}), SETTINGS, referenced=found)
    assert desired.code_problem is not None
    assert (desired.code_problem.status, desired.code_problem.reason) == ("False", reason)
    assert "my-code" in desired.code_problem.message
    assert desired.hold


def test_configmap_archive_is_unpacked_by_the_agent_and_checked() -> None:
    archive = b"PK\x05\x06" + bytes(18)  # an empty zip
    encoded = base64.b64encode(archive).decode()
    manifest = body({"configMap": {"name": "fn-package", "archive": "code.zip"}})
    desired = desired_function(
        manifest, SETTINGS, referenced=code_digest({"binaryData": {"code.zip": encoded}})
    )
    assert desired.code_problem is None
    assert desired.code_sha256 == hashlib.sha256(archive).hexdigest()
    pod = desired.pod("p", attempt=0)
    mounted = volumes(pod)["archive"]["configMap"]
    assert mounted == {"name": "fn-package", "items": [{"key": "code.zip", "path": "code.zip"}]}
    assert volumes(pod)["code"] == {"name": "code", "emptyDir": {"sizeLimit": "300Mi"}}
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["KAPPA_CODE_URL"] == "file:///var/kappa/archive/code.zip"
    assert env["KAPPA_CODE_SHA256"] == desired.code_sha256
    newer = {"code.zip": base64.b64encode(archive + b"x").decode()}
    changed = desired_function(manifest, SETTINGS, referenced=code_digest({"binaryData": newer}))
    assert changed.revision != desired.revision


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"app.py": HANDLER}, id="no-such-key"),
        pytest.param({"code.zip": "not base64!"}, id="not-base64"),
    ],
)
def test_configmap_without_its_archive_holds_the_function(data: dict[str, str]) -> None:
    manifest = body({"configMap": {"name": "fn-package", "archive": "code.zip"}})
    found = code_digest({"binaryData": data})
    desired = desired_function(manifest, SETTINGS, referenced=found)
    assert desired.code_problem is not None
    assert desired.code_problem.reason == "ConfigMapArchiveNotFound"
    assert "run kappa deploy again" in desired.code_problem.message
    assert desired.hold


def test_url_code_is_fetched_by_the_agent() -> None:
    desired = desired_function(
        body({"url": {"url": "https://example.com/fn.zip", "sha256": SHA}}), SETTINGS
    )
    assert desired.code_sha256 == SHA
    assert desired.code_configmap is None
    assert referenced_configmap(body({"url": {"url": "https://x.example/a.zip"}})) is None
    env = {
        e["name"]: e["value"] for e in desired.pod("p", attempt=0)["spec"]["containers"][0]["env"]
    }
    assert (env["KAPPA_CODE_URL"], env["KAPPA_CODE_SHA256"]) == ("https://example.com/fn.zip", SHA)


def test_image_code_runs_the_users_image() -> None:
    manifest = body({"image": "registry.example/fn:1"}, runtime="image")
    del manifest["spec"]["handler"]
    desired = desired_function(manifest, SETTINGS)
    assert desired.code_problem is None
    assert desired.code_sha256 is None
    pod = desired.pod("p", attempt=0)
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    assert containers["function"]["image"] == "registry.example/fn:1"
    assert "initContainers" not in pod["spec"]
    assert containers["agent"]["image"] == "kappa.local/base:dev"


@pytest.mark.parametrize(
    ("code", "copied"),
    [
        pytest.param({"image": "registry.example/fn-code:1"}, "/var/task", id="default-path"),
        pytest.param(
            {"image": "registry.example/fn-code:1", "imagePath": "/workspace"},
            "/workspace",
            id="image-path",
        ),
    ],
)
def test_a_code_image_with_a_managed_runtime_is_copied_onto_the_runtime_image(
    code: dict[str, str], copied: str
) -> None:
    desired = desired_function(body(code), SETTINGS)
    assert desired.code_problem is None
    spec = desired.pod("p", attempt=0)["spec"]
    (function,) = spec["containers"]
    assert function["image"] == "kappa.local/runtime-python3.11:dev"
    install, copy = spec["initContainers"]
    assert install["image"] == "kappa.local/runtime-python3.11:dev"
    assert copy["image"] == "registry.example/fn-code:1"
    assert copy["command"][1] == copied
    other = desired_function(body({**code, "image": "registry.example/fn-code:2"}), SETTINGS)
    assert other.revision != desired.revision


def test_provisioned_concurrency_sets_replicas_and_provisioned_pods() -> None:
    manifest = body({"inline": {"app.py": HANDLER}}, concurrency={"provisioned": 5, "perPod": 2})
    desired = desired_function(manifest, SETTINGS)
    assert (desired.replicas, desired.provisioned_pods, desired.per_pod) == (3, 3, 2)
    pod = desired.pod("p", attempt=1, provisioned=True)
    assert pod["metadata"]["labels"]["kappa.dev/provisioned"] == "true"
    assert pod["metadata"]["annotations"]["kappa.dev/attempt"] == "1"


def test_invalid_spec_is_a_code_problem_and_makes_no_pod() -> None:
    desired = desired_function(body({"inline": {"app.py": HANDLER}}, memoryMB=1), SETTINGS)
    assert desired.code_problem is not None
    assert desired.code_problem.reason == "InvalidSpec"
    assert desired.hold
    assert (desired.replicas, desired.params) == (0, None)
    with pytest.raises(ValueError, match="invalid Function"):
        desired.pod("p", attempt=0)


def test_a_field_of_a_newer_crd_does_not_hold_the_function() -> None:
    code = {"inline": {"app.py": HANDLER}}
    newer = desired_function(body(code, newField={"x": 1}), SETTINGS)
    assert newer.code_problem is None
    assert newer.params == desired_function(body(code), SETTINGS).params


def test_a_configmap_digest_covers_data_and_binary_data_as_served() -> None:
    both = code_digest({"data": {"app.py": HANDLER}, "binaryData": {"lib.so": "AAEC"}})
    assert both.files == 2
    assert both.sha256 == code_sha256({"app.py": HANDLER, "lib.so": "AAEC"})
    assert code_digest({}).files == 0


def test_a_published_version_gets_pods_of_its_own_named_by_the_function() -> None:
    version_body = {
        "kind": "FunctionVersion",
        "metadata": {"name": "fn.3", "namespace": "team-a", "uid": "uid-v3", "generation": 1},
        "spec": {
            "function": "fn",
            "version": 3,
            "snapshot": body({"inline": {"app.py": HANDLER}})["spec"],
            "provisionedConcurrency": 2,
        },
    }
    desired = desired_function(as_function_body(version_body), SETTINGS)
    latest = desired_function(body({"inline": {"app.py": HANDLER}}), SETTINGS)
    assert desired.code_problem is None
    assert desired.arn == "arn:aws:lambda:us-east-1:team-a:function:fn:3"
    assert desired.provisioned == 2
    assert desired.revision != latest.revision
    assert desired.code_configmap is not None
    assert desired.code_configmap_name is not None
    assert desired.code_configmap_name.startswith("fn.3-code-")
    assert desired.code_configmap["metadata"]["labels"]["kappa.dev/version"] == "3"
    assert desired.code_configmap["metadata"]["ownerReferences"][0]["kind"] == "FunctionVersion"
    pod = desired.pod("fn.3-abc", attempt=0)
    labels = pod["metadata"]["labels"]
    assert (labels["kappa.dev/function"], labels["kappa.dev/version"]) == ("fn", "3")
    owner = pod["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("FunctionVersion", "fn.3", "uid-v3")
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "3"
    assert volumes(pod)["code"]["configMap"]["name"] == desired.code_configmap_name
    assert "kappa.dev/version" not in latest.pod("fn-abc", attempt=0)["metadata"]["labels"]


def test_the_operators_tracing_collector_reaches_every_agent() -> None:
    code = {"inline": {"app.py": HANDLER}}
    off = desired_function(body(code), SETTINGS)
    traced = Settings(tracing_otlp_endpoint="http://otel:4318", tracing_sample_ratio=0.5)
    on = desired_function(body(code), traced)
    env = {
        e["name"]: e.get("value")
        for e in on.pod("fn-abc", attempt=0)["spec"]["containers"][0]["env"]
    }
    assert env["KAPPA_TRACING_OTLP_ENDPOINT"] == "http://otel:4318"
    assert env["KAPPA_TRACING_SAMPLE_RATIO"] == "0.5"
    names = {e["name"] for e in off.pod("fn-abc", attempt=0)["spec"]["containers"][0]["env"]}
    assert "KAPPA_TRACING_OTLP_ENDPOINT" not in names
    assert on.revision != off.revision


def test_a_pod_takes_per_pod_times_per_runtime_calls() -> None:
    """Provisioned concurrency counts calls: 10 of them fit in ceil(10 / (2 x 3)) = 2 pods."""
    manifest = body(
        {"inline": {"app.py": HANDLER}},
        concurrency={"provisioned": 10, "perPod": 2, "perRuntime": 3},
    )
    desired = desired_function(manifest, SETTINGS)
    assert (desired.replicas, desired.provisioned_pods, desired.per_pod) == (2, 2, 6)
    assert desired.scaling.per_pod == 6  # the autoscaler's slots per pod
    assert desired.params is not None
    assert (desired.params.per_pod, desired.params.per_runtime) == (2, 3)
    env = {
        e["name"]: e.get("value")
        for e in desired.pod("p", attempt=1)["spec"]["containers"][0]["env"]
    }
    assert (env["KAPPA_SLOTS"], env["AWS_LAMBDA_MAX_CONCURRENCY"]) == ("2", "3")


def test_one_call_per_runtime_sets_no_max_concurrency() -> None:
    desired = desired_function(body({"inline": {"app.py": HANDLER}}), SETTINGS)
    assert desired.params is not None
    assert desired.params.per_runtime is None


@pytest.mark.parametrize(
    ("settings", "endpoint"),
    [
        pytest.param(SETTINGS, "http://kappa-gateway.kappa-system.svc:80", id="service-dns-name"),
        pytest.param(
            Settings(function_gateway_url="http://10.96.0.20:80/"),
            "http://10.96.0.20:80",
            id="the-charts-cluster-ip",
        ),
    ],
)
def test_a_durable_functions_pods_reach_the_lambda_api_at_the_gateway(
    settings: Settings, endpoint: str
) -> None:
    code = {"inline": {"app.py": HANDLER}}
    durable = desired_function(body(code, durable={"executionTimeoutSeconds": 60}), settings)
    env = {
        e["name"]: e.get("value")
        for e in durable.pod("fn-abc", attempt=0)["spec"]["containers"][0]["env"]
    }
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == endpoint
    assert env["KAPPA_POD_TOKEN_FILE"].endswith("/token")
    plain = desired_function(body(code), settings)
    assert plain.params.durable_endpoint is None


@pytest.mark.parametrize(
    "url",
    ["10.96.0.20:80", "http://$(KAPPA_GATEWAY_SERVICE_HOST):80", "http://gw/path", "ftp://gw"],
)
def test_a_function_gateway_url_that_is_no_url_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="KAPPA_FUNCTION_GATEWAY_URL"):
        Settings.from_env({"KAPPA_FUNCTION_GATEWAY_URL": url})
