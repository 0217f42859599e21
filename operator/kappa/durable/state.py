"""The log's entries and the state's snapshots as JSON, and folding them (pure).

A log entry or a snapshot comes back from NATS, so it is outside input: its size is bounded before
parsing and every member is read strictly (:mod:`kappa.durable.fields`); a refusal is
a :class:`~kappa.durable.fields.FieldError` naming the member. Operations are written
with their timestamps in milliseconds, as the invocation's event has them.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from kappa.api.function import DURABLE_RETENTION_DAYS_DEFAULT, DURABLE_RETENTION_DAYS_MAX
from kappa.durable.execution import (
    CachedAnswer,
    Execution,
    ExecutionFields,
    InvocationRecord,
    LogEntry,
    apply,
)
from kappa.durable.fields import (
    FieldError,
    TextRule,
    array,
    choice,
    member,
    obj,
    optional_boolean,
    optional_integer,
    optional_text,
    text,
)
from kappa.durable.model import (
    OPERATION_ID,
    PAYLOAD,
    ErrorObject,
    ExecutionStatus,
    Timestamps,
    parse_operations,
)

# The log stream's max_msg_size.
ENTRY_MAX_BYTES: Final = 8 * 1024 * 1024
# Snapshots are written when under 4 MiB (docs/internals/durable.md, "State in JetStream").
SNAPSHOT_MAX_BYTES: Final = 4 * 1024 * 1024
VERSION: Final = 1
_CAUSE: Final = TextRule(1, 64, r"[a-z:-]+")
_INVOCATION: Final = TextRule(1, 64, r"[a-zA-Z0-9-]+")
# A Lambda request id: a UUID here; any printable ASCII token of Lambda's length is read.
_REQUEST_ID: Final = TextRule(1, 128, r"[\x21-\x7E]+")
_CLIENT_TOKEN: Final = TextRule(1, 64, r"[\x21-\x7E]+")
_TIMER_KEY: Final = TextRule(1, 128, r"[a-z-]+/[a-zA-Z0-9_-]*")
_INT_MAX: Final = 2**64 - 1
_TIMERS_MAX: Final = 100_000


def _put(wire: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        wire[key] = value


def _fields_wire(fields: ExecutionFields) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "status": fields.status.value,
        "start": fields.start_ms,
        "tokenSequence": fields.token_sequence,
        "reinvokePending": fields.reinvoke_pending,
        "seen": fields.seen,
        "failedInvocations": fields.failed_invocations,
        "retentionDays": fields.retention_days,
    }
    _put(wire, "deadline", fields.deadline_ms)
    _put(wire, "end", fields.end_ms)
    _put(wire, "result", fields.result)
    _put(wire, "error", None if fields.error is None else fields.error.to_wire())
    _put(wire, "invocation", fields.invocation)
    _put(wire, "invocationStart", fields.invocation_start_ms)
    cached = fields.last_checkpoint
    if cached is not None:
        record: dict[str, Any] = {
            "tokenSequence": cached.token_sequence,
            "operations": list(cached.operations),
            "at": cached.at_ms,
        }
        _put(record, "clientToken", cached.client_token)
        _put(record, "next", cached.next_token_sequence)
        wire["lastCheckpoint"] = record
    return wire


def _invocation_wire(record: InvocationRecord) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "start": record.start_ms,
        "end": record.end_ms,
        "requestId": record.request_id,
    }
    _put(wire, "error", None if record.error is None else record.error.to_wire())
    return wire


def _invocation(value: object, field: str) -> InvocationRecord | None:
    if value is None:
        return None
    raw = obj(value, field)
    error = raw.get("error")
    return InvocationRecord(
        start_ms=_whole(raw.get("start"), member(field, "start")),
        end_ms=_whole(raw.get("end"), member(field, "end")),
        request_id=text(raw.get("requestId"), member(field, "requestId"), _REQUEST_ID),
        error=None if error is None else ErrorObject.from_wire(error, member(field, "error")),
    )


def encode(entry: LogEntry) -> bytes:
    """``entry`` as the log message's body."""
    wire = {
        "v": VERSION,
        "cause": entry.cause,
        "fields": _fields_wire(entry.fields),
        "operations": [op.to_wire(Timestamps.MILLISECONDS) for op in entry.operations],
        "timers": dict(entry.timers),
        "heartbeats": dict(entry.heartbeats),
        "seen": entry.seen,
    }
    _put(wire, "at", entry.at_ms)
    if entry.invocation is not None:
        wire["invocationEnded"] = _invocation_wire(entry.invocation)
    # ASCII: a payload may hold lone surrogates, which UTF-8 cannot encode.
    body = json.dumps(wire, separators=(",", ":")).encode("ascii")
    if len(body) > ENTRY_MAX_BYTES:
        raise ValueError(f"A log entry is at most {ENTRY_MAX_BYTES} bytes.")
    return body


def _whole(value: object, field: str) -> int:
    found = optional_integer(value, field, 0, _INT_MAX)
    if found is None:
        raise FieldError(field, "is required.")
    return found


def _flag(value: object, field: str) -> bool:
    found = optional_boolean(value, field)
    if found is None:
        raise FieldError(field, "is required.")
    return found


def _cached(value: object, field: str) -> CachedAnswer | None:
    if value is None:
        return None
    raw = obj(value, field)
    where = member(field, "operations")
    return CachedAnswer(
        client_token=optional_text(
            raw.get("clientToken"), member(field, "clientToken"), _CLIENT_TOKEN
        ),
        token_sequence=_whole(raw.get("tokenSequence"), member(field, "tokenSequence")),
        next_token_sequence=optional_integer(raw.get("next"), member(field, "next"), 0, _INT_MAX),
        operations=tuple(
            text(item, f"{where}[{i}]", OPERATION_ID)
            for i, item in enumerate(array(raw.get("operations"), where))
        ),
        at_ms=_whole(raw.get("at"), member(field, "at")),
    )


