"""The ``DestinationsReady`` condition: whether a Function's async destinations exist (pure).

Only Function destinations can be checked (a NATS subject always "exists").
The schema cannot know whether ``spec.async.onSuccess.function`` names a
Function, so it is a condition, not a refusal::

    no Function destination                       no condition
    every destination Function exists             True  DestinationsFound
    one does not (same namespace)                 False DestinationNotFound — records for it
                                                  wait in the queue until it exists

The condition does not touch ``Ready``: the function itself runs.
"""

from collections.abc import Container, Mapping
from typing import Any, Final

from kappa.api.meta import ConditionState, ConditionStatus, ConditionType

_KINDS: Final = ("onSuccess", "onFailure")


def destination_functions(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(``onSuccess``/``onFailure``, Function name) of each Function destination of ``body``."""
    config = ((body.get("spec") or {}).get("async")) or {}
    found = []
    for kind in _KINDS:
        function = (config.get(kind) or {}).get("function")
        if isinstance(function, str) and function:
            found.append((kind, function))
    return found


def destination_keys(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(namespace, name) of each Function ``body``'s destinations name."""
    namespace = str((body.get("metadata") or {}).get("namespace") or "")
    return [(namespace, function) for _, function in destination_functions(body)]


def destinations_conditions(
    body: Mapping[str, Any], existing: Container[tuple[str, str]]
) -> list[ConditionState]:
    """The condition of the module docstring (none or one); ``existing``: (namespace, name)s."""
    namespace = str((body.get("metadata") or {}).get("namespace") or "")
    wanted = destination_functions(body)
    if not wanted:
        return []
    missing = [(kind, name) for kind, name in wanted if (namespace, name) not in existing]
    if not missing:
        names = ", ".join(f"{kind}: {name}" for kind, name in wanted)
        message = f"Destination Functions exist ({names})."
        return [
            ConditionState(
                ConditionType.DESTINATIONS_READY, ConditionStatus.TRUE, "DestinationsFound", message
            )
        ]
    described = "; ".join(
        f"{kind} Function {name!r} does not exist in namespace {namespace}"
        for kind, name in missing
    )
    return [
        ConditionState(
            ConditionType.DESTINATIONS_READY,
            ConditionStatus.FALSE,
            "DestinationNotFound",
            f"{described}. Asynchronous events whose records go there wait in the queue (they "
            "are not dropped) until it is created or spec.async is changed.",
        )
    ]
