"""The rules a checkpoint's updates obey before the decider applies them (pure).

``CheckpointDurableExecution`` answers a batch that breaks one of them 400
``InvalidParameterValueException``, and the SDK fails the execution for good on any such
400; so these rules are exactly those of the testing package
(aws-durable-execution-sdk-python-testing 1.4.0, ``checkpoint/validators/``), the best
description of the service there is, and never stricter:

- at most one ``EXECUTION`` update, and it is the batch's last;
- no id updated twice in a batch, except a ``STEP`` or ``CONTEXT`` whose ``START`` is
  followed by one other action (the SDK sends START and SUCCEED of a step together);
- a ``ParentId`` names a ``CONTEXT``, stored or started earlier in the batch;
- ``Type``, ``SubType``, ``Name`` and ``ParentId``, when sent, equal the stored
  operation's;
- an ``ErrorObject`` is at most 32 KiB as JSON, a ``Payload`` at most 6 MiB;
- the action is one the type takes, from the stored status (absent = not stored)::

      STEP            START (absent, READY)  SUCCEED / FAIL / RETRY (absent, STARTED, READY)
      CONTEXT         START (absent)         SUCCEED / FAIL (absent, STARTED)
      WAIT            START (absent)         CANCEL (STARTED)
      CALLBACK        START (absent)
      CHAINED_INVOKE  START (absent, with ChainedInvokeOptions)
      EXECUTION       SUCCEED / FAIL

- FAIL carries no ``Payload``, SUCCEED no ``Error``, a RETRY ``StepOptions`` and not
  both; for a STEP only when it is stored (the testing package checks no more for a
  step it has not seen).

Statuses are checked against the stored operations only, not against earlier updates of
the same batch, as there. Where Kappa differs: a parent is not required to be STARTED
(the package does not require it, and a map whose completion criteria are met ends its
CONTEXT while late branches may still checkpoint); the chained invoke's target is not
checked here (Kappa answers the operation FAILED until chained invokes are built); the
Payload bound counts characters, as the model's does.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from kappa.durable.model import (
    PAYLOAD_MAX,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

ERROR_OBJECT_MAX: Final = 32_768
"""Bytes of an update's ErrorObject as JSON (the testing package's bound)."""

A = OperationAction
S = OperationStatus
T = OperationType

ACTIONS: Final[Mapping[OperationType, frozenset[OperationAction]]] = {
    T.STEP: frozenset({A.START, A.SUCCEED, A.FAIL, A.RETRY}),
    T.CONTEXT: frozenset({A.START, A.SUCCEED, A.FAIL}),
    T.WAIT: frozenset({A.START, A.CANCEL}),
    T.CALLBACK: frozenset({A.START}),
    T.CHAINED_INVOKE: frozenset({A.START}),
    T.EXECUTION: frozenset({A.SUCCEED, A.FAIL}),
}
"""The actions each operation type takes."""

_ABSENT: Final = None
_FROM: Final[Mapping[tuple[OperationType, OperationAction], frozenset[OperationStatus | None]]] = {
    (T.STEP, A.START): frozenset({_ABSENT, S.READY}),
    (T.STEP, A.SUCCEED): frozenset({_ABSENT, S.STARTED, S.READY}),
    (T.STEP, A.FAIL): frozenset({_ABSENT, S.STARTED, S.READY}),
    (T.STEP, A.RETRY): frozenset({_ABSENT, S.STARTED, S.READY}),
    (T.CONTEXT, A.START): frozenset({_ABSENT}),
    (T.CONTEXT, A.SUCCEED): frozenset({_ABSENT, S.STARTED}),
    (T.CONTEXT, A.FAIL): frozenset({_ABSENT, S.STARTED}),
    (T.WAIT, A.START): frozenset({_ABSENT}),
    (T.WAIT, A.CANCEL): frozenset({S.STARTED}),
    (T.CALLBACK, A.START): frozenset({_ABSENT}),
    (T.CHAINED_INVOKE, A.START): frozenset({_ABSENT}),
}
"""The stored statuses (``None``: not stored) each update may apply to; EXECUTION any."""


@dataclass(frozen=True, slots=True)
class UpdateRefused:
    """Why a batch is refused: the update (index in ``Updates`` and id) and the rule."""

    index: int
    id: str
    problem: str

    @property
    def message(self) -> str:
        """The ``InvalidParameterValueException`` message."""
        return f"Updates[{self.index}] (Id {self.id}): {self.problem}"


def validate_updates(
    stored: Mapping[str, Operation], updates: Sequence[OperationUpdate]
) -> UpdateRefused | None:
    """The first rule ``updates`` break against the ``stored`` operations (by id), or None."""
    return _execution_last(updates) or _ids_and_parents(stored, updates) or _each(stored, updates)


def _execution_last(updates: Sequence[OperationUpdate]) -> UpdateRefused | None:
    ends = [index for index, update in enumerate(updates) if update.type is T.EXECUTION]
    if len(ends) > 1:
        index = ends[1]
        return UpdateRefused(index, updates[index].id, "a batch holds at most one EXECUTION update")
    if ends and ends[0] != len(updates) - 1:
        index = ends[0]
        return UpdateRefused(index, updates[index].id, "the EXECUTION update must be the last")
    return None


def _ids_and_parents(
    stored: Mapping[str, Operation], updates: Sequence[OperationUpdate]
) -> UpdateRefused | None:
    started: dict[str, OperationType] = {}
    last: dict[str, OperationUpdate] = {}
    for index, update in enumerate(updates):
        before = last.get(update.id)
        if before is not None and not (
            before.type in (T.STEP, T.CONTEXT)
            and before.action is A.START
            and update.action is not A.START
        ):
            return UpdateRefused(
                index,
                update.id,
                f"the id is updated twice in the batch ({before.action.value}, then"
                f" {update.action.value})",
            )
        if update.parent_id is not None:
            parent = started.get(update.parent_id)
            if parent is None and update.parent_id in stored:
                parent = stored[update.parent_id].type
            if parent is None:
                return UpdateRefused(
                    index, update.id, f"ParentId {update.parent_id} names no operation"
                )
            if parent is not T.CONTEXT:
                return UpdateRefused(
                    index,
                    update.id,
                    f"ParentId {update.parent_id} names a {parent.value}, not a CONTEXT",
                )
        if update.action is A.START:
            started[update.id] = update.type
        last[update.id] = update
    return None


def _each(
    stored: Mapping[str, Operation], updates: Sequence[OperationUpdate]
) -> UpdateRefused | None:
    for index, update in enumerate(updates):
        problem = _problem(stored.get(update.id), update)
        if problem is not None:
            return UpdateRefused(index, update.id, problem)
    return None


def _problem(current: Operation | None, update: OperationUpdate) -> str | None:
    return (
        _inconsistent(current, update)
        or _oversized(update)
        or _action(current, update)
        or _contents(current, update)
    )


def _inconsistent(current: Operation | None, update: OperationUpdate) -> str | None:
    if current is None:
        return None
    for member, sent, held in (
        ("Type", update.type.value, current.type.value),
        ("SubType", update.sub_type, current.sub_type),
        ("Name", update.name, current.name),
        ("ParentId", update.parent_id, current.parent_id),
    ):
        if sent is not None and sent != held:
            return f"{member} {sent} differs from the stored operation's ({held})"
    return None


def _oversized(update: OperationUpdate) -> str | None:
    if update.error is not None:
        size = len(json.dumps(update.error.to_wire()))
        if size > ERROR_OBJECT_MAX:
            return f"Error is {size} bytes as JSON, over {ERROR_OBJECT_MAX}"
    if update.payload is not None and len(update.payload) > PAYLOAD_MAX:
        return f"Payload is {len(update.payload)} characters, over {PAYLOAD_MAX}"
    return None


def _action(current: Operation | None, update: OperationUpdate) -> str | None:
    kind, action = update.type, update.action
    if action not in ACTIONS[kind]:
        return f"{kind.value} takes no {action.value} action"
    allowed = _FROM.get((kind, action))
    status = None if current is None else current.status
    if allowed is None or status in allowed:
        return None
    held = "not stored" if status is None else status.value
    return f"{kind.value} {action.value} is not allowed on an operation {held}"


def _contents(current: Operation | None, update: OperationUpdate) -> str | None:
    if update.type is T.CHAINED_INVOKE and update.chained_invoke_options is None:
        return "CHAINED_INVOKE START needs ChainedInvokeOptions"
    if update.type is T.STEP and current is None:
        return None
    if update.action is A.FAIL and update.payload is not None:
        return "FAIL carries no Payload"
    if update.action is A.SUCCEED and update.error is not None:
        return "SUCCEED carries no Error"
    return _retry(update) if update.action is A.RETRY else None


def _retry(update: OperationUpdate) -> str | None:
    if update.step_options is None:
        return "RETRY needs StepOptions"
    if update.payload is not None and update.error is not None:
        return "RETRY carries an Error or a Payload, not both"
    return None
