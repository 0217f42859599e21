"""The durable timer: arming timers and wakes in JetStream, and the workers that fire them (shell).

Waits last up to a year, survive gateway and NATS restarts, and fire on any replica
(docs/internals/durable.md, "The durable timer"):

- **Arming** publishes a ``TimerMessage`` to the work-queue stream after the
  transition that needs it is committed. The message id makes a second arming of the
  same timer (a publish sent again, a repair) a duplicate JetStream drops.
- **The workers** (in every gateway replica) read each namespace's consumer. A message
  fetched before it is due is nak'ed for the time left (at most an hour,
  ``timing.nak_delay_ms``); a due one is handed to ``handle`` (which applies it to the
  execution and commits), kept alive with ``in_progress`` meanwhile, and acked once
  ``handle`` returns. A message Kappa did not write is dropped (``term``).
- **Why nothing is lost**: a message stays on disk until acked. A gateway killed with
  a timer in hand: the delivery comes back after ``ack_wait`` to another replica. A
  NATS restart: pending deliveries come back likewise. ``handle`` failing: nak'ed, back
  in a few seconds. A timer is idempotent (generation and state are checked by the
  decider), so a delivery seen twice does nothing the second time.

Namespaces with timers are read from the stream's subjects (one ``STREAM.INFO`` every
few seconds): a namespace's consumer is made on first sight and deleted by NATS after an
hour unused, and since the stream keeps every message not acked, a consumer made again
finds all of them.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from kappa.durable import timer_message
from kappa.durable.timer_message import TimerMessage
from kappa.durable.timing import nak_delay_ms
from kappa.invocation.jetstream import ensure_stream, shared_consumer

log = logging.getLogger("kappa.gateway.durable")

DUPLICATE_WINDOW_SECONDS: Final = 120.0
_FETCH_SECONDS: Final = 1.0
_FETCH_BATCH: Final = 64
_HANDLING_FAILED_SECONDS: Final = 5.0
_TROUBLE_SECONDS: Final = 1.0
_LOOK_SECONDS: Final = 2.0


@dataclass(frozen=True, slots=True)
class TimerSettings:
    """The timer stream's installation: its prefix, copies and delivery bounds."""

    prefix: str = "kappa"
    replicas: int = 1
    ack_wait_seconds: float = 30.0
    # Pending deliveries per namespace: every waiting execution holds one.
    max_pending: int = 100_000
    # Messages in hand at once in this process, over every namespace.
    workers: int = 64


class TimerQueue:
    """Arming timers and wakes on the timer stream (any replica, any time)."""

    def __init__(self, js: JetStreamContext, settings: TimerSettings) -> None:
        self.js = js
        self.settings = settings
        self.stream = timer_message.stream(settings.prefix)

    async def setup(self) -> None:
        """Make (or bring up to date) the stream: safe to call again after a reconnect."""
        config = api.StreamConfig(
            name=self.stream,
            subjects=[timer_message.subjects(self.settings.prefix)],
            retention=api.RetentionPolicy.WORK_QUEUE,
            storage=api.StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            num_replicas=self.settings.replicas,
        )
        await ensure_stream(self.js, config)

    async def arm(self, message: TimerMessage) -> None:
        """Store ``message`` (a second arming of the same timer is dropped as a duplicate)."""
        subject = timer_message.subject(self.settings.prefix, message.namespace, message.function)
        await self.js.publish(
            subject,
            timer_message.encode(message),
            stream=None,
            headers={"Nats-Msg-Id": message.message_id},
        )

    async def namespaces(self) -> set[str]:
        """The namespaces with timers in the stream."""
        head = f"{self.settings.prefix}.durable.timer."
        info = await self.js.stream_info(self.stream, subjects_filter=f"{head}>")
        found = set()
        for name, count in (info.state.subjects or {}).items():
            parts = name.removeprefix(head).split(".")
            if count and len(parts) == 2:  # noqa: PLR2004 - namespace, function
                found.add(parts[0])
        return found

    async def subscribe(self, namespace: str) -> JetStreamContext.PullSubscription:
        """Make (or find) ``namespace``'s consumer and bind to it."""
        name = timer_message.consumer(namespace)
        settings = self.settings
        subject = timer_message.subject(settings.prefix, namespace, "*")
        config = shared_consumer(name, subject, settings.ack_wait_seconds, settings.max_pending)
        await self.js.add_consumer(self.stream, config=config)
        return await self.js.pull_subscribe_bind(durable=name, stream=self.stream)


