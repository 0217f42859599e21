from typing import Any

import pytest
from pydantic import ValidationError

from kappa.api.layer import Layer

SHA = "ab" * 32


def layer(code: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "Layer",
        "metadata": {"name": "shared"},
        "spec": {"code": code, **spec},
    }


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            layer({"configMap": {"name": "shared-package", "archive": "code.zip"}}), id="cm"
        ),
        pytest.param(
            layer({"url": {"url": "https://example.com/l.zip", "sha256": SHA}}, description="d"),
            id="url",
        ),
    ],
)
def test_accepted(body: dict[str, Any]) -> None:
    assert Layer.model_validate(body).metadata.name == "shared"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(layer({}), "exactly one of configMap, url", id="no-code"),
        pytest.param(
            layer(
                {
                    "configMap": {"name": "p", "archive": "code.zip"},
                    "url": {"url": "https://example.com/l.zip", "sha256": SHA},
                }
            ),
            "exactly one of configMap, url",
            id="two-sources",
        ),
        pytest.param(layer({"configMap": {"name": "p"}}), "archive", id="cm-without-archive"),
        pytest.param(layer({"url": {"url": "https://example.com/l.zip"}}), "sha256", id="no-sha"),
        pytest.param(layer({"inline": {"a.py": ""}}), "Extra inputs", id="inline"),
    ],
)
def test_refused(body: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Layer.model_validate(body)
    assert says in str(excinfo.value)
