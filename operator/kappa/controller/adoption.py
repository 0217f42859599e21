"""Which package ConfigMap a Function or Layer adopts, so that deleting it deletes its code.

A manifest writer cannot know the uid an object will get, so the ConfigMaps that
``kappa sam convert`` and ``kappa deploy --dry-run`` write for the code carry no owner
reference: only their labels say whose they are (``kappa.dev/function: NAME`` or
``kappa.dev/layer: NAME``, with ``kappa.dev/component: package`` or ``layer``). The
operator adds the reference once the owner exists, and the API server's garbage
collector then deletes the package with it, as it does a package that ``kappa deploy``,
``kappa layer publish`` or CreateFunction wrote (those set the reference themselves).
A Layer's package is adopted in the pass of a Function that names the Layer (the
operator reads Layers there; it runs no loop of their own).

Decision table (the first row that holds wins):

==========================================  =========  =================================
the ConfigMap the object's code names        adopted?   why
==========================================  =========  =================================
a published version's pods read it           no         the Function adopts; a version
                                                        keeps a copy of its own
missing                                      no         nothing to own
not labelled with the owner's component      no         the user's own ConfigMap: never
(package for a Function, layer for a Layer)             touched
labelled for another Function or Layer       no         it says it is someone else's
owned by this object (its uid) already       no         done
otherwise                                    yes        a reference to the owner added
                                                        (not a controller: other owners,
                                                        e.g. a GitOps tool's, stay)
==========================================  =========  =================================

Pure: the owner's name and uid and the ConfigMap's digest in, a reference out.
"""

from collections.abc import Mapping
from typing import Any

from kappa.api.names import API_VERSION, LAYER_COMPONENT
from kappa.resources.code_configmap import CodeDigest
from kappa.resources.package import PACKAGE_COMPONENT


def _reference(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "name": name, "uid": uid}


def adoption(
    function: str, uid: str, configmap: CodeDigest | None, *, version: str | None = None
) -> dict[str, Any] | None:
    """The owner reference to add to the Function's package ConfigMap, or None (the table)."""
    if version is not None or configmap is None or uid in configmap.owner_uids:
        return None
    if configmap.component_label != PACKAGE_COMPONENT or configmap.function_label != function:
        return None
    return _reference("Function", function, uid)


def layer_adoption(
    layer: Mapping[str, Any] | None, configmap: CodeDigest | None
) -> dict[str, Any] | None:
    """The owner reference to add to a Layer's package ConfigMap, or None (the table).

    ``layer``: the Layer as the API server returns it (None: missing).
    """
    meta = (layer or {}).get("metadata") or {}
    name, uid = meta.get("name"), meta.get("uid")
    if not isinstance(name, str) or not isinstance(uid, str) or configmap is None:
        return None
    if uid in configmap.owner_uids:
        return None
    if configmap.component_label != LAYER_COMPONENT or configmap.layer_label != name:
        return None
    return _reference("Layer", name, uid)
