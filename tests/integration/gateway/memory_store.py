"""What the Lambda control-plane API asks of the API server (``ControlStore``), in memory.

The one thing not real in the in-process tests of CreateFunction & co.: objects are kept
in dicts, patches are JSON merge patches, and PublishVersion runs Kappa's own pure
snapshot (``kappa.versions.snapshot``) as the real shell does.
"""

from typing import Any

from kappa.versions.publish import Published
from kappa.versions.snapshot import copy_name, next_number, snapshot, version_manifest


def merge(into: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``into`` with the JSON merge patch ``patch`` applied (RFC 7386)."""
    out = dict(into)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class MemoryStore:
    """Functions, their versions and ConfigMaps, by (namespace, name)."""

    def __init__(self) -> None:
        self.functions: dict[tuple[str, str], dict[str, Any]] = {}
        self.function_versions: dict[tuple[str, str], dict[str, Any]] = {}
        self.configmaps: dict[tuple[str, str], dict[str, Any]] = {}

    async def function(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.functions.get((namespace, name))

    async def create(self, _plural: str, manifest: dict[str, Any]) -> dict[str, Any]:
        meta = manifest["metadata"]
        made = merge(manifest, {"metadata": {"uid": f"uid-{meta['name']}", "resourceVersion": "1"}})
        self.functions[meta["namespace"], meta["name"]] = made
        return made

    async def patch(
        self, _plural: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        patched = merge(self.functions[namespace, name], patch)
        self.functions[namespace, name] = patched
        return patched

    async def put_configmap(self, manifest: dict[str, Any]) -> None:
        meta = manifest["metadata"]
        self.configmaps[meta["namespace"], meta["name"]] = manifest

    async def version(self, namespace: str, function: str, number: str) -> dict[str, Any] | None:
        return self.function_versions.get((namespace, f"{function}.{number}"))

    async def versions(self, namespace: str, function: str) -> list[dict[str, Any]]:
        return [
            v
            for (ns, _), v in sorted(self.function_versions.items())
            if ns == namespace and v["spec"]["function"] == function
        ]

    async def publish(self, namespace: str, function: str, description: str | None) -> Published:
        body = self.functions[namespace, function]
        held = await self.versions(namespace, function)
        number = next_number(body, (int(v["spec"]["version"]) for v in held))
        code = body["spec"].get("code") or {}
        named = (code.get("configMap") or {}).get("name")
        configmap = self.configmaps.get((namespace, named)) if named else None
        taken = snapshot(body["spec"], configmap, copy_name(function, number))
        made = version_manifest(body, number, taken, description)
        self.function_versions[namespace, made["metadata"]["name"]] = made
        return Published(made, created=True)
