"""Queued events on the wire: subjects, stream names and headers (pure).

Subjects (``P`` is the prefix setting, ``kappa`` by default; namespaces and
Function names are DNS labels, so they are valid NATS tokens)::

    P.events.<namespace>.<function>   stream P-events_<namespace>  (work queue: gone once
                                      acked; one per namespace, made on its first event)
    P.async.<namespace>.<function>    stream P-async  (earlier versions' shared event stream:
                                      only read, until it is empty and removed)
    P.dlq.<namespace>.<function>      stream P-dlq    (kept dlqMaxAge, listed, redriven)
    bucket P-async-progress           per <namespace>.<function>.<request id>: invocations
                                      so far, final outcome

An event's headers::

    Nats-Msg-Id          <namespace>.<function>.<request id>: JetStream drops a second
                         publish of it (a client's retry of the same invocation) within
                         its window; a caller's id reused for another Function, or in
                         another namespace, is another event
    Kappa-Request-Id     the request id the function sees (context.aws_request_id)
    Kappa-Enqueued-Ms    when the gateway accepted it (epoch ms): its age counts from here
    Kappa-Max-Event-Age  the Function's maximumEventAgeSeconds at enqueue time, used
                         only if the Function is gone when the event is offered
    X-Amzn-Trace-Id      the trace the event belongs to, its Parent the gateway's invoke span
                         (docs/tracing.md): the worker's span continues it, and the agent's
                         and the handler's after it; events queued before tracing have none
    Kappa-Redriven-From  the request id of the dead-lettered event it was redriven from

A dead-lettered event is the event alone (Lambda's DLQ message body) with
Lambda's DLQ attributes as headers (``RequestID``, ``ErrorCode``,
``ErrorMessage``) and Kappa's own (``Kappa-Condition``, ``Kappa-Invoke-Count``,
``Kappa-Dead-Lettered-Ms``, plus the event's headers above).
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from kappa.invocation.request_id import UUID_PATTERN

MSG_ID: Final = "Nats-Msg-Id"
REQUEST_ID: Final = "Kappa-Request-Id"
ENQUEUED_MS: Final = "Kappa-Enqueued-Ms"
MAX_EVENT_AGE: Final = "Kappa-Max-Event-Age"
TRACE_ID: Final = "X-Amzn-Trace-Id"
REDRIVEN_FROM: Final = "Kappa-Redriven-From"
DLQ_REQUEST_ID: Final = "RequestID"
DLQ_ERROR_CODE: Final = "ErrorCode"
DLQ_ERROR_MESSAGE: Final = "ErrorMessage"
DLQ_CONDITION: Final = "Kappa-Condition"
DLQ_INVOKE_COUNT: Final = "Kappa-Invoke-Count"
DLQ_DEAD_LETTERED_MS: Final = "Kappa-Dead-Lettered-Ms"
ERROR_MESSAGE_MAX: Final = 1024  # Lambda keeps the first 1 KB of the error message

# The namespace of the request ids of destination invocations (uuid5 of the event's id).
_DESTINATION_IDS: Final = uuid.UUID("5b0c2f2e-4c1a-4f43-9a57-6b1d4a3e9c11")


@dataclass(frozen=True, slots=True)
class Names:
    """Subjects, streams and bucket of one installation (one prefix)."""

    prefix: str = "kappa"

    def event_stream(self, namespace: str) -> str:
        """The work-queue stream of ``namespace``'s events to run.

        ``_`` appears in no prefix and no namespace (both DNS labels), so no two
        installations' or namespaces' names meet.
        """
        return f"{self.prefix}{_NAMESPACE_STREAM}{namespace}"

    def namespace_of_stream(self, stream: str) -> str | None:
        """The namespace whose event stream ``stream`` is; None for any other stream."""
        head = f"{self.prefix}{_NAMESPACE_STREAM}"
        namespace = stream.removeprefix(head)
        return namespace if stream.startswith(head) and namespace else None

    @property
    def legacy_stream(self) -> str:
        """The shared event stream of earlier versions: read until it is empty."""
        return f"{self.prefix}-async"

    @property
    def dlq_stream(self) -> str:
        """The stream of dead-lettered events."""
        return f"{self.prefix}-dlq"

    @property
    def progress_bucket(self) -> str:
        """The key-value bucket of per-request progress."""
        return f"{self.prefix}-async-progress"

    @property
    def event_subjects(self) -> str:
        """Every event subject (of every namespace's stream)."""
        return f"{self.prefix}.events.>"

    @property
    def legacy_subjects(self) -> str:
        """Every subject of the shared event stream of earlier versions."""
        return f"{self.prefix}.async.>"

    @property
    def dlq_subjects(self) -> str:
        """Every dead-letter subject."""
        return f"{self.prefix}.dlq.>"

    def consumer(self, namespace: str) -> str:
        """The consumer of ``namespace``'s events (namespaces are DNS labels: valid names)."""
        return f"ns-{namespace}"

    def event_subject(self, namespace: str, name: str) -> str:
        """The subject of events for ``namespace/name`` (``*``: the whole namespace).

        ``name`` is a Function's, or one of its versions' (``hello.2``): a subject token
        holds no ``.``, so a version's is ``hello_2`` (a Function's name holds no ``_``).
        """
        return f"{self.prefix}.events.{namespace}.{_token(name)}"

    def legacy_subject(self, namespace: str, name: str) -> str:
        """``event_subject`` in the shared event stream of earlier versions."""
        return f"{self.prefix}.async.{namespace}.{_token(name)}"

    def dlq_subject(self, namespace: str, name: str = "*") -> str:
        """The dead-letter subject of ``namespace/name`` (``*``: the whole namespace)."""
        return f"{self.prefix}.dlq.{namespace}.{_token(name)}"

    def destination_allowed(self, namespace: str, subject: str) -> bool:
        """Whether a Function of ``namespace`` may send records to ``subject``.

        Its namespace's own subjects only (``<namespace>.``), never the installation's
        (a namespace named like the prefix would otherwise reach every queue): the
        webhook checks the first at apply time, this holds even when it was bypassed.
        """
        return subject.startswith(f"{namespace}.") and not subject.startswith(f"{self.prefix}.")

    def by_function(self, subjects: Mapping[str, int] | None) -> dict[tuple[str, str], int]:
        """Message counts per subject (a stream's ``state.subjects``) per (namespace, name)."""
        counts: dict[tuple[str, str], int] = {}
        for subject, count in (subjects or {}).items():
            key = self.function_of(subject)
            if key is not None and count:
                counts[key] = counts.get(key, 0) + count
        return counts

    def function_of(self, subject: str) -> tuple[str, str] | None:
        """(namespace, name) of an event or dead-letter subject, or None for another."""
        parts = subject.split(".")
        if len(parts) != 4 or parts[0] != self.prefix or parts[1] not in _KINDS:  # noqa: PLR2004
            return None
        return (parts[2], parts[3].replace(_VERSION_MARK, "."))


_VERSION_MARK: Final = "_"
_NAMESPACE_STREAM: Final = "-events_"
_KINDS: Final = frozenset({"events", "async", "dlq"})


def _token(name: str) -> str:
    """A Function's or version's name as one subject token (``hello.2``: ``hello_2``)."""
    return name.replace(".", _VERSION_MARK)


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted asynchronous invocation."""

    namespace: str
    name: str  # the Function's, or a published version's (``hello.2``: a unit's name)
    request_id: str
    payload: bytes
    enqueued_ms: int
    max_event_age_seconds: int = 21600
    trace_id: str | None = None
    redriven_from: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(namespace, name)."""
        return (self.namespace, self.name)

    @property
    def dedupe_key(self) -> str:
        """``<namespace>.<function>.<request id>``: what duplicates and progress are keyed by.

        The request id alone may come from the caller (``amz-sdk-invocation-id``): keyed by
        it alone, an event of one namespace could pass as another's, already finished.
        """
        return f"{self.namespace}.{self.name}.{self.request_id}"

    def headers(self) -> dict[str, str]:
        """The headers it is published with."""
        headers = {
            MSG_ID: self.dedupe_key,
            REQUEST_ID: self.request_id,
            ENQUEUED_MS: str(self.enqueued_ms),
            MAX_EVENT_AGE: str(self.max_event_age_seconds),
        }
        if self.trace_id:
            headers[TRACE_ID] = self.trace_id
        if self.redriven_from:
            headers[REDRIVEN_FROM] = self.redriven_from
        return headers


class MalformedEventError(ValueError):
    """A message on an event subject that Kappa did not put there (or cannot read)."""


def event_from(names: Names, subject: str, headers: Mapping[str, str] | None, data: bytes) -> Event:
    """The event a queued message holds; MalformedEventError when it is not one."""
    key = names.function_of(subject)
    if key is None:
        raise MalformedEventError(f"{subject!r} is not an event subject")
    headers = headers or {}
    request_id = headers.get(REQUEST_ID, "")
    if not UUID_PATTERN.fullmatch(request_id):
        raise MalformedEventError(f"message on {subject} has no UUID in its {REQUEST_ID} header")
    try:
        enqueued_ms = int(headers.get(ENQUEUED_MS, ""))
        max_age = int(headers.get(MAX_EVENT_AGE, "21600"))
    except ValueError:
        raise MalformedEventError(f"message {request_id} has a malformed header") from None
    return Event(
        namespace=key[0],
        name=key[1],
        request_id=request_id,
        payload=data,
        enqueued_ms=enqueued_ms,
        max_event_age_seconds=max_age,
        trace_id=headers.get(TRACE_ID) or None,
        redriven_from=headers.get(REDRIVEN_FROM) or None,
    )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why an event was dead-lettered."""

    condition: str
    error_code: str
    error_message: str
    invoke_count: int
    dead_lettered_ms: int


def dead_letter_headers(event: Event, why: DeadLetter) -> dict[str, str]:
    """The headers of ``event`` in the dead-letter queue (Lambda's attributes + Kappa's)."""
    headers = event.headers()
    headers[MSG_ID] = f"dlq.{event.dedupe_key}"
    headers.update(
        {
            DLQ_REQUEST_ID: event.request_id,
            DLQ_ERROR_CODE: why.error_code,
            DLQ_ERROR_MESSAGE: _header_text(why.error_message)[:ERROR_MESSAGE_MAX],
            DLQ_CONDITION: why.condition,
            DLQ_INVOKE_COUNT: str(why.invoke_count),
            DLQ_DEAD_LETTERED_MS: str(why.dead_lettered_ms),
        }
    )
    return headers


def _header_text(text: str) -> str:
    # Header values are one line of printable text.
    return " ".join(text.split())


def destination_request_id(request_id: str, condition: str) -> str:
    """The request id of the destination invocation of ``request_id``'s outcome (stable)."""
    return str(uuid.uuid5(_DESTINATION_IDS, f"{request_id}:{condition}"))
