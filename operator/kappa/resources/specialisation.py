"""What the operator sends a pool pod it claims, and the patch that makes it the Function's. Pure.

A claimed pool pod must end up as the pod the operator would have made for the
Function: so the request is derived from that pod's manifest (``DesiredFunction.pod``).
Its function container's variables (all literal: ``kappa.controller.pool_eligibility``
keeps Functions with ``valueFrom`` out of pools) are the agent's ``env``; its code,
which a made pod would mount from a ConfigMap, travels as a zip: the files of the
``code`` volume (inline code, a ConfigMap of files) zipped here, or the zip of the
``archive`` volume as it is. Code at a URL needs nothing: the variables name it.

The adoption patch then gives the pod the made pod's labels, the Function as its
controller owner and an annotation naming the pool, and removes the pool's label.
"""

import base64
import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.names import CLAIMED_FROM_ANNOTATION, POOL_LABEL
from kappa.base.code_paths import ARCHIVE_FILE

_FILE_URL: Final = "file://"
_EXECUTABLE: Final = 0o755  # as the made pod's ConfigMap volume (defaultMode)


@dataclass(frozen=True, slots=True)
class CodeSource:
    """Where the made pod's code would come from: a ConfigMap, as files or as one zip."""

    config_map: str
    archive_key: str | None  # the key holding a zip; None: every (listed) key is a file
    items: tuple[tuple[str, str], ...]  # (key, path); empty: every key, at its own name


class NotSpecialisableError(ValueError):
    """The made pod needs what a pool pod cannot be given (a variable from a reference...)."""


def function_container(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """The container that runs the code (``function``) of a made pod's manifest."""
    for container in manifest["spec"]["containers"]:
        if container["name"] == "function":
            found: Mapping[str, Any] = container
            return found
    msg = "the pod has no function container"
    raise NotSpecialisableError(msg)


def code_source(manifest: Mapping[str, Any]) -> CodeSource | None:
    """The ConfigMap the made pod mounts its code from (None: a URL, or no code volume)."""
    for volume in manifest["spec"].get("volumes") or []:
        source = volume.get("configMap")
        if source is None or volume["name"] not in {"code", "archive"}:
            continue
        items = tuple((i["key"], i["path"]) for i in source.get("items") or [])
        if volume["name"] == "archive":
            archive = next(key for key, path in items if path == ARCHIVE_FILE)
            return CodeSource(source["name"], archive, ())
        return CodeSource(source["name"], None, items)
    return None


def environment(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The function container's variables, as the agent reads them after ``/specialise``."""
    env: dict[str, str] = {}
    for variable in function_container(manifest).get("env") or []:
        if "value" not in variable or "valueFrom" in variable:
            msg = f"variable {variable.get('name')} is not a literal value"
            raise NotSpecialisableError(msg)
        env[str(variable["name"])] = str(variable["value"])
    if env.get("KAPPA_CODE_URL", "").startswith(_FILE_URL):
        # The made pod's archive volume: the zip comes in the request instead.
        env.pop("KAPPA_CODE_URL")
        env.pop("KAPPA_CODE_SHA256", None)
    return env


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """``files`` (path: content) as a zip, each file executable as the made pod's would be."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | _EXECUTABLE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[path])
    return buffer.getvalue()


def config_map_files(source: CodeSource, configmap: Mapping[str, Any]) -> bytes:
    """The zip of the code ``source`` names in ``configmap`` (its ``data``/``binaryData``)."""
    data = {k: v.encode() for k, v in (configmap.get("data") or {}).items()}
    binary = {k: base64.b64decode(v) for k, v in (configmap.get("binaryData") or {}).items()}
    contents: dict[str, bytes] = {**data, **binary}
    if source.archive_key is not None:
        if source.archive_key not in contents:
            msg = f"ConfigMap {source.config_map} has no key {source.archive_key}"
            raise NotSpecialisableError(msg)
        return contents[source.archive_key]
    items = source.items or tuple((key, key) for key in contents)
    missing = [key for key, _ in items if key not in contents]
    if missing:
        msg = f"ConfigMap {source.config_map} has no key {', '.join(missing)}"
        raise NotSpecialisableError(msg)
    return zip_files({path: contents[key] for key, path in items})


def request(env: Mapping[str, str], code: bytes | None) -> dict[str, Any]:
    """The ``/specialise`` body (``kappa.agent.specialise``)."""
    body: dict[str, Any] = {"env": dict(env)}
    if code is not None:
        body["zip"] = base64.b64encode(code).decode()
        body["sha256"] = hashlib.sha256(code).hexdigest()
    return body


def adoption_patch(manifest: Mapping[str, Any], pool: str) -> dict[str, Any]:
    """The merge patch that makes a claimed pool pod the made pod of ``manifest``."""
    meta = manifest["metadata"]
    return {
        "metadata": {
            "labels": {**meta["labels"], POOL_LABEL: None},
            "annotations": {**(meta.get("annotations") or {}), CLAIMED_FROM_ANNOTATION: pool},
            "ownerReferences": list(meta["ownerReferences"]),
        }
    }
