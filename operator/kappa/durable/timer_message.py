"""The messages of the durable timer stream: names, the wire form, the duplicate key (pure).

A message is one armed timer of one execution (``Timer``: what it does, on which
operation, when, its generation) or a **wake** (invoke the execution at ``due_ms``).
It lives on ``<prefix>.durable.timer.<namespace>.<function>`` in the work-queue stream
``<prefix>-durable-timers`` until a worker has applied it; each namespace has its own
consumer, ``durable-ns-<namespace>``, shared by every gateway replica.

The message id (JetStream's duplicate window drops a second publish of it) names the
namespace and Function too: the stream is shared, and execution names are unique per
Function only. A timer's id carries its generation, so arming the same timer twice (a
publish sent again after a timeout, a repair after a crash) stores it once; a wake's
carries a fresh nonce, since two wakes of one execution are both wanted (the second
finds the invocation of the first in flight and only marks ``reinvoke_pending``).
"""

import json
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.names import validate_dns1123_label
from kappa.durable import fields
from kappa.durable.arns import EXECUTION_NAME
from kappa.durable.decider import Timer
from kappa.durable.execution import TimerKind
from kappa.durable.fields import FieldError, TextRule
from kappa.durable.model import OPERATION_ID

# A message is a handful of short fields: anything longer is not Kappa's.
MESSAGE_MAX_BYTES: Final = 1024
WAKE: Final = "wake"
_NONCE: Final = TextRule(1, 64, r"[a-zA-Z0-9_-]+")
_GENERATION_MAX: Final = 2**53


def stream(prefix: str) -> str:
    """The work-queue stream of every namespace's timers."""
    return f"{prefix}-durable-timers"


def subjects(prefix: str) -> str:
    """Every timer subject."""
    return f"{prefix}.durable.timer.>"


def subject(prefix: str, namespace: str, function: str) -> str:
    """The subject of ``namespace/function``'s timers (``*``: the whole namespace)."""
    return f"{prefix}.durable.timer.{namespace}.{function}"


def consumer(namespace: str) -> str:
    """The consumer of ``namespace``'s timers (a DNS label: a valid consumer name)."""
    return f"durable-ns-{namespace}"


def namespace_of_consumer(name: str) -> str | None:
    """The namespace whose timer consumer ``name`` is; None for any other name."""
    namespace = name.removeprefix("durable-ns-")
    return namespace if name.startswith("durable-ns-") and namespace else None


@dataclass(frozen=True, slots=True)
class TimerMessage:
    """One message: ``timer`` of an execution, or a wake (``timer`` None) with its nonce."""

    namespace: str
    function: str
    execution: str
    due_ms: int
    timer: Timer | None = None
    nonce: str = ""

    def __post_init__(self) -> None:
        validate_dns1123_label(self.namespace)
        validate_dns1123_label(self.function)
        EXECUTION_NAME.check(self.execution, "execution")
        if (self.timer is None) == (not self.nonce):
            raise ValueError("a timer message is a timer, or a wake with a nonce: not both")
        if self.nonce:
            _NONCE.check(self.nonce, "nonce")

    @property
    def message_id(self) -> str:
        """The duplicate key: the same timer of the same generation is stored once."""
        head = f"{self.namespace}.{self.function}.{self.execution}"
        if self.timer is None:
            return f"{head}.{WAKE}.{self.nonce}"
        timer = self.timer
        return f"{head}.{timer.kind.value}.{timer.operation or ''}.{timer.generation}"


def encode(message: TimerMessage) -> bytes:
    """The message's body (the subject carries the namespace and the Function)."""
    wire: dict[str, Any] = {"exec": message.execution, "due": message.due_ms}
    if message.timer is None:
        wire["kind"] = WAKE
        wire["nonce"] = message.nonce
    else:
        wire["kind"] = message.timer.kind.value
        wire["gen"] = message.timer.generation
        if message.timer.operation is not None:
            wire["op"] = message.timer.operation
    return json.dumps(wire, separators=(",", ":")).encode()


def decode(prefix: str, subject_: str, body: bytes) -> TimerMessage:
    """The message on ``subject_`` with ``body``; ValueError naming what is wrong.

    Messages come from the stream, which only gateways publish to; still, nothing is
    trusted: a message Kappa did not write is refused here and dropped by the worker.
    """
    head = f"{prefix}.durable.timer."
    parts = subject_.removeprefix(head).split(".")
    if not subject_.startswith(head) or len(parts) != 2:  # noqa: PLR2004 - namespace, function
        raise ValueError(f"{subject_!r} is not a durable timer subject")
    namespace, function = parts
    if len(body) > MESSAGE_MAX_BYTES:
        raise ValueError(f"a timer message is at most {MESSAGE_MAX_BYTES} bytes, not {len(body)}")
    try:
        wire = fields.obj(json.loads(body), "message")
        execution = fields.text(wire.get("exec"), "exec", EXECUTION_NAME)
        due = fields.optional_integer(wire.get("due"), "due", 0, fields.TIMESTAMP_MAX_MS)
        if due is None:
            raise FieldError("due", "is required.")
        kind = wire.get("kind")
        if kind == WAKE:
            nonce = fields.text(wire.get("nonce"), "nonce", _NONCE)
            return TimerMessage(namespace, function, execution, due, nonce=nonce)
        timer_kind = fields.choice(kind, "kind", TimerKind)
        operation = fields.optional_text(wire.get("op"), "op", OPERATION_ID)
        generation = fields.optional_integer(wire.get("gen"), "gen", 1, _GENERATION_MAX)
        if generation is None:
            raise FieldError("gen", "is required.")
        timer = Timer(timer_kind, operation, due, generation)
        return TimerMessage(namespace, function, execution, due, timer=timer)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"a timer message is JSON: {exc}") from None
