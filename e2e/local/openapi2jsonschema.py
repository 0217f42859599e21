"""JSON schemas for kubeconform, made offline from OpenAPI documents.

kubeconform validates each manifest against `<kind>-<group>-<version>.json`
(its `{{ .ResourceKind }}{{ .KindSuffix }}.json` template). Its usual source is a
GitHub repository these machines cannot reach, so the schemas are generated here
the way that repository's `openapi2jsonschema` does it:

    openapi2jsonschema.py k8s SWAGGER_JSON OUT_DIR   # Kubernetes' swagger.json (v2)
    openapi2jsonschema.py crds CRD_YAML_DIR OUT_DIR  # our CustomResourceDefinitions

Every schema is standalone (the definitions it references travel inside it) and
strict: an object that lists its properties refuses any other (a misspelt field
fails lint). Quantities accept numbers as well as strings and int-or-string
fields either, as the API server does; optional fields accept null, as
`helm template` renders empty values.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Schema = dict[str, Any]
_REF = "#/definitions/"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def file_name(kind: str, api_version: str) -> str:
    """kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json` for a kind and apiVersion."""
    group, _, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0].lower()}-{version.lower()}" if group else f"-{version}"
    return f"{kind.lower()}{suffix}.json"


_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SCHEMAS = frozenset({"items", "additionalProperties", "not"})


def _tighten(schema: Any) -> Any:
    """Strict objects, lenient scalars where the API server is lenient.

    Walks the schema by keyword: under `properties` the keys are field names (a CRD's
    schema has fields named `description` and `x-kubernetes-int-or-string`).
    """
    if not isinstance(schema, dict):
        return schema
    if schema.get("format") == "int-or-string" or schema.get("x-kubernetes-int-or-string") is True:
        return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    out: Schema = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {name: _tighten(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [_tighten(sub) for sub in value]
        elif key in _SCHEMAS:
            out[key] = _tighten(value)
        else:
            out[key] = value
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
        required = set(out.get("required", []))
        for name, prop in out["properties"].items():
            if name not in required and isinstance(prop.get("type"), str):
                prop["type"] = [prop["type"], "null"]
    return out


def _references(schema: Any, into: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            into.add(ref.removeprefix(_REF))
        for value in schema.values():
            _references(value, into)
    elif isinstance(schema, list):
        for value in schema:
            _references(value, into)


def _closure(name: str, definitions: dict[str, Schema]) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        found: set[str] = set()
        _references(definitions[current], found)
        todo.extend(found - seen)
    return seen


def kubernetes_schemas(swagger: Schema) -> dict[str, Schema]:
    """File name → standalone strict schema, for every kind in a swagger.json."""
    definitions = {name: _tighten(schema) for name, schema in swagger["definitions"].items()}
    definitions[_QUANTITY] = {"oneOf": [{"type": "string"}, {"type": "number"}]}
    out: dict[str, Schema] = {}
    for name, raw in swagger["definitions"].items():
        for gvk in raw.get("x-kubernetes-group-version-kind", []):
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            needed = _closure(name, definitions) - {name}
            schema = dict(definitions[name])
            schema["definitions"] = {dep: definitions[dep] for dep in sorted(needed)}
            out[file_name(gvk["kind"], api_version)] = schema
    return out


def crd_schemas(crds: list[Schema]) -> dict[str, Schema]:
    """File name → strict schema, for every served version of the given CRDs."""
    out: dict[str, Schema] = {}
    for crd in crds:
        kind, group = crd["spec"]["names"]["kind"], crd["spec"]["group"]
        for version in crd["spec"]["versions"]:
            schema = _tighten(version["schema"]["openAPIV3Schema"])
            properties = schema.setdefault("properties", {})
            properties.update(
                {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                }
            )
            schema["additionalProperties"] = False
            out[file_name(kind, f"{group}/{version['name']}")] = schema
    return out


def _write(schemas: dict[str, Schema], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (out_dir / name).write_text(json.dumps(schema, separators=(",", ":")))


def main(argv: list[str]) -> int:
    usage = "usage: openapi2jsonschema.py k8s SWAGGER_JSON OUT_DIR | crds CRD_DIR OUT_DIR"
    if len(argv) != 3 or argv[0] not in {"k8s", "crds"}:
        sys.stderr.write(usage + "\n")
        return 2
    mode, source, out_dir = argv[0], Path(argv[1]), Path(argv[2])
    if mode == "k8s":
        schemas = kubernetes_schemas(json.loads(source.read_text()))
    else:
        import yaml  # noqa: PLC0415 - only CRDs need it; the k8s mode runs on a bare python3

        docs = [
            doc
            for path in sorted(source.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text())
            if doc and doc.get("kind") == "CustomResourceDefinition"
        ]
        schemas = crd_schemas(docs)
    _write(schemas, out_dir)
    sys.stderr.write(f"{len(schemas)} schemas in {out_dir}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