def _fields(value: object, field: str) -> ExecutionFields:
    raw = obj(value, field)

    def at(name: str) -> str:
        return member(field, name)

    error = raw.get("error")
    return ExecutionFields(
        status=choice(raw.get("status"), at("status"), ExecutionStatus),
        start_ms=_whole(raw.get("start"), at("start")),
        deadline_ms=optional_integer(raw.get("deadline"), at("deadline"), 0, _INT_MAX),
        end_ms=optional_integer(raw.get("end"), at("end"), 0, _INT_MAX),
        result=optional_text(raw.get("result"), at("result"), PAYLOAD),
        error=None if error is None else ErrorObject.from_wire(error, at("error")),
        token_sequence=_whole(raw.get("tokenSequence"), at("tokenSequence")),
        invocation=optional_text(raw.get("invocation"), at("invocation"), _INVOCATION),
        invocation_start_ms=optional_integer(
            raw.get("invocationStart"), at("invocationStart"), 0, _INT_MAX
        ),
        reinvoke_pending=_flag(raw.get("reinvokePending"), at("reinvokePending")),
        seen=_whole(raw.get("seen"), at("seen")),
        failed_invocations=_whole(raw.get("failedInvocations"), at("failedInvocations")),
        last_checkpoint=_cached(raw.get("lastCheckpoint"), at("lastCheckpoint")),
        # Entries written before retention was kept have none: the default then.
        retention_days=optional_integer(
            raw.get("retentionDays"), at("retentionDays"), 1, DURABLE_RETENTION_DAYS_MAX
        )
        or DURABLE_RETENTION_DAYS_DEFAULT,
    )


def _counts(value: object, field: str, key: TextRule) -> tuple[tuple[str, int], ...]:
    raw: Mapping[str, Any] = obj(value, field)
    if len(raw) > _TIMERS_MAX:
        raise FieldError(field, f"has more than {_TIMERS_MAX} members.")
    return tuple(
        (key.check(name, field), _whole(count, member(field, name))) for name, count in raw.items()
    )


def decode(body: bytes) -> LogEntry:
    """The log entry of a log message's ``body``, read strictly."""
    raw = _json(body, ENTRY_MAX_BYTES, "entry")
    return LogEntry(
        cause=text(raw.get("cause"), "entry.cause", _CAUSE),
        fields=_fields(raw.get("fields"), "entry.fields"),
        operations=parse_operations(
            raw.get("operations"), "entry.operations", Timestamps.MILLISECONDS
        ),
        timers=_counts(raw.get("timers"), "entry.timers", _TIMER_KEY),
        heartbeats=_counts(raw.get("heartbeats"), "entry.heartbeats", OPERATION_ID),
        seen=_flag(raw.get("seen"), "entry.seen"),
        at_ms=optional_integer(raw.get("at"), "entry.at", 0, _INT_MAX),
        invocation=_invocation(raw.get("invocationEnded"), "entry.invocationEnded"),
    )


def _json(body: bytes, bound: int, field: str) -> Mapping[str, Any]:
    if len(body) > bound:
        raise FieldError(field, f"is larger than {bound} bytes.")
    try:
        wire = json.loads(body)
    except (ValueError, RecursionError):
        raise FieldError(field, "is not valid JSON.") from None
    raw = obj(wire, field)
    if raw.get("v") != VERSION:
        raise FieldError(f"{field}.v", f"must be {VERSION}.")
    return raw


def encode_snapshot(state: Execution) -> bytes | None:
    """``state`` as a snapshot's body; none when it is too large to keep as one."""
    wire = {
        "v": VERSION,
        "sequence": state.sequence,
        "fields": _fields_wire(state.fields),
        "operations": [op.to_wire(Timestamps.MILLISECONDS) for op in state.operations.values()],
        "touched": state.touched,
        "timers": state.timers,
        "heartbeats": state.heartbeats,
    }
    body = json.dumps(wire, separators=(",", ":")).encode("ascii")
    return body if len(body) <= SNAPSHOT_MAX_BYTES else None


def decode_snapshot(body: bytes) -> Execution:
    """The state of a snapshot's ``body``, read strictly."""
    raw = _json(body, SNAPSHOT_MAX_BYTES, "snapshot")
    operations = parse_operations(
        raw.get("operations"), "snapshot.operations", Timestamps.MILLISECONDS
    )
    touched = dict(_counts(raw.get("touched"), "snapshot.touched", OPERATION_ID))
    if set(touched) != {op.id for op in operations}:
        raise FieldError("snapshot.touched", "must name each operation once.")
    return Execution(
        fields=_fields(raw.get("fields"), "snapshot.fields"),
        operations={op.id: op for op in operations},
        touched=touched,
        timers=dict(_counts(raw.get("timers"), "snapshot.timers", _TIMER_KEY)),
        heartbeats=dict(_counts(raw.get("heartbeats"), "snapshot.heartbeats", OPERATION_ID)),
        sequence=_whole(raw.get("sequence"), "snapshot.sequence"),
    )


def fold(snapshot: Execution | None, entries: Iterable[tuple[int, LogEntry]]) -> Execution:
    """The state: ``snapshot`` (none: the start) and the log ``entries`` after it, by sequence."""
    state = snapshot or Execution()
    for sequence, entry in entries:
        if sequence <= state.sequence:
            raise ValueError(f"Log sequence {sequence} is not after {state.sequence}.")
        state = apply(state, entry, sequence)
    return state
