"""The API reference (docs/reference.md), rendered from CustomResourceDefinitions.

Pure: CRD objects in, Markdown out. Every field of every served version becomes
one row (its path, type, bounds, default and description); the CEL rules the API
server enforces are listed with the message a refused `kubectl apply` shows.
`kappa reference` writes it; a unit test holds the checked-in file to the CRDs
in crds/, so the reference cannot drift from what the API server enforces.
"""

from collections.abc import Iterator, Sequence
from typing import Any, Final

JsonObject = dict[str, Any]

HEADER: Final = (
    "<!-- Generated from crds/ by `make docs` (kappa reference). Do not edit by hand. -->\n"
)
_BOUNDS: Final = (
    ("minimum", "≥ {}"),
    ("maximum", "≤ {}"),
    ("minLength", "length ≥ {}"),
    ("maxLength", "length ≤ {}"),
    ("minItems", "items ≥ {}"),
    ("maxItems", "items ≤ {}"),
    ("minProperties", "entries ≥ {}"),
    ("maxProperties", "entries ≤ {}"),
)


def _cell(text: str) -> str:
    """Text safe in one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _type(schema: JsonObject) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and "properties" not in schema:
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            return f"map of {_type(values)}"
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return "object (any fields)"
    return kind


def _constraints(schema: JsonObject) -> str:
    parts = [template.format(schema[key]) for key, template in _BOUNDS if key in schema]
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{value}`" for value in schema["enum"]))
    if "pattern" in schema:
        parts.append(f"pattern `{schema['pattern']}`")
    if "format" in schema:
        parts.append(f"format {schema['format']}")
    if "default" in schema:
        parts.append(f"default `{schema['default']}`")
    return "; ".join(parts)


def _rows(schema: JsonObject, path: str, *, required: bool) -> Iterator[tuple[str, ...]]:
    """(field, type, required, constraints, description) for a field and those below it."""
    yield (
        f"`{path}`",
        _type(schema),
        "yes" if required else "",
        _cell(_constraints(schema)),
        _cell(str(schema.get("description", ""))),
    )
    yield from _children(schema, path)


def _children(schema: JsonObject, path: str) -> Iterator[tuple[str, ...]]:
    """Rows of the fields below ``schema``: its properties, its items', its values'."""
    needed = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        yield from _rows(sub, f"{path}.{name}", required=name in needed)
    for key, suffix in (("items", "[]"), ("additionalProperties", ".<key>")):
        sub = schema.get(key)
        if isinstance(sub, dict) and "properties" in sub:
            yield from _children(sub, f"{path}{suffix}")


def _rules(schema: JsonObject, path: str) -> Iterator[tuple[str, str]]:
    """(field, message) of every CEL rule, outermost first."""
    for rule in schema.get("x-kubernetes-validations", []):
        yield path or "(object)", str(rule.get("message") or rule["rule"])
    for name, sub in schema.get("properties", {}).items():
        yield from _rules(sub, f"{path}.{name}" if path else name)
    for key, suffix in (("items", "[]"), ("additionalProperties", ".<key>")):
        sub = schema.get(key)
        if isinstance(sub, dict):
            yield from _rules(sub, f"{path}{suffix}")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _crd_section(crd: JsonObject) -> list[str]:
    spec = crd["spec"]
    names = spec["names"]
    lines: list[str] = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = version["schema"]["openAPIV3Schema"]
        api_version = f"{spec['group']}/{version['name']}"
        lines += [f"## {names['kind']} ({api_version})", ""]
        if schema.get("description"):
            lines += [" ".join(str(schema["description"]).split()), ""]
        short = ", ".join(f"`{n}`" for n in names.get("shortNames", []))
        lines += [
            f"- `apiVersion: {api_version}`, `kind: {names['kind']}`, "
            f"{spec['scope'].lower()}; `kubectl get {names['plural']}`"
            + (f" (short: {short})" if short else ""),
        ]
        columns = [c["name"] for c in version.get("additionalPrinterColumns", [])]
        if columns:
            lines.append("- `kubectl get` columns: " + ", ".join(columns))
        lines.append("")
        for part in ("spec", "status"):
            sub = schema.get("properties", {}).get(part)
            if sub is None:
                continue
            lines += [f"### {part}", ""]
            rows = list(_children(sub, part))
            lines += _table(("field", "type", "required", "constraints", "description"), rows)
            lines.append("")
        rules = list(_rules(schema, ""))
        if rules:
            lines += [
                "### Validation rules",
                "",
                "Checked by the API server at apply time (CEL); refused objects show the message.",
                "",
            ]
            lines += _table(("field", "message"), [(f"`{f}`", _cell(m)) for f, m in rules])
            lines.append("")
    return lines


def render_reference(crds: Sequence[JsonObject]) -> str:
    """docs/reference.md for ``crds``, in the order given (sort them for a stable file)."""
    lines = [HEADER, "# API reference", ""]
    lines += [
        (
            "Kappa's custom resources, every field with its type, bounds and meaning. "
            "`kubectl explain function.spec` shows the same descriptions in a cluster."
        ),
        "",
    ]
    for crd in crds:
        spec = crd["spec"]
        kind = spec["names"]["kind"]
        for version in spec["versions"]:
            if version.get("served", True):
                anchor = f"{kind}-{spec['group']}{version['name']}".lower().replace(".", "")
                lines.append(f"- [{kind} ({spec['group']}/{version['name']})](#{anchor})")
    lines.append("")
    for crd in crds:
        lines += _crd_section(crd)
    return "\n".join(lines).rstrip("\n") + "\n"
