"""The objects ``kappa deploy`` applies: the package's ConfigMap and the Function.

A package that fits in a ConfigMap (``CONFIG_MAP_MAX_BYTES``) goes in one, as a zip
under ``binaryData`` (``spec.code.configMap.archive``: the pods unpack it); a larger one
(up to Lambda's 50 MB) goes to the code store through the gateway's Lambda API
(:func:`needs_store`; the gateway then sets ``spec.code``, so the Function applied is
:func:`stored_function_manifest`, without it), or to a URL the cluster can fetch
(``--code-url``: ``spec.code.url`` with the zip's sha256). Each Function is checked
against the API models before it is printed or applied. Pure.
"""

import hashlib
from typing import Any, Final

from kappa.api.function import Function
from kappa.api.layer import Layer
from kappa.api.names import CODE_SHA256_ANNOTATION as SHA_ANNOTATION
from kappa.api.names import COMPONENT_LABEL
from kappa.cli.project import Project
from kappa.resources.package import (
    ARCHIVE_KEY,
    CONFIG_MAP_MAX_BYTES,
    PACKAGE_COMPONENT,
    PackageTooLargeError,
    Placement,
    archive_configmap,
    package_configmap_name,
    package_labels,
    placement,
)

__all__ = [
    "ARCHIVE_KEY",
    "CONFIG_MAP_MAX_BYTES",
    "PACKAGE_COMPONENT",
    "PackageTooLargeError",
    "archive_configmap",
    "package_configmap_name",
]

API_VERSION: Final = "kappa.dev/v1alpha1"
LAYER_COMPONENT: Final = "layer"
LAYER_LABEL: Final = "kappa.dev/layer"


def package_configmap(project: Project, archive: bytes) -> dict[str, Any]:
    """The ConfigMap that carries the Function's ``archive``."""
    return archive_configmap(
        package_configmap_name(project.name),
        project.namespace,
        package_labels(project.name),
        archive,
    )


def function_manifest(project: Project, archive: bytes, code_url: str | None) -> dict[str, Any]:
    """The Function running ``archive``: from its ConfigMap, or from ``code_url``."""
    if code_url is None:
        code: dict[str, Any] = {
            "configMap": {"name": package_configmap_name(project.name), "archive": ARCHIVE_KEY}
        }
    else:
        code = {"url": {"url": code_url, "sha256": hashlib.sha256(archive).hexdigest()}}
    spec: dict[str, Any] = {"runtime": project.runtime, "handler": project.handler, "code": code}
    if project.memory_mb is not None:
        spec["memoryMB"] = project.memory_mb
    if project.timeout_seconds is not None:
        spec["timeoutSeconds"] = project.timeout_seconds
    if project.layers:
        spec["layers"] = [{"name": layer} for layer in project.layers]
    if project.durable is not None:
        spec["durable"] = dict(project.durable)
    return _checked(Function, project.name, project.namespace, archive, spec)


def _checked(
    model: type[Function | Layer], name: str, namespace: str, archive: bytes, spec: dict[str, Any]
) -> dict[str, Any]:
    """The object of ``model``'s kind, marked with the zip's sha256, as the API models take it.

    The mark changes with each new zip, so the operator rolls the pods that use it at once.
    """
    kind = model.__name__
    manifest = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {SHA_ANNOTATION: hashlib.sha256(archive).hexdigest()},
        },
        "spec": spec,
    }
    try:
        model.model_validate(manifest)
    except ValueError as error:
        raise ValueError(f"the {kind} would be refused: {error}") from error
    return manifest


def layer_manifests(
    name: str, namespace: str, archive: bytes, description: str | None
) -> list[dict[str, Any]]:
    """A Layer's ConfigMap (``<name>-layer``) and the Layer, checked against the API models."""
    labels = {LAYER_LABEL: name, COMPONENT_LABEL: LAYER_COMPONENT}
    configmap = archive_configmap(f"{name}-layer", namespace, labels, archive)
    spec: dict[str, Any] = {
        "code": {"configMap": {"name": f"{name}-layer", "archive": ARCHIVE_KEY}}
    }
    if description:
        spec["description"] = description
    return [configmap, _checked(Layer, name, namespace, archive, spec)]


def owned_by(
    configmap: dict[str, Any], owner: str, uid: str, kind: str = "Function"
) -> dict[str, Any]:
    """``configmap`` owned by ``owner`` (a Function or a Layer): deleting it deletes this."""
    reference = {"apiVersion": API_VERSION, "kind": kind, "name": owner, "uid": uid}
    return {**configmap, "metadata": {**configmap["metadata"], "ownerReferences": [reference]}}


def needs_store(archive: bytes, code_url: str | None) -> bool:
    """Whether ``archive`` goes to the code store: too large for a ConfigMap, and no URL.

    PackageTooLargeError past Lambda's 50 MB (no URL given).
    """
    return code_url is None and placement(len(archive), store=True) is Placement.STORE


_STORE_PLACEHOLDER: Final = "http://code-store.invalid/package.zip"


def stored_function_manifest(project: Project, archive: bytes) -> dict[str, Any]:
    """The Function of a package kept in the code store: all but ``spec.code``.

    The gateway's CreateFunction or UpdateFunctionCode sets ``spec.code`` (the store's
    URL) and the sha256 mark; applying this after it changes the rest and leaves the code
    as the gateway wrote it. Checked as a Function with URL code.
    """
    function = function_manifest(project, archive, _STORE_PLACEHOLDER)
    del function["spec"]["code"]
    return function


def manifests(project: Project, archive: bytes, code_url: str | None) -> list[dict[str, Any]]:
    """Everything to apply, in order: the package's ConfigMap (unless at a URL), the Function."""
    function = function_manifest(project, archive, code_url)
    return [function] if code_url is not None else [package_configmap(project, archive), function]
