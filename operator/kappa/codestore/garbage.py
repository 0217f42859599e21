"""Which packages to delete: those no Function or FunctionVersion names any more. Pure.

The collector (``kappa.codestore.collector``) lists the packages on the volume and the
Functions and FunctionVersions of the cluster, and deletes what :func:`plan` returns: a
package that nothing in its namespace names (``spec.code.url.sha256`` of a Function, or
of a FunctionVersion's ``spec.snapshot``) and that was uploaded more than ``grace``
seconds ago. The grace keeps a package the gateway has just uploaded and is about to
name in a Function (uploaded first, named after); uploading a package again renews its
upload time, so a package a new Function is about to name again is kept too.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kappa.codestore.capability import BadPackageNameError, PackageKey, package_key


@dataclass(frozen=True)
class StoredPackage:
    """A package on the volume: its key, size in bytes and last upload time (epoch seconds)."""

    key: PackageKey
    size: int
    uploaded_at: float


def referenced(objects: Iterable[Mapping[str, Any]]) -> frozenset[PackageKey]:
    """The packages ``objects`` (Functions and FunctionVersions, as the API serves them) name.

    By namespace and the sha256 of their URL code, whoever serves that URL: a package
    is kept while any object of its namespace names those bytes.
    """
    found: set[PackageKey] = set()
    for item in objects:
        namespace = (item.get("metadata") or {}).get("namespace")
        spec = item.get("spec") or {}
        snapshot = spec.get("snapshot")
        for code_of in (spec, snapshot if isinstance(snapshot, Mapping) else {}):
            code = code_of.get("code") if isinstance(code_of, Mapping) else None
            url = code.get("url") if isinstance(code, Mapping) else None
            sha = url.get("sha256") if isinstance(url, Mapping) else None
            if isinstance(namespace, str) and isinstance(sha, str):
                try:
                    found.add(package_key(namespace, sha))
                except BadPackageNameError:
                    continue
    return frozenset(found)


def plan(
    stored: Iterable[StoredPackage],
    named: frozenset[PackageKey],
    *,
    now: float,
    grace_seconds: float,
) -> list[StoredPackage]:
    """The packages to delete: named by nothing, and uploaded over ``grace_seconds`` ago."""
    return sorted(
        (p for p in stored if p.key not in named and now - p.uploaded_at > grace_seconds),
        key=lambda p: p.key,
    )
