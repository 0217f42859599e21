"""Durable executions in NATS JetStream: the log, the two buckets, the folded-state cache (shell).

docs/internals/durable.md, "State in JetStream":

- the stream ``<prefix>-durable-log`` holds one message per accepted transition, on the
  execution's own subject ``<prefix>.durable.log.<ns>.<fn>.<name>``; an append carries
  ``Nats-Expected-Last-Subject-Sequence`` = the sequence the state was folded to, so
  transitions of one execution are serialised by JetStream, from any replica: a
  conflict re-reads the tail and decides again (:meth:`DurableStore.transition`);
- the bucket ``<prefix>-durable-executions`` keeps each execution's summary (its
  identity, and where it stands as of a log sequence); ``create`` of its key makes a
  name unique. It is written after the append (the commit point), best effort: a reader
  that finds the log ahead of it rewrites it;
- the bucket ``<prefix>-durable-snapshots`` keeps the folded state every 256 entries
  (when under 4 MiB), so a load reads the snapshot and the log after it.

Each store keeps recently used executions folded in memory (an LRU bounded by their
size, ``KAPPA_DURABLE_CACHE_BYTES``), validated by the subject's last message at each
load: a hit costs that one read, and an execution another replica moved on is folded
forward from the cached state.

**State size** is measured as the snapshot would write it: the JSON of each operation's
latest record, plus a fixed allowance for the execution's own fields; a transition that
would take it past ``KAPPA_DURABLE_STATE_MAX_BYTES`` is refused (:class:`StateTooLargeError`)
before anything is appended.

The store does not own the connection (the gateway process connects as the async queue
does); NATS timeouts and lost connections come out as :class:`StoreUnavailable`, naming
the step, which the gateway answers 503; :meth:`DurableStore.setup` is safe to call
again once NATS is back.
"""

import contextlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue

from kappa.api.names import validate_dns1123_label
from kappa.durable import state as log_state
from kappa.durable import summary as summaries
from kappa.durable.decider import RESOURCE_NOT_FOUND, Decision, Refusal
from kappa.durable.execution import Execution, LogEntry
from kappa.durable.fields import FieldError
from kappa.durable.model import Timestamps
from kappa.durable.settings import DurableSettings
from kappa.durable.summary import Identity, Summary, summarise
from kappa.invocation.jetstream import ensure_bucket, ensure_stream

log = logging.getLogger("kappa.gateway.durable")

# The log's bounds (docs/internals/durable.md): 366 days of execution and 90 of retention.
LOG_MAX_AGE_SECONDS: Final = 456 * 24 * 3600.0
LOG_MAX_MSG_BYTES: Final = log_state.ENTRY_MAX_BYTES
# An appended entry leaves room for its headers in the message (max_msg_size counts them).
ENTRY_LIMIT: Final = LOG_MAX_MSG_BYTES - 4096
SNAPSHOT_EVERY: Final = 256
# Appends that met another replica's transition before giving up.
TRANSITION_ATTEMPTS: Final = 16
# What the execution's own fields take in the state, beyond its operations.
FIELDS_ALLOWANCE: Final = 4096
HISTORY_MAX: Final = 10_000
LIST_MAX: Final = 100_000
_WATCH_SECONDS: Final = 5.0
_EXPECTED_LAST_SUBJECT_SEQUENCE: Final = "Nats-Expected-Last-Subject-Sequence"
# JetStream's "wrong last sequence" error code.
_WRONG_LAST_SEQUENCE: Final = 10071
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UNAVAILABLE: Final = (
    nats.errors.TimeoutError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.NoRespondersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,
    TimeoutError,
    OSError,
)


class StoreUnavailable(Exception):  # noqa: N818 - the name the gateway answers 503 for
    """NATS did not answer (a timeout, a lost connection): the message names the step."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"The durable store is unavailable ({step}): {cause!r}")
        self.step = step


class StateTooLargeError(Exception):
    """A transition would take an execution's state past ``KAPPA_DURABLE_STATE_MAX_BYTES``."""


class TransitionConflictError(Exception):
    """Other replicas kept appending to the execution: no transition landed after many tries."""


