"""The ConfigMap that holds a Function's inline code, named after its content.

Naming the ConfigMap by a hash of its content makes every code change a new
object: pods of the old revision keep their old code until they are gone, and
a rollout never mixes two versions of the code inside one pod.
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.names import (
    CODE_SHA256_ANNOTATION,
    COMPONENT_LABEL,
    FUNCTION_LABEL,
    LAYER_LABEL,
    unit_labels,
    unit_name,
)
from kappa.resources.owner import owner_reference

CODE_HASH_LENGTH: Final = 10


def code_sha256(files: Mapping[str, str]) -> str:
    """Hex SHA-256 of a set of files, independent of their order."""
    canonical = json.dumps(dict(sorted(files.items())), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def archive_sha256(encoded: str) -> str | None:
    """Hex SHA-256 of a base64 binaryData value (None: not base64)."""
    try:
        return hashlib.sha256(base64.b64decode(encoded, validate=True)).hexdigest()
    except binascii.Error:
        return None


@dataclass(frozen=True)
class CodeDigest:
    """What the operator keeps of a ConfigMap a Function's code or a Layer names.

    The hash and count of its files, and the hash of each binaryData key holding base64
    (a zip); and of its metadata, whose it says it is (its ``kappa.dev/function``,
    ``kappa.dev/layer`` and ``kappa.dev/component`` labels) and the uids of its owners,
    which say whether its Function or Layer adopted it (``kappa.controller.adoption``).
    """

    sha256: str
    files: int
    archives: tuple[tuple[str, str], ...] = ()
    function_label: str | None = None
    component_label: str | None = None
    layer_label: str | None = None
    owner_uids: tuple[str, ...] = ()

    def archive(self, key: str) -> str | None:
        """Hex SHA-256 of the bytes under ``key`` (None: no such key, or not base64)."""
        return dict(self.archives).get(key)


def code_digest(configmap: Mapping[str, Any]) -> CodeDigest:
    """The digest of a ConfigMap's body: data, and binaryData as the base64 the API serves."""
    binary = configmap.get("binaryData") or {}
    files = {**(configmap.get("data") or {}), **binary}
    archives = ((key, archive_sha256(value)) for key, value in sorted(binary.items()))
    meta = configmap.get("metadata") or {}
    labels = meta.get("labels") or {}
    owners = meta.get("ownerReferences") or ()
    return CodeDigest(
        code_sha256(files),
        len(files),
        tuple((k, sha) for k, sha in archives if sha is not None),
        function_label=labels.get(FUNCTION_LABEL),
        component_label=labels.get(COMPONENT_LABEL),
        layer_label=labels.get(LAYER_LABEL),
        owner_uids=tuple(str(o.get("uid")) for o in owners if isinstance(o, Mapping)),
    )


def code_configmap_name(function: str, files: Mapping[str, str]) -> str:
    """``<function>-code-<hash>``: a new name for every new content."""
    return f"{function}-code-{code_sha256(files)[:CODE_HASH_LENGTH]}"


def config_map_key(path: str) -> str:
    """ConfigMap keys cannot hold '/': nested paths are flattened and mapped back by `items`.

    '_' escapes ('_' → '_u', '/' → '_s'), so two different paths never share a key.
    """
    return path.replace("_", "_u").replace("/", "_s")


def make_code_configmap(
    *,
    function: str,
    namespace: str,
    uid: str,
    files: Mapping[str, str],
    version: str | None = None,
) -> dict[str, Any]:
    """The immutable ConfigMap of inline code, owned by its Function (or FunctionVersion)."""
    unit = unit_name(function, version)
    kind = "Function" if version is None else "FunctionVersion"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": code_configmap_name(unit, files),
            "namespace": namespace,
            "labels": unit_labels(function, version),
            "annotations": {CODE_SHA256_ANNOTATION: code_sha256(files)},
            "ownerReferences": [owner_reference(unit, uid, kind)],
        },
        "immutable": True,
        "data": {config_map_key(path): content for path, content in sorted(files.items())},
    }
