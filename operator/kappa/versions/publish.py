"""Publishing a Function's version on the cluster: the shell around ``snapshot``.

``publish`` reads the Function (and the ConfigMap its code names), and either gives back
its latest version (nothing changed since) or:

1. records the new number on the Function (``kappa.dev/last-version``), with the
   Function's resourceVersion as a precondition, so two publishers never take the same
   number: the loser reads again and takes the next one;
2. creates the FunctionVersion ``<function>.<number>`` (owned by the Function);
3. copies the code's ConfigMap, if any, into ``<function>.<number>-code`` (owned by the
   version; the version's pods wait for it, and the operator wakes them when it appears).

The kubernetes client is synchronous: callers on an event loop run this in a thread.
"""

import logging
from dataclasses import dataclass
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kappa.api import function as api
from kappa.api import function_version
from kappa.api.names import FUNCTION_LABEL, GROUP, VERSION
from kappa.versions.snapshot import (
    LAST_VERSION_ANNOTATION,
    PublishError,
    code_copy_manifest,
    copy_name,
    next_number,
    snapshot,
    unchanged,
    version_manifest,
)

log = logging.getLogger(__name__)

_NOT_FOUND: Final = 404
_CONFLICT: Final = 409
_ATTEMPTS: Final = 10


@dataclass(frozen=True)
class Published:
    """The version publishing gave: its body, and whether this call made it."""

    version: dict[str, Any]
    created: bool

    @property
    def number(self) -> int:
        """The version's number."""
        return int(self.version["spec"]["version"])


def publish(
    kube: client.ApiClient, namespace: str, name: str, description: str | None = None
) -> Published:
    """Publish the Function ``namespace/name``; see the module docstring.

    Raises PublishError when the Function does not exist or cannot be pinned, and the
    client's ApiException when the API server refuses a write (RBAC, quota).
    """
    custom, core = client.CustomObjectsApi(kube), client.CoreV1Api(kube)
    for _ in range(_ATTEMPTS):
        try:
            function = custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, api.PLURAL, name
            )
        except ApiException as exc:
            if exc.status == _NOT_FOUND:
                msg = f"Function {namespace}/{name} does not exist"
                raise PublishError(msg) from None
            raise
        versions = custom.list_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            function_version.PLURAL,
            label_selector=f"{FUNCTION_LABEL}={name}",
        ).get("items", [])
        versions = [v for v in versions if (v.get("spec") or {}).get("function") == name]
        spec = function.get("spec") or {}
        configmap = _code_configmap(core, namespace, spec)
        number = next_number(function, (int(v["spec"]["version"]) for v in versions))
        taken = snapshot(spec, configmap, copy_name(name, number))
        if (same := unchanged(versions, taken.digest)) is not None:
            return Published(dict(same), created=False)
        try:
            _claim_number(custom, function, number)
        except ApiException as exc:
            if exc.status == _CONFLICT:  # changed meanwhile (maybe another publisher)
                continue
            raise
        manifest = version_manifest(function, number, taken, description)
        made = custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, function_version.PLURAL, manifest
        )
        if configmap is not None:
            core.create_namespaced_config_map(
                namespace, code_copy_manifest(configmap, made, copy_name(name, number))
            )
        log.info("published %s/%s version %d", namespace, name, number)
        return Published(made, created=True)
    msg = f"Function {namespace}/{name} kept changing while publishing: try again"
    raise PublishError(msg)


def _code_configmap(
    core: client.CoreV1Api, namespace: str, spec: dict[str, Any]
) -> dict[str, Any] | None:
    """The body of the ConfigMap the code names; None when there is none.

    None too when that ConfigMap does not exist, which ``snapshot`` refuses, saying so.
    """
    source = (spec.get("code") or {}).get("configMap")
    if not isinstance(source, dict):
        return None
    try:
        found = core.read_namespaced_config_map(source.get("name"), namespace)
    except ApiException as exc:
        if exc.status == _NOT_FOUND:
            return None  # snapshot() says so
        raise
    # The client's model as the API server's JSON (camelCase keys).
    body: dict[str, Any] = core.api_client.sanitize_for_serialization(found)
    return body


def _claim_number(custom: client.CustomObjectsApi, function: dict[str, Any], number: int) -> None:
    """Record ``number`` on the Function, if it has not changed since it was read."""
    meta = function["metadata"]
    patch = {
        "metadata": {
            "resourceVersion": meta["resourceVersion"],
            "annotations": {LAST_VERSION_ANNOTATION: str(number)},
        }
    }
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, meta["namespace"], api.PLURAL, meta["name"], patch
    )