Handle = Callable[[TimerMessage], Awaitable[None]]


class TimerWorkers:
    """Fetch every namespace's timers; nak the early ones, hand the due ones to ``handle``."""

    def __init__(self, queue: TimerQueue, handle: Handle, now_ms: Callable[[], int]) -> None:
        self._queue = queue
        self._handle = handle
        self._now_ms = now_ms
        self._free = queue.settings.workers
        self._freed = asyncio.Event()
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_hand: dict[int, Msg] = {}
        self._stopping = False

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: a fetch loop per namespace with timers; then let those in hand end."""
        beat = asyncio.create_task(self._keep_alive())
        try:
            while not stop.is_set():
                await self._look()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), _LOOK_SECONDS)
        finally:
            # The flag, not only the cancel, ends the loops: Python 3.11's wait_for (under
            # nats-py's fetch) loses a cancel that meets a message or its own timeout.
            self._stopping = True
            beat.cancel()
            for loop in self._loops.values():
                loop.cancel()
            await asyncio.gather(*self._loops.values(), return_exceptions=True)
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=self._queue.settings.ack_wait_seconds)

    async def _look(self) -> None:
        try:
            namespaces = await self._queue.namespaces()
        except (TimeoutError, nats.errors.Error) as exc:
            log.warning("durable timers: cannot read the timer stream (%s); trying again", exc)
            return
        for namespace in namespaces:
            loop = self._loops.get(namespace)
            if loop is None or loop.done():
                self._loops[namespace] = asyncio.create_task(self._loop(namespace))

    async def _loop(self, namespace: str) -> None:
        subscription: JetStreamContext.PullSubscription | None = None
        try:
            while not self._stopping:
                if subscription is None:
                    try:
                        subscription = await self._queue.subscribe(namespace)
                    except (TimeoutError, nats.errors.Error) as exc:
                        log.warning("durable timers of %s: no consumer (%s)", namespace, exc)
                        await asyncio.sleep(_TROUBLE_SECONDS)
                        continue
                while self._free == 0:
                    self._freed.clear()
                    await self._freed.wait()
                room = min(self._free, _FETCH_BATCH)
                try:
                    messages = await subscription.fetch(room, timeout=_FETCH_SECONDS)
                except TimeoutError:
                    continue  # nothing due in the fetch's time
                except nats.errors.Error as exc:
                    log.warning("durable timers of %s: fetch failed (%s)", namespace, exc)
                    with contextlib.suppress(nats.errors.Error):
                        await subscription.unsubscribe()
                    subscription = None
                    await asyncio.sleep(_TROUBLE_SECONDS)
                    continue
                for message in messages:
                    self._free -= 1
                    task = asyncio.create_task(self._one(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._done)
        finally:
            if subscription is not None:
                with contextlib.suppress(nats.errors.Error):
                    await subscription.unsubscribe()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._free += 1
        self._freed.set()

    async def _keep_alive(self) -> None:
        """Every third of ``ack_wait``: each timer in hand is still being applied."""
        while True:
            await asyncio.sleep(self._queue.settings.ack_wait_seconds / 3)
            for message in list(self._in_hand.values()):
                with contextlib.suppress(TimeoutError, nats.errors.Error):
                    await message.in_progress()

    async def _one(self, message: Msg) -> None:
        try:
            prefix = self._queue.settings.prefix
            parsed = timer_message.decode(prefix, message.subject, message.data)
        except ValueError as exc:
            log.warning("durable timers: dropping a message Kappa did not write: %s", exc)
            with contextlib.suppress(TimeoutError, nats.errors.Error):
                await message.term()
            return
        try:
            delay = nak_delay_ms(parsed.due_ms, self._now_ms())
            if delay > 0:
                await message.nak(delay=delay / 1000)
                return
            self._in_hand[id(message)] = message
            try:
                await self._handle(parsed)
            finally:
                del self._in_hand[id(message)]
            await message.ack()
        except (TimeoutError, nats.errors.Error) as exc:
            # The delivery comes back after ack_wait (or its nak's delay) anyway.
            log.warning("durable timers: %s of %s: NATS failed us (%s)",
                        parsed.message_id, parsed.namespace, exc)  # fmt: skip
        except Exception:
            log.exception("durable timers: applying %s failed; offered again in %.0f s",
                          parsed.message_id, _HANDLING_FAILED_SECONDS)  # fmt: skip
            with contextlib.suppress(TimeoutError, nats.errors.Error):
                await message.nak(delay=_HANDLING_FAILED_SECONDS)
