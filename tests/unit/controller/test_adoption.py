from dataclasses import replace
from typing import Any

import pytest

from kappa.api.names import LAYER_COMPONENT, LAYER_LABEL
from kappa.cli import manifest
from kappa.controller.adoption import adoption, layer_adoption
from kappa.resources.code_configmap import CodeDigest, code_digest

PACKAGE = code_digest(
    {
        "metadata": {
            "name": "fn-package",
            "labels": {"kappa.dev/function": "fn", "kappa.dev/component": "package"},
        },
        "binaryData": {"code.zip": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
    }
)
REFERENCE = {"apiVersion": "kappa.dev/v1alpha1", "kind": "Function", "name": "fn", "uid": "uid-1"}


def test_the_digest_keeps_whose_the_configmap_says_it_is_and_its_owners() -> None:
    assert (PACKAGE.function_label, PACKAGE.component_label, PACKAGE.owner_uids) == (
        "fn",
        "package",
        (),
    )
    owned = code_digest({"metadata": {"ownerReferences": [{"uid": "a"}, {"uid": "b"}]}})
    assert owned.owner_uids == ("a", "b")
    assert owned.sha256 == code_digest({}).sha256  # metadata is no part of the code's hash


@pytest.mark.parametrize(
    ("configmap", "version", "adopted"),
    [
        pytest.param(PACKAGE, None, REFERENCE, id="a-package-labelled-for-it"),
        pytest.param(
            replace(PACKAGE, owner_uids=("gitops-app", "other")),
            None,
            REFERENCE,
            id="other-owners-kept-by-the-merge",
        ),
        pytest.param(replace(PACKAGE, owner_uids=("uid-1",)), None, None, id="already-adopted"),
        pytest.param(PACKAGE, "3", None, id="a-published-version"),
        pytest.param(None, None, None, id="missing"),
        pytest.param(
            replace(PACKAGE, component_label=None), None, None, id="the-users-own-configmap"
        ),
        pytest.param(
            replace(PACKAGE, component_label="function"), None, None, id="an-inline-code-copy"
        ),
        pytest.param(
            replace(PACKAGE, function_label="other"), None, None, id="labelled-for-another"
        ),
        pytest.param(replace(PACKAGE, function_label=None), None, None, id="labelled-for-none"),
    ],
)
def test_adoption(
    configmap: CodeDigest | None, version: str | None, adopted: dict[str, str] | None
) -> None:
    assert adoption("fn", "uid-1", configmap, version=version) == adopted


def test_the_reference_is_no_controller_and_blocks_nothing() -> None:
    reference = adoption("fn", "uid-1", PACKAGE)
    assert reference is not None
    assert "controller" not in reference
    assert "blockOwnerDeletion" not in reference


LAYER_PACKAGE = code_digest(
    {"metadata": {"labels": {"kappa.dev/layer": "shared", "kappa.dev/component": "layer"}}}
)
LAYER = {"metadata": {"name": "shared", "uid": "layer-uid"}}
LAYER_REFERENCE = {
    "apiVersion": "kappa.dev/v1alpha1",
    "kind": "Layer",
    "name": "shared",
    "uid": "layer-uid",
}


@pytest.mark.parametrize(
    ("layer", "configmap", "adopted"),
    [
        pytest.param(LAYER, LAYER_PACKAGE, LAYER_REFERENCE, id="a-package-labelled-for-it"),
        pytest.param(
            LAYER, replace(LAYER_PACKAGE, owner_uids=("layer-uid",)), None, id="already-adopted"
        ),
        pytest.param(None, LAYER_PACKAGE, None, id="no-layer"),
        pytest.param({"metadata": {"name": "shared"}}, LAYER_PACKAGE, None, id="no-uid-yet"),
        pytest.param(LAYER, None, None, id="missing"),
        pytest.param(LAYER, replace(LAYER_PACKAGE, layer_label="other"), None, id="another's"),
        pytest.param(LAYER, PACKAGE, None, id="a-function-package"),
        pytest.param(LAYER, code_digest({}), None, id="the-users-own-configmap"),
    ],
)
def test_layer_adoption(
    layer: dict[str, Any] | None, configmap: CodeDigest | None, adopted: dict[str, str] | None
) -> None:
    assert layer_adoption(layer, configmap) == adopted


def test_a_function_package_is_no_layers_and_a_layers_no_functions() -> None:
    assert adoption("shared", "uid-1", replace(LAYER_PACKAGE, function_label="shared")) is None


def test_the_labels_are_those_the_cli_writes() -> None:
    assert (manifest.LAYER_LABEL, manifest.LAYER_COMPONENT) == (LAYER_LABEL, LAYER_COMPONENT)
