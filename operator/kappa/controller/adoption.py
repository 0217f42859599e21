"""Which package ConfigMap a Function adopts, so that deleting the Function deletes it.

A manifest writer cannot know the uid a Function will get, so the ConfigMaps that
``kappa sam convert`` and ``kappa deploy --dry-run`` write for the code carry no owner
reference: only their labels say whose they are (``kappa.dev/function: NAME``,
``kappa.dev/component: package``). The operator adds the reference once the Function
exists, and the API server's garbage collector then deletes the package with it, as it
does a package ``kappa deploy`` or CreateFunction wrote (those set the reference
themselves).

Decision table (the first row that holds wins):

==========================================  =========  =================================
the ConfigMap spec.code.configMap names      adopted?   why
==========================================  =========  =================================
a published version's pods read it           no         the Function adopts; a version
                                                        keeps a copy of its own
missing                                      no         nothing to own
not labelled component=package               no         the user's own ConfigMap: never
                                                        touched
labelled for another Function                no         it says it is someone else's
owned by this Function (its uid) already     no         done
otherwise                                    yes        a reference to the Function added
                                                        (not a controller: other owners,
                                                        e.g. a GitOps tool's, stay)
==========================================  =========  =================================

Pure: the Function's name and uid and the ConfigMap's digest in, a reference out.
"""

from typing import Any

from kappa.api.names import API_VERSION
from kappa.resources.code_configmap import CodeDigest
from kappa.resources.package import PACKAGE_COMPONENT


def adoption(
    function: str, uid: str, configmap: CodeDigest | None, *, version: str | None = None
) -> dict[str, Any] | None:
    """The owner reference to add to the Function's package ConfigMap, or None (the table)."""
    if version is not None or configmap is None:
        return None
    if configmap.component_label != PACKAGE_COMPONENT or configmap.function_label != function:
        return None
    if uid in configmap.owner_uids:
        return None
    return {"apiVersion": API_VERSION, "kind": "Function", "name": function, "uid": uid}