@dataclass(frozen=True, slots=True)
class ExecutionKey:
    """Which execution: its Function's namespace and name, and its own name."""

    namespace: str
    function: str
    name: str

    def __post_init__(self) -> None:
        for part, value in (("namespace", self.namespace), ("function", self.function)):
            try:
                validate_dns1123_label(value)
            except ValueError as exc:
                raise ValueError(f"The execution's {part}: {exc}") from None
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"The execution's name {self.name!r} must be 1 to 64 of [A-Za-z0-9_-]."
            )

    @property
    def token(self) -> str:
        """The execution's subject tokens and bucket key: ``<ns>.<fn>.<name>``."""
        return f"{self.namespace}.{self.function}.{self.name}"


@dataclass(frozen=True, slots=True)
class Created:
    """The execution was started: its first state and summary."""

    state: Execution
    summary: Summary


@dataclass(frozen=True, slots=True)
class AlreadyStarted:
    """An execution of that name exists (the caller compares its input hash)."""

    summary: Summary


@dataclass(frozen=True, slots=True)
class Loaded:
    """An execution's identity and its folded state."""

    identity: Identity
    state: Execution


@dataclass(frozen=True, slots=True)
class Committed:
    """The decision taken, and the state once its entry (if any) was appended."""

    decision: Decision
    state: Execution


def _operation_bytes(entry_operations: object) -> int:
    return len(json.dumps(entry_operations, separators=(",", ":")))


@dataclass
class Folded:
    """A folded state, its size (its operations' sizes summed), entries since the last snapshot."""

    identity: Identity
    state: Execution
    sizes: dict[str, int] = field(default_factory=dict)
    size: int = FIELDS_ALLOWANCE
    since_snapshot: int = 0

    def measure(self) -> None:
        """Size the whole state (after a snapshot is read)."""
        self.sizes = {
            op.id: _operation_bytes(op.to_wire(Timestamps.MILLISECONDS))
            for op in self.state.operations.values()
        }
        self.size = FIELDS_ALLOWANCE + sum(self.sizes.values())

    def size_after(self, entry: LogEntry) -> tuple[int, dict[str, int]]:
        """The size the state would have after ``entry``, and its operations' new sizes."""
        changed = {
            op.id: _operation_bytes(op.to_wire(Timestamps.MILLISECONDS)) for op in entry.operations
        }
        grown = sum(size - self.sizes.get(op, 0) for op, size in changed.items())
        return self.size + grown, changed

    def advance(self, state: Execution, size: int, changed: dict[str, int]) -> None:
        """Move on to ``state``, one entry later."""
        self.state = state
        self.size = size
        self.sizes.update(changed)
        self.since_snapshot += 1

    def apply(self, entries: list[tuple[int, LogEntry]]) -> None:
        """Fold ``entries`` (the log after the state) in.

        Entries the state already holds are passed over: two readers of one cached state
        both read the tail after it, and the first to come back folds it in.
        """
        for sequence, entry in entries:
            if sequence <= self.state.sequence:
                continue
            size, changed = self.size_after(entry)
            self.advance(log_state.fold(self.state, [(sequence, entry)]), size, changed)


class StateCache:
    """Folded states by execution, least recently used dropped first past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[str, Folded] = OrderedDict()
        self._charged: dict[str, int] = {}
        self._total = 0

    def get(self, token: str) -> Folded | None:
        """The folded state kept for ``token``, now the most recently used."""
        found = self._items.get(token)
        if found is not None:
            self._items.move_to_end(token)
        return found

    def put(self, token: str, folded: Folded) -> None:
        """Keep ``folded`` (again, after it changed) as the most recently used."""
        self.drop(token)
        self._items[token] = folded
        self._charged[token] = folded.size
        self._total += folded.size
        while self._items and self._total > self.limit:
            oldest = next(iter(self._items))
            self.drop(oldest)

    def drop(self, token: str) -> None:
        """Forget ``token``'s state."""
        if self._items.pop(token, None) is not None:
            self._total -= self._charged.pop(token)

    def __len__(self) -> int:
        return len(self._items)


