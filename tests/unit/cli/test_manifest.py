import base64
import hashlib

import pytest

from kappa.api.function import Function
from kappa.cli.manifest import (
    CONFIG_MAP_MAX_BYTES,
    PackageTooLargeError,
    function_manifest,
    layer_manifests,
    manifests,
    needs_store,
    owned_by,
    stored_function_manifest,
)
from kappa.cli.project import Project
from kappa.resources.package import PACKAGE_MAX_BYTES

PROJECT = Project("hello", "team-a", "python3.11", "app.handler", 256, 30)
ZIP = b"PK\x05\x06" + bytes(18)


def test_a_small_package_goes_in_a_configmap_the_function_unpacks() -> None:
    configmap, function = manifests(PROJECT, ZIP, None)
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["name"] == "hello-package"
    assert configmap["metadata"]["namespace"] == "team-a"
    # Labelled as the Function's package, not as one of the operator's code ConfigMaps
    # (it deletes those that no pod mounts).
    assert configmap["metadata"]["labels"] == {
        "kappa.dev/function": "hello",
        "kappa.dev/component": "package",
    }
    assert base64.b64decode(configmap["binaryData"]["code.zip"]) == ZIP
    assert function["spec"]["code"] == {
        "configMap": {"name": "hello-package", "archive": "code.zip"}
    }
    assert (function["spec"]["memoryMB"], function["spec"]["timeoutSeconds"]) == (256, 30)
    assert Function.model_validate(function).metadata.name == "hello"
    # The Function changes with the package, so the operator notices a new one at once.
    sha = hashlib.sha256(ZIP).hexdigest()
    assert function["metadata"]["annotations"] == {"kappa.dev/code-sha256": sha}
    assert configmap["metadata"]["annotations"] == {"kappa.dev/code-sha256": sha}


def test_the_package_is_owned_by_its_function() -> None:
    configmap, _ = manifests(PROJECT, ZIP, None)
    owned = owned_by(configmap, "hello", "uid-1")
    assert owned["metadata"]["ownerReferences"] == [
        {"apiVersion": "kappa.dev/v1alpha1", "kind": "Function", "name": "hello", "uid": "uid-1"}
    ]
    assert "ownerReferences" not in configmap["metadata"]
    assert owned["binaryData"] == configmap["binaryData"]


def test_a_package_at_a_url_carries_its_sha256() -> None:
    [function] = manifests(PROJECT, ZIP, "https://example.com/hello.zip")
    assert function["spec"]["code"] == {
        "url": {"url": "https://example.com/hello.zip", "sha256": hashlib.sha256(ZIP).hexdigest()}
    }


def test_a_package_over_a_configmap_says_to_pass_a_code_url() -> None:
    with pytest.raises(PackageTooLargeError, match="--code-url URL"):
        manifests(PROJECT, bytes(CONFIG_MAP_MAX_BYTES + 1), None)


def test_a_package_over_a_configmap_goes_to_the_code_store_unless_at_a_url() -> None:
    large = bytes(CONFIG_MAP_MAX_BYTES + 1)
    assert needs_store(large, None)
    assert not needs_store(large, "https://example.com/hello.zip")
    assert not needs_store(ZIP, None)
    with pytest.raises(PackageTooLargeError, match="52,428,800"):
        needs_store(bytes(PACKAGE_MAX_BYTES + 1), None)


def test_a_stored_packages_function_leaves_its_code_to_the_gateway() -> None:
    large = bytes(CONFIG_MAP_MAX_BYTES + 1)
    function = stored_function_manifest(PROJECT, large)
    assert "code" not in function["spec"]
    assert function["spec"]["runtime"] == "python3.11"
    assert function["spec"]["memoryMB"] == 256
    sha = hashlib.sha256(large).hexdigest()
    assert function["metadata"]["annotations"] == {"kappa.dev/code-sha256": sha}


def test_a_function_the_api_would_refuse_is_refused_here() -> None:
    with pytest.raises(ValueError, match="the Function would be refused"):
        function_manifest(PROJECT, ZIP, "ftp://example.com/hello.zip")


def test_the_function_names_its_layers_in_order() -> None:
    with_layers = Project("hello", "team-a", "python3.11", "app.handler", layers=("shared", "deps"))
    function = function_manifest(with_layers, ZIP, None)
    assert function["spec"]["layers"] == [{"name": "shared"}, {"name": "deps"}]


def test_a_layer_in_a_configmap_marked_with_its_sha256() -> None:
    configmap, layer = layer_manifests("shared", "team-a", ZIP, "helpers")
    assert configmap["metadata"]["name"] == "shared-layer"
    assert configmap["metadata"]["labels"] == {
        "kappa.dev/layer": "shared",
        "kappa.dev/component": "layer",
    }
    assert base64.b64decode(configmap["binaryData"]["code.zip"]) == ZIP
    assert layer["kind"] == "Layer"
    assert layer["spec"] == {
        "code": {"configMap": {"name": "shared-layer", "archive": "code.zip"}},
        "description": "helpers",
    }
    assert layer["metadata"]["annotations"] == {
        "kappa.dev/code-sha256": hashlib.sha256(ZIP).hexdigest()
    }
    owned = owned_by(configmap, "shared", "uid-2", kind="Layer")
    assert owned["metadata"]["ownerReferences"][0]["kind"] == "Layer"


def test_durable_settings_become_spec_durable_checked_by_the_functions_model() -> None:
    durable = Project(
        "flow", "team-a", "python3.11", "app.handler", durable={"executionTimeoutSeconds": 600}
    )
    function = function_manifest(durable, ZIP, None)
    assert function["spec"]["durable"] == {"executionTimeoutSeconds": 600}
    parsed = Function.model_validate(function).spec.durable
    assert parsed is not None
    assert parsed.retention_period_in_days == 14
    wrong = Project("flow", "team-a", "python3.11", "app.handler", durable={"timeout": 600})
    with pytest.raises(ValueError, match="the Function would be refused"):
        function_manifest(wrong, ZIP, None)
