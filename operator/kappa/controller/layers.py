"""A Function's layers: the Layers it names and what each gives its pods.

Read before ``desired_function`` (``layer_names``, then each Layer and its ConfigMap's
digest by the caller); ``layer_mounts`` turns what was read into the pods' ``LayerMount``s, in
the Function's order, or the CodeReady problem that holds the Function: a Layer that is
missing or invalid, a ConfigMap without its archive. Each layer's sha256 is part of the
pods' revision, so a Layer's new code rolls the Functions that name it. Pure.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from kappa.api.layer import Layer
from kappa.api.meta import FROM_CLUSTER, ConditionState, ConditionStatus, ConditionType
from kappa.resources.code_configmap import CodeDigest
from kappa.resources.pods import LayerMount


@dataclass(frozen=True)
class LayerSource:
    """What the API server holds for one named Layer: its body and its ConfigMap's digest."""

    body: Mapping[str, Any] | None
    data: CodeDigest | None = None


def layer_names(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The Layers the Function in ``body`` names (spec.layers), in order."""
    spec = body.get("spec")
    layers = spec.get("layers") if isinstance(spec, Mapping) else None
    if not isinstance(layers, list):
        return ()
    names = (entry.get("name") for entry in layers if isinstance(entry, Mapping))
    return tuple(name for name in names if isinstance(name, str) and name)


def layer_configmap(body: Mapping[str, Any]) -> str | None:
    """The ConfigMap a Layer's code is in, if it is in one."""
    spec = body.get("spec")
    code = spec.get("code") if isinstance(spec, Mapping) else None
    source = code.get("configMap") if isinstance(code, Mapping) else None
    name = source.get("name") if isinstance(source, Mapping) else None
    return name if isinstance(name, str) and name else None


def _problem(reason: str, message: str) -> ConditionState:
    return ConditionState(ConditionType.CODE_READY, ConditionStatus.FALSE, reason, message)


def _mount(name: str, source: LayerSource) -> LayerMount | ConditionState:
    if source.body is None:
        return _problem(
            "LayerNotFound",
            f"Layer {name!r} (spec.layers) does not exist in this namespace: create it "
            "or fix the name",
        )
    document = {
        k: v for k, v in source.body.items() if k in {"apiVersion", "kind", "metadata", "spec"}
    }
    try:
        layer = Layer.model_validate(document, context=FROM_CLUSTER)
    except ValidationError as error:
        return _problem("LayerInvalid", f"Layer {name!r} is invalid: {error.errors()[0]['msg']}")
    code = layer.spec.code
    if code.url is not None:
        return LayerMount(sha256=code.url.sha256, url=code.url.url)
    assert code.config_map is not None  # noqa: S101 - exactly one source (LayerCode's rule)
    cm, key = code.config_map.name, code.config_map.archive
    sha = None if source.data is None else source.data.archive(key)
    if sha is None:
        return _problem(
            "ConfigMapArchiveNotFound",
            f"Layer {name!r}: ConfigMap {cm!r} has no binaryData key {key!r} holding a zip",
        )
    return LayerMount(sha256=sha, config_map=cm, archive=key)


def layer_mounts(
    names: Sequence[str], sources: Mapping[str, LayerSource]
) -> tuple[tuple[LayerMount, ...], ConditionState | None]:
    """The pods' layers in order, or the first problem (then no layers)."""
    mounts: list[LayerMount] = []
    for name in names:
        found = _mount(name, sources.get(name, LayerSource(None)))
        if isinstance(found, ConditionState):
            return (), found
        mounts.append(found)
    return tuple(mounts), None
