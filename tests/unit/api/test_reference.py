"""kappa.api.reference: CRDs → the Markdown API reference."""

from typing import Any

import pytest

from kappa.api.crd import all_crds
from kappa.api.reference import render_reference


def crd(schema: dict[str, Any], *, kind: str = "Widget", served: bool = True) -> dict[str, Any]:
    return {
        "spec": {
            "group": "example.dev",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": kind.lower() + "s", "shortNames": ["wd"]},
            "versions": [
                {
                    "name": "v1",
                    "served": served,
                    "schema": {"openAPIV3Schema": schema},
                    "additionalPrinterColumns": [{"name": "Ready"}],
                }
            ],
        }
    }


def spec_of(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": properties, **extra}},
    }


@pytest.mark.parametrize(
    ("properties", "required", "row"),
    [
        pytest.param(
            {
                "size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 9,
                    "default": 3,
                    "description": "How big.",
                }
            },
            [],
            "| `spec.size` | integer |  | ≥ 1; ≤ 9; default `3` | How big. |",
            id="bounds-and-default",
        ),
        pytest.param(
            {"mode": {"type": "string", "enum": ["a", "b"]}},
            ["mode"],
            "| `spec.mode` | string | yes | one of `a`, `b` |  |",
            id="enum-required",
        ),
        pytest.param(
            {
                "files": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "maxProperties": 2,
                }
            },
            [],
            "| `spec.files` | map of string |  | entries ≤ 2 |  |",
            id="map",
        ),
        pytest.param(
            {"port": {"x-kubernetes-int-or-string": True}},
            [],
            "| `spec.port` | integer or string |  |  |  |",
            id="int-or-string",
        ),
        pytest.param(
            {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
                    },
                }
            },
            [],
            "| `spec.items[].name` | string | yes | pattern `^[a-z]+$` |  |",
            id="array-of-objects",
        ),
        pytest.param(
            {"note": {"type": "string", "description": "a | b\nc"}},
            [],
            "| `spec.note` | string |  |  | a \\| b c |",
            id="cell-escaping",
        ),
    ],
)
def test_field_rows(properties: dict[str, Any], required: list[str], row: str) -> None:
    text = render_reference([crd(spec_of(properties, required=required))])
    assert row in text.splitlines()


def test_rules_listed_with_their_messages() -> None:
    schema = spec_of(
        {
            "a": {
                "type": "string",
                "x-kubernetes-validations": [
                    {"rule": "self != ''", "message": "a must not be empty"}
                ],
            }
        },
        **{"x-kubernetes-validations": [{"rule": "has(self.a)"}]},
    )
    lines = render_reference([crd(schema)]).splitlines()
    assert "| `spec` | has(self.a) |" in lines
    assert "| `spec.a` | a must not be empty |" in lines


def test_header_kinds_and_unserved_versions() -> None:
    text = render_reference([crd(spec_of({})), crd(spec_of({}), kind="Gadget", served=False)])
    assert text.startswith("<!-- Generated from crds/")
    assert "## Widget (example.dev/v1)" in text
    assert "(short: `wd`)" in text
    assert "- `kubectl get` columns: Ready" in text
    assert "## Gadget" not in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


def test_every_kappa_crd_field_is_documented() -> None:
    text = render_reference(all_crds())
    for field in (
        "spec.runtime",
        "spec.code.url.sha256",
        "spec.concurrency.reserved",
        "status.conditions",
    ):
        assert f"`{field}`" in text
