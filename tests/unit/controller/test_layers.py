import base64
import hashlib
import json
from typing import Any

import pytest

from kappa.controller.desired import desired_function
from kappa.controller.layers import LayerSource, layer_mounts, layer_names
from kappa.resources.code_configmap import code_digest
from kappa.resources.pods import LayerMount
from kappa.settings import Settings

ZIP = b"PK\x05\x06" + bytes(18)
SHA = hashlib.sha256(ZIP).hexdigest()
URL_SHA = "ab" * 32


def layer(code: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "Layer",
        "metadata": {"name": "x", "namespace": "team-a", "generation": 1},
        "spec": {"code": code},
    }


IN_CONFIGMAP = LayerSource(
    layer({"configMap": {"name": "shared-package", "archive": "code.zip"}}),
    code_digest({"binaryData": {"code.zip": base64.b64encode(ZIP).decode()}}),
)
AT_URL = LayerSource(layer({"url": {"url": "https://example.com/deps.zip", "sha256": URL_SHA}}))


def function(*layers: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "fn", "namespace": "team-a", "uid": "uid-1", "generation": 1},
        "spec": {
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": {"inline": {"app.py": "def handler(e, c):\n    return 1\n"}},
            "layers": [{"name": name} for name in layers],
        },
    }


def test_layers_in_the_functions_order() -> None:
    mounts, problem = layer_mounts(["shared", "deps"], {"shared": IN_CONFIGMAP, "deps": AT_URL})
    assert problem is None
    assert mounts == (
        LayerMount(sha256=SHA, config_map="shared-package", archive="code.zip"),
        LayerMount(sha256=URL_SHA, url="https://example.com/deps.zip"),
    )


@pytest.mark.parametrize(
    ("source", "reason", "says"),
    [
        pytest.param(LayerSource(None), "LayerNotFound", "does not exist", id="missing"),
        pytest.param(LayerSource(layer({})), "LayerInvalid", "exactly one", id="invalid"),
        pytest.param(
            LayerSource(IN_CONFIGMAP.body, code_digest({"binaryData": {"other": "x"}})),
            "ConfigMapArchiveNotFound",
            "no binaryData key 'code.zip'",
            id="no-archive",
        ),
        pytest.param(
            LayerSource(IN_CONFIGMAP.body, None),
            "ConfigMapArchiveNotFound",
            "ConfigMap 'shared-package'",
            id="no-configmap",
        ),
    ],
)
def test_a_layer_that_cannot_be_used_holds_the_function(
    source: LayerSource, reason: str, says: str
) -> None:
    mounts, problem = layer_mounts(["shared"], {"shared": source})
    assert mounts == ()
    assert problem is not None
    assert (problem.status, problem.reason) == ("False", reason)
    assert "Layer 'shared'" in problem.message
    assert says in problem.message


def test_the_pods_get_the_layers_and_a_new_layer_is_a_new_revision() -> None:
    settings = Settings()
    desired = desired_function(
        function("shared", "deps"),
        settings,
        layers={"shared": IN_CONFIGMAP, "deps": AT_URL},
    )
    assert desired.code_problem is None
    pod = desired.pod("p", attempt=0)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["layer-0"]["configMap"] == {
        "name": "shared-package",
        "items": [{"key": "code.zip", "path": "code.zip"}],
    }
    assert "layer-1" not in volumes  # a URL layer is downloaded, not mounted
    assert volumes["opt"] == {"name": "opt", "emptyDir": {"sizeLimit": "300Mi"}}
    container = pod["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert (mounts["layer-0"], mounts["opt"]) == ("/var/kappa/layers/0", "/opt")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert json.loads(env["KAPPA_LAYERS"]) == [
        {"url": "file:///var/kappa/layers/0/code.zip", "sha256": SHA},
        {"url": "https://example.com/deps.zip", "sha256": URL_SHA},
    ]
    newer = LayerSource(
        IN_CONFIGMAP.body,
        code_digest({"binaryData": {"code.zip": base64.b64encode(ZIP + b"!").decode()}}),
    )
    changed = desired_function(
        function("shared", "deps"), settings, layers={"shared": newer, "deps": AT_URL}
    )
    assert changed.revision != desired.revision


def test_a_function_without_layers_keeps_its_revision_shape() -> None:
    without = function()
    del without["spec"]["layers"]
    pod = desired_function(without, Settings()).pod("p", attempt=0)
    names = {e["name"] for e in pod["spec"]["containers"][0]["env"]}
    assert "KAPPA_LAYERS" not in names
    assert "opt" not in {v["name"] for v in pod["spec"]["volumes"]}


def test_the_layers_a_function_names() -> None:
    assert layer_names(function("a", "b")) == ("a", "b")
    assert layer_names({"spec": {}}) == ()


def test_a_layers_package_labelled_as_its_own_is_adopted_by_the_layer() -> None:
    labelled = {"kappa.dev/layer": "x", "kappa.dev/component": "layer"}
    body = {**layer({"configMap": {"name": "x-layer", "archive": "code.zip"}})}
    body["metadata"] = {**body["metadata"], "uid": "layer-uid"}
    source = LayerSource(
        body,
        code_digest(
            {
                "metadata": {"labels": labelled},
                "binaryData": {"code.zip": base64.b64encode(ZIP).decode()},
            }
        ),
    )
    desired = desired_function(function("x"), Settings(), layers={"x": source})
    assert desired.code_problem is None
    assert desired.adopt_layer_configmaps == (
        (
            "x-layer",
            {"apiVersion": "kappa.dev/v1alpha1", "kind": "Layer", "name": "x", "uid": "layer-uid"},
        ),
    )
    # Not labelled: the user's ConfigMap, left as it is.
    desired = desired_function(function("shared"), Settings(), layers={"shared": IN_CONFIGMAP})
    assert desired.adopt_layer_configmaps == ()
