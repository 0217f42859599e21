"""What is kept per request id, so that a redelivered event does not run its handler again.

JetStream delivers at least once: a worker killed after the handler ran but
before the ack, an ack lost while NATS restarts, or an ack-wait that ran out
all hand the same event out again. The worker therefore records, in a
key-value bucket under the request id, each step that must not be repeated:

    {"invocations": N}                     N invocations ended in a function error
    {"invocations": N, "final": {...}}     the outcome is decided; ``final`` holds
                                           the condition, the record and the DLQ reason

and reads it before invoking. A final outcome is never invoked again: the
worker only finishes the delivery (destination, dead-letter queue, ack), whose
publishes carry stable message ids so that JetStream drops repeats. What is
left is the gap between a handler's end and the write of its outcome (a few
milliseconds): a worker killed there runs the handler twice.
"""

import json
from dataclasses import dataclass
from typing import Any

from kappa.asyncq.envelope import DeadLetter
from kappa.asyncq.record import RecordCondition


@dataclass(frozen=True, slots=True)
class Final:
    """A decided outcome, with everything needed to deliver it again."""

    condition: RecordCondition
    record: dict[str, Any]
    dead_letter: DeadLetter | None = None  # set for failures

    @property
    def succeeded(self) -> bool:
        """Whether the event ran successfully."""
        return self.condition is RecordCondition.SUCCESS


@dataclass(frozen=True, slots=True)
class Progress:
    """How far an event got."""

    invocations: int = 0  # invocations that ended in a function error
    final: Final | None = None


def encode(progress: Progress) -> bytes:
    """The bucket value of ``progress``."""
    document: dict[str, Any] = {"invocations": progress.invocations}
    final = progress.final
    if final is not None:
        document["final"] = {"condition": final.condition.value, "record": final.record}
        if final.dead_letter is not None:
            why = final.dead_letter
            document["final"]["deadLetter"] = {
                "condition": why.condition,
                "errorCode": why.error_code,
                "errorMessage": why.error_message,
                "invokeCount": why.invoke_count,
                "deadLetteredMs": why.dead_lettered_ms,
            }
    return json.dumps(document, separators=(",", ":")).encode()


def decode(value: bytes | None) -> Progress:
    """The progress a bucket value holds; none (or unreadable) is no progress."""
    if not value:
        return Progress()
    try:
        document = json.loads(value)
        final = document.get("final")
        return Progress(
            invocations=int(document.get("invocations", 0)),
            final=None
            if final is None
            else Final(
                condition=RecordCondition(final["condition"]),
                record=dict(final["record"]),
                dead_letter=_dead_letter(final.get("deadLetter")),
            ),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return Progress()


def _dead_letter(document: dict[str, Any] | None) -> DeadLetter | None:
    if document is None:
        return None
    return DeadLetter(
        condition=str(document["condition"]),
        error_code=str(document["errorCode"]),
        error_message=str(document["errorMessage"]),
        invoke_count=int(document["invokeCount"]),
        dead_lettered_ms=int(document["deadLetteredMs"]),
    )
