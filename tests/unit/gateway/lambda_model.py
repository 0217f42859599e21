"""Lambda's service model as botocore has it (1.44.8 here): what boto3 sends and reads.

``problems`` checks an answer against a shape of the model member by member (names,
types, bounds, enums, required members), which botocore's parser does not: it reads
whatever it is given. ``parsed`` is what boto3 makes of an answer; ``request_body`` is
the JSON body boto3 sends for a call.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any, Final

from botocore.awsrequest import HeadersDict
from botocore.model import OperationModel, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.session import get_session

MODEL = get_session().get_service_model("lambda")


def operation(name: str) -> OperationModel:
    """The operation ``name`` of Lambda's model."""
    return MODEL.operation_model(name)


def _bounds(value: float, shape: Shape, where: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        return [f"{where}: {value!r} is outside {low}..{high}"]
    return []


def _structure(value: Any, shape: Shape, where: str) -> list[str]:
    assert isinstance(shape, StructureShape)
    if not isinstance(value, dict):
        return [f"{where}: not an object"]
    found = [f"{where}.{name}: required" for name in shape.required_members if name not in value]
    for name, member in value.items():
        if name not in shape.members:
            found.append(f"{where}.{name}: not a member of {shape.name}")
        else:
            found += problems(member, shape.members[name], f"{where}.{name}")
    return found


def _list(value: Any, shape: Shape, where: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{where}: not a list"]
    member: Shape = shape.member  # type: ignore[attr-defined]
    return [p for i, item in enumerate(value) for p in problems(item, member, f"{where}[{i}]")]


def _map(value: Any, shape: Shape, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: not a map"]
    member: Shape = shape.value  # type: ignore[attr-defined]
    return [p for k, item in value.items() for p in problems(item, member, f"{where}.{k}")]


def _integer(value: Any, shape: Shape, where: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [f"{where}: {value!r} is not a whole number"]
    return _bounds(value, shape, where)


def _string(value: Any, shape: Shape, where: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: {value!r} is not a string"]
    if shape.enum and value not in shape.enum:
        return [f"{where}: {value!r} is not one of {shape.enum}"]
    return _bounds(len(value), shape, where)


def _boolean(value: Any, _shape: Shape, where: str) -> list[str]:
    return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]


def _number(value: Any, _shape: Shape, where: str) -> list[str]:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return [] if ok else [f"{where}: {value!r} is not a number"]


_CHECKS: Final[dict[str, Callable[[Any, Shape, str], list[str]]]] = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "integer": _integer,
    "long": _integer,
    "string": _string,
    "boolean": _boolean,
    "double": _number,
    "float": _number,
}


def problems(value: Any, shape: Shape, where: str = "") -> list[str]:
    """How ``value`` departs from ``shape`` (empty: it fits; timestamps and blobs unchecked)."""
    check = _CHECKS.get(shape.type_name)
    return [] if check is None else check(value, shape, where)


def parsed(
    operation_name: str,
    body: dict[str, Any] | bytes,
    status: int = 200,
    headers: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """What boto3 returns for ``body``, the JSON answer of ``operation_name`` (or an error's)."""
    response = {
        "status_code": status,
        "headers": HeadersDict({"content-type": "application/json", **dict(headers)}),
        "body": body if isinstance(body, bytes) else json.dumps(body).encode(),
    }
    result: dict[str, Any] = create_parser("rest-json").parse(
        response, operation(operation_name).output_shape
    )
    return result


def request_body(operation_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The JSON body boto3 sends for ``operation_name`` called with ``params``."""
    request = create_serializer("rest-json").serialize_to_request(params, operation(operation_name))
    body: dict[str, Any] = json.loads(request["body"] or b"{}")
    return body
