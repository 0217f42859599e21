"""CloudFormation's intrinsic functions, resolved where a template alone can tell.

``Ref`` to a parameter gives its value (an override, else its ``Default``), to a
Function or a LayerVersion of the template the Kappa name it gets, to a pseudo
parameter (``AWS::Region``...) the value chosen for the conversion. ``Fn::Sub``,
``Fn::Join``, ``Fn::Select``, ``Fn::Split`` and ``Fn::FindInMap`` are computed from
resolvable parts. Anything else (``Fn::GetAtt``, ``Fn::If``, ``Fn::ImportValue``, a
``Ref`` to a resource Kappa does not make) raises ``UnresolvedError`` saying why, for the
converter to report. Pure.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

_SUB_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")
_NO_VALUE: Final = "AWS::NoValue"


class UnresolvedError(ValueError):
    """An intrinsic function whose value the template alone cannot give; says why."""


@dataclass(frozen=True)
class Context:
    """What references resolve to."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Parameter values: the template's Defaults with the overrides applied."""
    pseudo: Mapping[str, str] = field(default_factory=dict)
    """``AWS::Region``, ``AWS::AccountId``, ``AWS::StackName``... as chosen."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Logical id to Kappa name, for the resources the conversion makes."""
    types: Mapping[str, str] = field(default_factory=dict)
    """Logical id to resource Type, for every resource of the template."""
    mappings: Mapping[str, Any] = field(default_factory=dict)
    """The template's Mappings section."""
    queues: Mapping[str, str] = field(default_factory=dict)
    """Logical id of an ``AWS::SQS::Queue`` to its URL (what ``Ref`` gives)."""


def is_intrinsic(value: Any) -> bool:
    """A ``{"Ref": ...}``, ``{"Condition": ...}`` or ``{"Fn::...": ...}`` mapping."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in {"Ref", "Condition"} or str(key).startswith("Fn::")


def describe(value: Any) -> str:
    """Short text of an intrinsic for messages, e.g. ``!GetAtt Queue.Arn``."""
    if not is_intrinsic(value):
        return repr(value)
    ((key, argument),) = value.items()
    short = key.removeprefix("Fn::")
    if short == "GetAtt" and isinstance(argument, list):
        argument = ".".join(str(a) for a in argument)
    return f"!{short} {argument}"


def resolve(value: Any, context: Context) -> Any:
    """``value`` with every intrinsic in it computed (UnresolvedError: one cannot be)."""
    if isinstance(value, list):
        return [resolve(item, context) for item in value]
    if not isinstance(value, dict):
        return value
    if not is_intrinsic(value):
        return {key: resolve(item, context) for key, item in value.items()}
    ((key, argument),) = value.items()
    compute = _FUNCTIONS.get(key)
    if compute is None:
        raise UnresolvedError(f"{describe(value)} has no value outside CloudFormation")
    return compute(argument, context)


def _join(argument: Any, context: Context) -> str:
    separator, items = _pair(argument, "Fn::Join")
    parts = resolve(items, context)
    if not isinstance(parts, list):
        raise UnresolvedError("Fn::Join needs a list")
    return str(separator).join(str(part) for part in parts)


def _select(argument: Any, context: Context) -> Any:
    index, items = _pair(argument, "Fn::Select")
    chosen = resolve(items, context)
    position = int(resolve(index, context))
    if not isinstance(chosen, list) or not 0 <= position < len(chosen):
        raise UnresolvedError(f"Fn::Select: index {position} is out of the list")
    return chosen[position]


def _split(argument: Any, context: Context) -> list[str]:
    separator, text = _pair(argument, "Fn::Split")
    return str(resolve(text, context)).split(str(separator))


def _pair(argument: Any, key: str) -> tuple[Any, Any]:
    if not isinstance(argument, list) or len(argument) != 2:  # noqa: PLR2004 - two arguments
        raise UnresolvedError(f"{key} takes two arguments")
    return argument[0], argument[1]


def _ref(name: str, context: Context) -> Any:
    if name in context.parameters:
        return context.parameters[name]
    if name in context.pseudo:
        return context.pseudo[name]
    if name in context.names:
        return context.names[name]
    if name in context.queues:
        return context.queues[name]
    if name == _NO_VALUE:
        raise UnresolvedError("!Ref AWS::NoValue removes the property")
    if name in context.types:
        kind = context.types[name]
        raise UnresolvedError(f"!Ref {name}: Kappa does not create its {kind}")
    if name.startswith("AWS::"):
        raise UnresolvedError(f"!Ref {name}: no value for this pseudo parameter here")
    raise UnresolvedError(f"!Ref {name}: no parameter or resource of that name")


def _sub(argument: Any, context: Context) -> str:
    variables: Mapping[str, Any] = {}
    if isinstance(argument, list):
        text, variables = _pair(argument, "Fn::Sub")
        variables = resolve(variables, context)
    else:
        text = argument
    if not isinstance(text, str):
        raise UnresolvedError("Fn::Sub takes a string")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return str(variables[name])
        if "." in name:
            raise UnresolvedError(f"!Sub ${{{name}}}: an attribute of a resource")
        return str(_ref(name, context))

    return _SUB_VARIABLE.sub(substitute, text)


def _find_in_map(argument: Any, context: Context) -> Any:
    if not isinstance(argument, list) or len(argument) != 3:  # noqa: PLR2004 - three keys
        raise UnresolvedError("Fn::FindInMap takes three arguments")
    keys = [str(resolve(item, context)) for item in argument]
    found: Any = context.mappings
    for key in keys:
        if not isinstance(found, Mapping) or key not in found:
            raise UnresolvedError(f"!FindInMap {keys}: no such entry in Mappings")
        found = found[key]
    return found


def _get_att(argument: Any, context: Context) -> str:
    """A queue's ``Arn``, ``QueueUrl`` or ``QueueName``; nothing else has a value here."""
    resource, attribute = _pair(argument, "Fn::GetAtt")
    url = context.queues.get(str(resource))
    if url is None:
        kind = context.types.get(str(resource), "resource")
        raise UnresolvedError(f"!GetAtt {resource}.{attribute}: an attribute of a {kind}")
    name = url.rstrip("/").rsplit("/", 1)[-1]
    if attribute == "QueueUrl":
        return url
    if attribute == "QueueName":
        return name
    if attribute == "Arn":
        region = context.pseudo.get("AWS::Region", "us-east-1")
        account = context.pseudo.get("AWS::AccountId", "000000000000")
        return f"arn:aws:sqs:{region}:{account}:{name}"
    raise UnresolvedError(f"!GetAtt {resource}.{attribute}: no value outside CloudFormation")


_FUNCTIONS: Final[dict[str, Callable[[Any, Context], Any]]] = {
    "Ref": lambda argument, context: _ref(str(argument), context),
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::GetAtt": _get_att,
}
