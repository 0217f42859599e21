"""What publishing a Function makes: the version's snapshot, number and objects. Pure.

Publishing (``kappa.versions.publish``, ``kappa publish``) reads the Function and, when
its code is in a ConfigMap, that ConfigMap; this module turns them into:

- the **snapshot**: the Function's spec with its code pinned. Inline, URL (with its
  sha256) and image code are pinned by the spec itself; a ConfigMap's code is copied
  into an immutable ConfigMap of the version (``<function>.<number>-code``), and the
  snapshot names the copy. The Function's provisioned and reserved concurrency are left
  out, as Lambda publishes a version without them;
- its **digest**: the SHA-256 of the snapshot (with the copied ConfigMap's content, not
  its name). Publishing an unchanged Function gives back its latest version, as
  Lambda's PublishVersion does, instead of a new number;
- the **number**: one more than the highest ever given, which the Function keeps in an
  annotation (``kappa.dev/last-version``), so a deleted version's number is never
  given again;
- the **FunctionVersion** (``<function>.<number>``, owned by the Function) and the copy
  (owned by the FunctionVersion).
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.function_version import KIND, version_name
from kappa.api.names import API_VERSION, COMPONENT_LABEL, FUNCTION_LABEL, GROUP
from kappa.resources.code_configmap import code_digest, code_sha256
from kappa.resources.owner import owner_reference

LAST_VERSION_ANNOTATION: Final = f"{GROUP}/last-version"
"""On a Function: the highest version number ever given (deleted versions included)."""
DIGEST_ANNOTATION: Final = f"{GROUP}/snapshot-sha256"
"""On a FunctionVersion: the digest of its snapshot, to tell an unchanged Function."""
VERSION_CODE_COMPONENT: Final = "version-code"
"""The component label of a version's copy of a ConfigMap's code (not an operator-made
code ConfigMap, which the operator deletes once unused)."""


class PublishError(ValueError):
    """The Function cannot be published as it is; the message says what to change."""


def missing_configmap(name: object) -> PublishError:
    """The refusal to publish code whose ConfigMap ``name`` does not exist."""
    return PublishError(
        f"the code's ConfigMap {name!r} does not exist: create it (or fix "
        "spec.code.configMap.name) before publishing"
    )


@dataclass(frozen=True)
class Snapshot:
    """A Function's spec with its code pinned, and what identifies it."""

    spec: dict[str, Any]
    digest: str
    code_sha256: str | None


def copy_name(function: str, number: int) -> str:
    """The name of version ``number``'s copy of a ConfigMap's code."""
    return f"{version_name(function, number)}-code"


def snapshot(
    function_spec: Mapping[str, Any], configmap: Mapping[str, Any] | None, copy_as: str
) -> Snapshot:
    """The snapshot of ``function_spec``, its ConfigMap's code copied as ``copy_as``.

    ``configmap`` is the body of the ConfigMap the code names (None when the code is not
    in a ConfigMap). Raises PublishError for code a version cannot pin: a ConfigMap that
    does not exist.
    """
    spec = {key: value for key, value in function_spec.items() if key != "publish"}
    spec["concurrency"] = {
        key: value
        for key, value in (spec.get("concurrency") or {}).items()
        if key not in {"provisioned", "reserved"}
    }
    code = spec.get("code") or {}
    # What the digest covers: the spec as the Function has it (its own ConfigMap's name,
    # not the copy's, which holds the number) and the content of that ConfigMap.
    identity: list[Any] = [dict(spec)]
    sha = None
    if isinstance(code.get("configMap"), Mapping):
        if configmap is None:
            raise missing_configmap(code["configMap"].get("name"))
        digest = code_digest(configmap)
        archive = code["configMap"].get("archive")
        sha = digest.sha256 if archive is None else digest.archive(archive)
        identity.append(digest.sha256)
        spec["code"] = {**code, "configMap": {**code["configMap"], "name": copy_as}}
    elif "inline" in code:
        sha = code_sha256(code["inline"])
    elif "url" in code:
        sha = code["url"].get("sha256")
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return Snapshot(spec, hashlib.sha256(canonical.encode()).hexdigest(), sha)


def next_number(function: Mapping[str, Any], existing: Iterable[int]) -> int:
    """One more than the highest number given: the Function's record, or an existing version."""
    annotations = (function.get("metadata") or {}).get("annotations") or {}
    recorded = annotations.get(LAST_VERSION_ANNOTATION)
    last = int(recorded) if isinstance(recorded, str) and recorded.isdigit() else 0
    return max([last, *existing]) + 1


def unchanged(versions: Iterable[Mapping[str, Any]], digest: str) -> Mapping[str, Any] | None:
    """The latest version when its snapshot's digest is ``digest`` (nothing changed since)."""
    latest = max(versions, key=lambda v: int(v["spec"]["version"]), default=None)
    if latest is None:
        return None
    annotations = (latest.get("metadata") or {}).get("annotations") or {}
    return latest if annotations.get(DIGEST_ANNOTATION) == digest else None


def version_manifest(
    function: Mapping[str, Any],
    number: int,
    taken: Snapshot,
    description: str | None = None,
) -> dict[str, Any]:
    """The FunctionVersion ``number`` of the Function ``function`` (its body) for ``taken``."""
    meta = function["metadata"]
    name = str(meta["name"])
    spec: dict[str, Any] = {"function": name, "version": number, "snapshot": taken.spec}
    if description:
        spec["description"] = description
    if taken.code_sha256:
        spec["codeSha256"] = taken.code_sha256
    owner = {**owner_reference(name, str(meta["uid"])), "controller": False}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": version_name(name, number),
            "namespace": meta["namespace"],
            "labels": {FUNCTION_LABEL: name},
            "annotations": {DIGEST_ANNOTATION: taken.digest},
            "ownerReferences": [owner],
        },
        "spec": spec,
    }


def code_copy_manifest(
    configmap: Mapping[str, Any], version: Mapping[str, Any], name: str
) -> dict[str, Any]:
    """The version's immutable copy ``name`` of ``configmap``, owned by the FunctionVersion."""
    meta = version["metadata"]
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": {
                FUNCTION_LABEL: version["spec"]["function"],
                COMPONENT_LABEL: VERSION_CODE_COMPONENT,
            },
            "ownerReferences": [owner_reference(str(meta["name"]), str(meta["uid"]), KIND)],
        },
        "immutable": True,
    }
    for key in ("data", "binaryData"):
        if configmap.get(key):
            body[key] = dict(configmap[key])
    return body
