"""Bounded enqueues of a namespace in rounds of conditional publishes (shell).

For a namespace with ``maxQueuedEvents`` or ``maxQueuedBytes``, this process's enqueues
wait in one line per namespace. A round takes up to ``CHAIN`` of them, reads the
namespace's stream once (messages, bytes, last sequence L), decides them in order
(``bound.chain``: each admitted event counts for the ones after it) and publishes the
admitted ones at once, expecting L, L+1, … and, after the first, the previous admitted
event as the last stored (``Nats-Expected-Last-Msg-Id``): one connection's publishes
are stored in the order they are sent, so the whole chain is stored if nothing else was
meanwhile. JetStream refuses a publish whose expectations do not hold (10071, 10070):
another replica stored an event in between (or a duplicate in the chain stored
nothing), and the refused event and every later one of the chain (each expected the one
before it) go to the front of the line for the next round, read afresh. What is stored
is always what a round decided on, so the bound is never passed.

One round at a time per namespace; the line is dropped once empty.
"""

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from nats.js.api import PubAck

from kappa.asyncq.bound import QueueBound, Queued, Refusal, chain
from kappa.asyncq.envelope import Event
from kappa.asyncq.publisher import EnqueueError, SequenceMovedError

CHAIN: Final = 16  # conditional publishes in flight per namespace and process
# Rounds one event may be refused in before it gives up (500): each refusal means
# another event was stored meanwhile, so the namespace moves on.
ROUNDS: Final = 64


class RefusedError(Exception):
    """The event does not fit its namespace's bound (``refusal`` says which and why)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


@dataclass(slots=True)
class _Waiting:
    event: Event
    done: asyncio.Future[PubAck]
    rounds: int = 0


@dataclass(slots=True)
class _Line:
    waiting: list[_Waiting] = field(default_factory=list)


Read = Callable[[str], Awaitable[Queued]]  # the namespace's stream now
# Expecting that last sequence, and that event (None: any) the last stored.
Publish = Callable[[Event, int, Event | None], Awaitable[PubAck]]
Size = Callable[[Event, int, Event | None], int]  # the event's stored size, so published
BoundOf = Callable[[str], QueueBound]  # the namespace's bound now


class Chains:
    """This process's lines of bounded enqueues, one per namespace in use."""

    def __init__(self, read: Read, publish: Publish, size: Size, bound: BoundOf) -> None:
        self._read = read
        self._publish = publish
        self._size = size
        self._bound = bound
        self._lines: dict[str, _Line] = {}
        self._rounds: set[asyncio.Task[None]] = set()

    async def enqueue(self, event: Event) -> PubAck:
        """Store ``event`` within its namespace's bound; RefusedError, or EnqueueError."""
        waiting = _Waiting(event, asyncio.get_running_loop().create_future())
        line = self._lines.get(event.namespace)
        if line is None:
            line = self._lines[event.namespace] = _Line()
            task = asyncio.ensure_future(self._run(event.namespace, line))
            self._rounds.add(task)
            task.add_done_callback(self._rounds.discard)
        line.waiting.append(waiting)
        return await waiting.done

    async def _run(self, namespace: str, line: _Line) -> None:
        batch: list[_Waiting] = []
        try:
            while line.waiting:
                batch = [w for w in line.waiting[:CHAIN] if not w.done.done()]
                del line.waiting[:CHAIN]
                if batch:
                    line.waiting[:0] = await self._round(namespace, batch)
        except BaseException as exc:  # a bug or cancellation: no caller is left waiting
            failure = exc if isinstance(exc, Exception) else EnqueueError("stopping")
            for waiting in [*batch, *line.waiting]:
                _settle(waiting, failure)
            raise
        finally:
            del self._lines[namespace]

    async def _round(self, namespace: str, batch: list[_Waiting]) -> list[_Waiting]:
        """One read, the decisions, the admitted publishes; the events to try again."""
        bound = self._bound(namespace)
        try:
            queued = await self._read(namespace)
        except EnqueueError as exc:
            for waiting in batch:
                _settle(waiting, exc)
            return []

        def size_at(event: Event, sequence: int, previous: int | None) -> int:
            return self._size(event, sequence, None if previous is None else batch[previous].event)

        sizes = [functools.partial(size_at, waiting.event) for waiting in batch]
        admitted: list[tuple[_Waiting, int, Event | None]] = []
        for waiting, decided in zip(batch, chain(namespace, bound, queued, sizes), strict=True):
            if isinstance(decided, Refusal):
                _settle(waiting, RefusedError(decided))
            else:
                previous = admitted[-1][0].event if admitted else None
                admitted.append((waiting, decided, previous))
        answers = await asyncio.gather(
            *(self._publish(w.event, sequence, previous) for w, sequence, previous in admitted),
            return_exceptions=True,
        )
        again: list[_Waiting] = []
        for (waiting, _, _), answer in zip(admitted, answers, strict=True):
            if isinstance(answer, SequenceMovedError):
                waiting.rounds += 1
                if waiting.rounds < ROUNDS:
                    again.append(waiting)
                else:
                    _settle(waiting, EnqueueError(f"{namespace}'s queue kept changing"))
                continue
            _settle(waiting, answer)
        return again


def _settle(waiting: _Waiting, outcome: PubAck | BaseException) -> None:
    """Answer the caller (unless it went away meanwhile)."""
    if waiting.done.done():
        return
    if isinstance(outcome, BaseException):
        waiting.done.set_exception(outcome)
    else:
        waiting.done.set_result(outcome)
