"""A SAM (CloudFormation) template read from YAML or JSON, its short-form tags expanded.

``!Ref X`` becomes ``{"Ref": "X"}``, ``!GetAtt A.B`` ``{"Fn::GetAtt": ["A", "B"]}``,
``!Sub``/``!Join``/``!If``... ``{"Fn::Sub": ...}``: the long form CloudFormation itself
reads, so the converter sees one shape. Pure: text in, a mapping out.
"""

from typing import Any, Final

import yaml

TEMPLATE_MAX_BYTES: Final = 1024 * 1024
"""CloudFormation's own limit for a template read from S3."""

_FUNCTIONS: Final = (
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join",
    "Not", "Or", "Select", "Split", "Sub", "Transform", "ToJsonString", "Length",
)  # fmt: skip


class TemplateError(ValueError):
    """The file is no template; the message says what is wrong with it."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with CloudFormation's tags (a subclass: the shared SafeLoader stays plain)."""


def _value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _long_form(key: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _value(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _value(loader, node)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


_Loader.add_constructor("!Ref", _long_form("Ref"))
_Loader.add_constructor("!Condition", _long_form("Condition"))
_Loader.add_constructor("!GetAtt", _get_att)
for _name in _FUNCTIONS:
    _Loader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))


def load_template(text: str) -> dict[str, Any]:
    """The template in ``text`` (YAML or JSON), with a ``Resources`` mapping."""
    if len(text.encode()) > TEMPLATE_MAX_BYTES:
        raise TemplateError(f"the template is over {TEMPLATE_MAX_BYTES:,} bytes")
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader plus plain tags
    except yaml.YAMLError as error:
        raise TemplateError(f"not YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError("not a SAM template: it has no Resources mapping")
    return document