@contextlib.contextmanager
def _step(name: str) -> Iterator[None]:
    """Turn NATS being away into :class:`StoreUnavailable` naming ``name``."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise StoreUnavailable(name, exc) from exc


class DurableStore:
    """Durable executions in JetStream: create, load, transition, summaries, history, purge."""

    def __init__(self, js: JetStreamContext, settings: DurableSettings) -> None:
        self.js = js
        self.settings = settings
        prefix = settings.prefix
        self.stream = f"{prefix}-durable-log"
        self.executions_bucket = f"{prefix}-durable-executions"
        self.snapshots_bucket = f"{prefix}-durable-snapshots"
        self._subjects = f"{prefix}.durable.log"
        self._cache = StateCache(settings.cache_bytes)
        self._executions: KeyValue | None = None
        self._snapshots: KeyValue | None = None

    def subject(self, key: ExecutionKey) -> str:
        """The log subject of ``key``'s execution."""
        return f"{self._subjects}.{key.token}"

    async def setup(self) -> None:
        """Make (or bring up to date) the log stream and the two buckets; safe to call again."""
        replicas = self.settings.replicas
        config = api.StreamConfig(
            name=self.stream,
            subjects=[f"{self._subjects}.>"],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            max_age=LOG_MAX_AGE_SECONDS,
            max_msg_size=LOG_MAX_MSG_BYTES,
            num_replicas=replicas,
        )
        with _step("setting up the log stream"):
            await ensure_stream(self.js, config)
        with _step("setting up the executions bucket"):
            self._executions = await ensure_bucket(
                self.js,
                self.executions_bucket,
                replicas,
                history=1,
                storage=api.StorageType.FILE,
                max_value_size=summaries.SUMMARY_MAX_BYTES,
            )
        with _step("setting up the snapshots bucket"):
            self._snapshots = await ensure_bucket(
                self.js,
                self.snapshots_bucket,
                replicas,
                history=1,
                storage=api.StorageType.FILE,
                max_value_size=log_state.SNAPSHOT_MAX_BYTES,
            )

    def _buckets(self) -> tuple[KeyValue, KeyValue]:
        if self._executions is None or self._snapshots is None:
            raise RuntimeError("DurableStore.setup() has not run.")
        return self._executions, self._snapshots

    # Creating.

    async def create(
        self, key: ExecutionKey, identity: Identity, decision: Decision
    ) -> Created | AlreadyStarted:
        """Start an execution with ``decision`` (``decider.start``'s), unless its name exists."""
        executions, _ = self._buckets()
        if decision.entry is None:
            raise ValueError("A start decision has an entry.")
        body = self._encoded(decision.entry)
        first = summaries.encode(summarise(identity, decision.commit(0)))
        with _step("creating the execution's summary"):
            try:
                await executions.create(key.token, first)
            except nats.js.errors.KeyWrongLastSequenceError:
                existing = await self._take_over(key, first)
                if existing is not None:
                    return AlreadyStarted(existing)
        with _step("appending the execution's first entry"):
            sequence = await self._append(key, body, 0)
        if sequence is None:
            # Another start of the name took the log over at the same moment.
            raise TransitionConflictError(f"Two starts of {key.token} met; its log is the other's.")
        state = decision.commit(sequence)
        folded = Folded(identity, state)
        folded.measure()
        folded.since_snapshot = 1
        self._cache.put(key.token, folded)
        summary = await self._write_summary(key, folded)
        return Created(state, summary)

    async def _take_over(self, key: ExecutionKey, first: bytes) -> Summary | None:
        """The existing execution of ``key``'s name; none when this start took over its key.

        A start that died between its two writes left a summary at log sequence 0 and no
        log: the next start of the name takes the key over.
        """
        executions, _ = self._buckets()
        with _step("reading the execution's summary"):
            try:
                entry = await executions.get(key.token)
            except nats.js.errors.KeyNotFoundError:
                entry = None
        if entry is None:  # deleted since: a purge under way
            raise TransitionConflictError(f"{key.token} is being purged; start it again.")
        existing = summaries.decode(entry.value or b"")
        if existing.log_sequence > 0:
            return existing
        if await self._last_sequence(key) > 0:
            return await self.summary(key)
        with _step("taking over a start that did not finish"):
            try:
                await executions.update(key.token, first, last=entry.revision)
            except nats.js.errors.KeyWrongLastSequenceError:
                return await self.summary(key)
        return None

    # Reading.

    async def _last_sequence(self, key: ExecutionKey) -> int:
        """The sequence of the subject's last entry (0: none)."""
        with _step("reading the log's last entry"):
            try:
                message = await self.js.get_last_msg(self.stream, self.subject(key))
            except nats.js.errors.NotFoundError:
                return 0
        return message.seq or 0

    async def _tail(
        self, key: ExecutionKey, after: int, limit: int = 2**63
    ) -> list[tuple[int, LogEntry]]:
        """Up to ``limit`` entries of ``key``'s log after sequence ``after``."""
        found: list[tuple[int, LogEntry]] = []
        sequence = after + 1
        with _step("reading the log"):
            while len(found) < limit:
                try:
                    message = await self.js.get_msg(
                        self.stream, seq=sequence, subject=self.subject(key), next=True
                    )
                except nats.js.errors.NotFoundError:
                    break
                if not message.seq:
                    break
                found.append((message.seq, log_state.decode(message.data or b"")))
                sequence = message.seq + 1
        return found

    async def _stored_summary(self, key: ExecutionKey) -> Summary | None:
        executions, _ = self._buckets()
        with _step("reading the execution's summary"):
            try:
                entry = await executions.get(key.token)
            except nats.js.errors.KeyNotFoundError:
                return None
        return summaries.decode(entry.value or b"")

    async def _snapshot(self, key: ExecutionKey, last: int) -> Execution | None:
        _, snapshots = self._buckets()
        with _step("reading the execution's snapshot"):
            try:
                entry = await snapshots.get(key.token)
            except nats.js.errors.KeyNotFoundError:
                return None
        try:
            snapshot = log_state.decode_snapshot(entry.value or b"")
        except FieldError as exc:
            log.warning("durable snapshot of %s unreadable (%s); folding the log", key.token, exc)
            return None
        # A snapshot past the log is not this log's (its purge did not finish).
        return snapshot if snapshot.sequence <= last else None

    async def _folded(self, key: ExecutionKey) -> Folded | None:
        """The execution folded up to the log's last entry (cache, snapshot, tail)."""
        last = await self._last_sequence(key)
        cached = self._cache.get(key.token)
        if cached is not None and cached.state.sequence <= last:
            tail = (
                await self._tail(key, cached.state.sequence) if cached.state.sequence < last else []
            )
            # A start in the tail: the execution was purged and started again elsewhere.
            if not any(entry.cause == "start" for _, entry in tail):
                cached.apply(tail)
                self._cache.put(key.token, cached)
                return cached
        self._cache.drop(key.token)
        summary = await self._stored_summary(key)
        if summary is None:
            return None
        folded = Folded(summary.identity, Execution())
        snapshot = await self._snapshot(key, last)
        if snapshot is not None:
            folded.state = snapshot
        folded.measure()
        if last > folded.state.sequence:
            folded.apply(await self._tail(key, folded.state.sequence))
        self._cache.put(key.token, folded)
        if summary.log_sequence < folded.state.sequence:
            await self._write_summary(key, folded)  # it lagged the log: repaired
        return folded

    async def load(self, key: ExecutionKey) -> Loaded | None:
        """The execution's identity and state folded to the log's end; none when there is none."""
        folded = await self._folded(key)
        return None if folded is None else Loaded(folded.identity, folded.state)

    async def summary(self, key: ExecutionKey) -> Summary | None:
        """The execution's summary, repaired first when it lags the log."""
        stored = await self._stored_summary(key)
        if stored is None:
            return None
        if stored.log_sequence >= await self._last_sequence(key):
            return stored
        folded = await self._folded(key)
        return None if folded is None else summarise(folded.identity, folded.state)

    async def summaries(
        self, namespace: str, function: str, limit: int = LIST_MAX
    ) -> list[Summary]:
        """The summaries of ``function``'s executions (at most ``limit``), as stored."""
        key = ExecutionKey(namespace, function, "x")  # validates the two names
        executions, _ = self._buckets()
        found: list[Summary] = []
        with _step("listing the executions"):
            watcher = await executions.watch(
                f"{key.namespace}.{key.function}.*", ignore_deletes=True
            )
            try:
                while len(found) < limit:
                    entry = await watcher.updates(timeout=_WATCH_SECONDS)  # type: ignore[no-untyped-call]
                    if entry is None:
                        break
                    try:
                        found.append(summaries.decode(entry.value or b""))
                    except FieldError as exc:
                        log.warning("durable summary %s unreadable: %s", entry.key, exc)
            finally:
                await watcher.stop()  # type: ignore[no-untyped-call]
        return found

    async def entries(
        self, key: ExecutionKey, after: int = 0, limit: int = 1000
    ) -> list[tuple[int, LogEntry]]:
        """The log entries of ``key`` after sequence ``after``, at most ``limit`` (history)."""
        if not 1 <= limit <= HISTORY_MAX:
            raise ValueError(f"limit must be from 1 to {HISTORY_MAX}.")
        return await self._tail(key, after, limit)

    # Changing.

    def _encoded(self, entry: LogEntry) -> bytes:
        try:
            body = log_state.encode(entry)
        except ValueError:
            body = b""
        if not body or len(body) > ENTRY_LIMIT:
            raise StateTooLargeError(f"A transition's log entry is over {ENTRY_LIMIT} bytes.")
        return body

    async def _append(self, key: ExecutionKey, body: bytes, expected: int) -> int | None:
        """Append ``body`` after log sequence ``expected``; its sequence, or none on a conflict."""
        headers = {_EXPECTED_LAST_SUBJECT_SEQUENCE: str(expected)}
        try:
            ack = await self.js.publish(
                self.subject(key), body, stream=self.stream, headers=headers
            )
        except nats.js.errors.APIError as exc:
            if exc.err_code == _WRONG_LAST_SEQUENCE:
                return None
            raise
        return ack.seq

    async def transition(
        self, key: ExecutionKey, decide: Callable[[Execution], Decision | Refusal]
    ) -> Committed | Refusal:
        """Load, ``decide``, append its entry; on a conflict, re-read and decide again."""
        for _ in range(TRANSITION_ATTEMPTS):
            folded = await self._folded(key)
            if folded is None:
                return Refusal(RESOURCE_NOT_FOUND, "The durable execution was not found.")
            decision = decide(folded.state)
            if isinstance(decision, Refusal):
                return decision
            if decision.entry is None:
                return Committed(decision, folded.state)
            size, changed = folded.size_after(decision.entry)
            if size > self.settings.state_max_bytes:
                raise StateTooLargeError(
                    f"The execution's state would be {size} bytes, over "
                    f"KAPPA_DURABLE_STATE_MAX_BYTES ({self.settings.state_max_bytes})."
                )
            body = self._encoded(decision.entry)
            with _step("appending to the log"):
                sequence = await self._append(key, body, folded.state.sequence)
            if sequence is None:
                continue  # another replica's transition came first: decide again on it
            state = decision.commit(sequence)
            folded.advance(state, size, changed)
            self._cache.put(key.token, folded)
            await self._write_summary(key, folded)
            await self._write_snapshot(key, folded)
            return Committed(decision, state)
        raise TransitionConflictError(
            f"{TRANSITION_ATTEMPTS} transitions of {key.token} met other replicas' appends."
        )

    async def _write_summary(self, key: ExecutionKey, folded: Folded) -> Summary:
        """Write the summary (best effort: the log is the truth, and readers repair it)."""
        executions, _ = self._buckets()
        summary = summarise(folded.identity, folded.state)
        try:
            await executions.put(key.token, summaries.encode(summary))
        except (*_UNAVAILABLE, nats.js.errors.Error) as exc:
            log.warning("durable summary of %s not written: %r", key.token, exc)
        return summary

    async def _write_snapshot(self, key: ExecutionKey, folded: Folded) -> None:
        if folded.since_snapshot < SNAPSHOT_EVERY:
            return
        body = log_state.encode_snapshot(folded.state)
        if body is None:
            return  # over 4 MiB: loads fold the log from the older snapshot
        _, snapshots = self._buckets()
        try:
            await snapshots.put(key.token, body)
        except (*_UNAVAILABLE, nats.js.errors.Error) as exc:
            log.warning("durable snapshot of %s not written: %r", key.token, exc)
            return
        folded.since_snapshot = 0

    async def purge(self, key: ExecutionKey) -> None:
        """Remove the execution: its log, then its snapshot and summary; forget it here."""
        executions, snapshots = self._buckets()
        self._cache.drop(key.token)
        with _step("purging the log"):
            await self.js.purge_stream(self.stream, subject=self.subject(key))
        with _step("deleting the execution's keys"):
            await snapshots.delete(key.token)
            await executions.delete(key.token)
