"""The durable service: what the gateway's durable routes and the invoker call (a shell).

Each call reads its request strictly (``durable/fields.py``, ``model.py``, ``arns.py``),
verifies a checkpoint token or callback id before it reads any state
(``durable/tokens.py``), and applies one transition through the store
(``DurableStore.transition``: load, decide with the pure decider, append; re-decided on a
conflict). Checkpoint updates pass ``durable/validate.py`` first, once the token is known
to be the current one. Refusals are Lambda's errors (``GatewayError``), so the gateway
renders them as they are; an unreachable NATS is 503 ``ServiceException``, never a 4xx
(the SDK fails an execution for good on a 4xx).

The actions a transition asks for (``ArmTimer``, ``Wake``, ``Ended``, ``Purge``) are
handed to ``on_actions`` once the transition is committed, and awaited: the gateway's
runner (``durable/runner.py``) arms them on the timer stream before the call that caused
them is answered. Without a runner (tests of the API alone) the default keeps the
latest ones in :attr:`DurableService.actions` (bounded) and logs them. ``start``,
``invoke`` and ``invocation_ended`` also return them.

The durable key: the gateway's ``KAPPA_DURABLE_KEYS_DIR`` names a directory (the
``kappa-durable-keys`` Secret mounted as files) holding ``current`` and, while a rotation
is under way, ``previous``; each file's bytes are a key of at least 32 bytes (:func:`load_keys`).
"""

import asyncio
import hashlib
import json
import logging
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import nats
import nats.aio.client
import nats.errors

from kappa.api.function import DURABLE_RETENTION_DAYS_DEFAULT
from kappa.durable import decider, history, pages
from kappa.durable import settings as durable_settings
from kappa.durable.arns import EXECUTION_NAME, ExecutionArn, execution_arn, parse_execution_arn
from kappa.durable.decider import (
    Action,
    CallbackOutcome,
    CheckpointCall,
    Decision,
    InvocationAnswer,
    Refusal,
)
from kappa.durable.execution import Execution, LogEntry
from kappa.durable.fields import FieldError, TextRule, choice, optional_integer, optional_text
from kappa.durable.model import (
    ErrorObject,
    ExecutionStatus,
    Operation,
    Timestamps,
    parse_updates,
)
from kappa.durable.store import (
    HISTORY_MAX,
    AlreadyStarted,
    Committed,
    DurableStore,
    ExecutionKey,
    StateTooLargeError,
    StoreUnavailable,
)
from kappa.durable.summary import Identity, Summary
from kappa.durable.timers import TimerQueue, TimerSettings
from kappa.durable.tokens import (
    INVALID_CHECKPOINT_TOKEN,
    CallbackTarget,
    CheckpointClaim,
    DurableKeys,
    InvalidTokenError,
    callback_id,
    checkpoint_token,
    verify_callback_id,
    verify_checkpoint_token,
)
from kappa.durable.validate import validate_updates
from kappa.invocation.errors import GatewayError, invalid_parameter, not_found, service_error

log = logging.getLogger("kappa.durable")

_CONNECT_RETRY_SECONDS: Final = 1.0

DEFAULT_RETENTION_DAYS: Final = DURABLE_RETENTION_DAYS_DEFAULT
ACTIONS_KEPT: Final = 1000
LIST_MAX_ITEMS: Final = 1000
LIST_DEFAULT_ITEMS: Final = 100
_LIST_MARKER_MAX: Final = 10
_UNAVAILABLE: Final = 503
_TIME_TEXT_MAX: Final = 64
HISTORY_READ: Final = 1000
STATE_TOO_LARGE: Final = ErrorObject(
    message="The execution's state would pass KAPPA_DURABLE_STATE_MAX_BYTES.",
    type="Kappa.StateTooLarge",
)
_JS_TIMEOUT_SECONDS: Final = 5.0
CLIENT_TOKEN: Final = TextRule(1, 64, r"[\x21-\x7E]+")
QUALIFIER: Final = TextRule(1, 128, r"\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9_$-]+")

Clock = Callable[[], int]
ActionSink = Callable[[ExecutionKey, Sequence[Action]], Awaitable[None]]


def load_keys(directory: Path) -> DurableKeys:
    """The durable keys from ``directory``'s ``current`` and (optional) ``previous`` files."""
    current = (directory / "current").read_bytes()
    previous_file = directory / "previous"
    previous = previous_file.read_bytes() if previous_file.exists() else None
    return DurableKeys(current, previous or None)


def epoch_ms() -> int:
    """Now, in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class AlreadyStartedError(Exception):
    """A start of a name that exists with another input (409 on Invoke)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"A durable execution named {name!r} exists with another input.")
        self.name = name


@dataclass(frozen=True, slots=True)
class ExecutionView:
    """One execution as the answers tell it (``gateway.durable_shapes.ExecutionFacts``)."""

    arn: str
    name: str
    function_arn: str
    version: str
    status: str
    start_ms: int
    end_ms: int | None
    input_payload: str | None = None
    result: str | None = None
    error: Mapping[str, Any] | None = None
    trace_id: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    timeout_seconds: int = 0
    # From the summary (lists only): the last started operation, the earliest live timer.
    current: str | None = None
    next_wakeup_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Started:
    """A started execution (or, ``existed``, the one of that name and input)."""

    arn: str
    existed: bool
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class Invocation:
    """A claimed invocation: its id, the event the function is invoked with, the actions."""

    invocation: str
    event: dict[str, Any]
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckpointAnswer:
    """A checkpoint's answer in wire form: changed operations, next token (None: stop)."""

    operations: list[dict[str, Any]]
    token: str | None


@dataclass(frozen=True, slots=True)
class ListFilter:
    """ListDurableExecutionsByFunction's filters, as read from the query."""

    version: str | None = None
    name: str | None = None
    statuses: frozenset[str] = frozenset()
    started_after_ms: int | None = None
    started_before_ms: int | None = None
    reverse: bool = False


def query_integer(query: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """An optional whole number of the query string, from ``low`` to ``high``."""
    value = query.get(name)
    if value is None:
        return None
    if not re.fullmatch(r"-?[0-9]{1,10}", value):
        raise FieldError(name, f"must be a whole number from {low} to {high}.")
    return optional_integer(int(value), name, low, high)


def query_flag(query: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    """An optional ``true``/``false`` of the query string (absent: ``default``)."""
    value = query.get(name)
    if value not in (None, "true", "false"):
        raise FieldError(name, "must be true or false.")
    return default if value is None else value == "true"


def _query_time(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if len(value) > _TIME_TEXT_MAX:
        raise FieldError(name, "must be an ISO 8601 timestamp.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(name, "must be an ISO 8601 timestamp.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def list_filter(query: Sequence[tuple[str, str]]) -> ListFilter:
    """ListDurableExecutionsByFunction's filters from its query (``Statuses`` repeats)."""
    single = dict(query)
    statuses = [value for key, value in query if key == "Statuses"]
    if len(statuses) > len(ExecutionStatus):
        raise FieldError("Statuses", f"holds at most {len(ExecutionStatus)} statuses.")
    return ListFilter(
        version=optional_text(single.get("Qualifier"), "Qualifier", QUALIFIER),
        name=optional_text(
            single.get("DurableExecutionName"), "DurableExecutionName", EXECUTION_NAME
        ),
        statuses=frozenset(
            choice(value, f"Statuses[{i}]", ExecutionStatus).value
            for i, value in enumerate(statuses)
        ),
        started_after_ms=_query_time(single, "StartedAfter"),
        started_before_ms=_query_time(single, "StartedBefore"),
        reverse=query_flag(single, "ReverseOrder"),
    )


def _refused(refusal: Refusal) -> GatewayError:
    """A decider's refusal as Lambda's error."""
    if refusal.type == decider.RESOURCE_NOT_FOUND:
        return not_found(refusal.message)
    if refusal.type == decider.CALLBACK_TIMEOUT:
        return GatewayError(
            400, decider.CALLBACK_TIMEOUT, {"Type": "User", "Message": refusal.message}
        )
    return invalid_parameter(refusal.message)


@contextmanager
def _answering(*, keep_too_large: bool = False) -> Iterator[None]:
    """Field errors as 400, an unreachable store as 503, an oversized state as 400 (or kept)."""
    try:
        yield
    except FieldError as exc:
        raise invalid_parameter(str(exc)) from None
    except StoreUnavailable as exc:
        raise service_error(str(exc), status=_UNAVAILABLE) from None
    except StateTooLargeError as exc:
        if keep_too_large:
            raise
        raise invalid_parameter(str(exc)) from None


def _key(arn: ExecutionArn) -> ExecutionKey:
    return ExecutionKey(arn.namespace, arn.function, arn.name)


def _wire(operations: Sequence[Operation], unit: Timestamps) -> list[dict[str, Any]]:
    return [operation.to_wire(unit) for operation in operations]


def _brief(
    arn_text: str, version: str, status: ExecutionStatus, start_ms: int, end_ms: int | None
) -> ExecutionView:
    """What a list item says of an execution."""
    arn = parse_execution_arn(arn_text)
    return ExecutionView(
        arn_text, arn.name, arn.function_arn, version, status.value, start_ms, end_ms
    )


def _summary_view(summary: Summary) -> ExecutionView:
    brief = _brief(summary.arn, summary.version, summary.status, summary.start_ms, summary.end_ms)
    current = None
    if summary.current is not None:
        kind, name, status = summary.current
        current = f"{kind.value} {name or '-'} {status.value}"
    return replace(brief, current=current, next_wakeup_ms=summary.next_wakeup_ms)


def _view(identity: Identity, state: Execution, retention_days: int) -> ExecutionView:
    fields = state.fields
    first = state.operations.get(identity.execution_id)
    details = None if first is None else first.execution_details
    timeout = 0
    if fields.deadline_ms is not None:
        timeout = (fields.deadline_ms - fields.start_ms) // 1000
    return replace(
        _brief(identity.arn, identity.version, fields.status, fields.start_ms, fields.end_ms),
        input_payload=None if details is None else details.input_payload,
        result=fields.result,
        error=None if fields.error is None else fields.error.to_wire(),
        retention_days=retention_days,
        timeout_seconds=timeout,
    )


def _kept(view: ExecutionView, wanted: ListFilter) -> bool:
    return (
        (wanted.version is None or view.version == wanted.version)
        and (wanted.name is None or view.name == wanted.name)
        and (not wanted.statuses or view.status in wanted.statuses)
        and (wanted.started_after_ms is None or view.start_ms > wanted.started_after_ms)
        and (wanted.started_before_ms is None or view.start_ms < wanted.started_before_ms)
    )


class DurableService:
    """The facade over one ``DurableStore`` and the durable key."""

    def __init__(
        self,
        store: DurableStore | None,
        keys: DurableKeys,
        *,
        region: str,
        clock: Clock = epoch_ms,
        on_actions: ActionSink | None = None,
    ) -> None:
        self._attached = store
        self._keys = keys
        self._region = region
        self._clock = clock
        self.actions: deque[tuple[ExecutionKey, Action]] = deque(maxlen=ACTIONS_KEPT)
        self._on_actions = on_actions or self._keep
        self._timers: TimerQueue | None = None

    def attach(self, store: DurableStore, timers: TimerQueue | None = None) -> None:
        """Serve from ``store`` (``open_service`` attaches it once NATS answers)."""
        self._attached = store
        self._timers = timers

    def act_with(self, on_actions: ActionSink) -> None:
        """Hand every committed transition's actions to ``on_actions`` from now on."""
        self._on_actions = on_actions

    @property
    def timers(self) -> TimerQueue:
        """The timer stream, once NATS answers (before: ``StoreUnavailable``, a 503)."""
        if self._timers is None:
            raise StoreUnavailable("connecting to NATS", ConnectionError("not connected yet"))
        return self._timers

    @property
    def _store(self) -> DurableStore:
        """The store; before it is attached, ``StoreUnavailable`` (a 503, as NATS away is)."""
        if self._attached is None:
            raise StoreUnavailable("connecting to NATS", ConnectionError("not connected yet"))
        return self._attached

    async def _keep(self, key: ExecutionKey, actions: Sequence[Action]) -> None:
        for action in actions:
            log.info("durable %s: action %s (no timers yet)", key.token, action)
            self.actions.append((key, action))

    async def _transition(
        self,
        key: ExecutionKey,
        decide: Callable[[Execution], Decision | Refusal],
        *,
        too_large: Callable[[], Awaitable[Committed]] | None = None,
    ) -> Committed:
        """Apply ``decide``; ``too_large``: what instead, when the state would pass its bound."""
        try:
            with _answering(keep_too_large=too_large is not None):
                committed = await self._store.transition(key, decide)
        except StateTooLargeError as exc:
            assert too_large is not None  # noqa: S101 - _answering kept it only then
            log.warning("durable %s: %s; the execution fails", key.token, exc)
            committed = await too_large()
        if isinstance(committed, Refusal):
            raise _refused(committed)
        if committed.decision.actions:
            await self._on_actions(key, committed.decision.actions)
        return committed

    # The invoker's side.

    async def start(  # noqa: PLR0913 - the execution's parts
        self,
        *,
        namespace: str,
        function: str,
        version: str,
        name: str | None,
        payload: str | None,
        timeout_seconds: int,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> Started:
        """Start an execution (same name and input again: the existing one).

        Its first actions (the execution timeout, the first wake) are armed before this
        returns, so an execution that is answered as started will run.
        """
        execution_id = str(uuid.uuid4())
        with _answering():
            chosen = EXECUTION_NAME.check(name, "DurableExecutionName") if name else execution_id
            arn = execution_arn(
                region=self._region,
                namespace=namespace,
                function=function,
                version=version,
                name=chosen,
                execution_id=execution_id,
            )
            digest = hashlib.sha256((payload or "").encode()).hexdigest()
            identity = Identity(str(arn), execution_id, version, digest)
            decision = decider.start(
                execution_id, payload, timeout_seconds, self._clock(), retention_days
            )
            created = await self._store.create(_key(arn), identity, decision)
        if isinstance(created, AlreadyStarted):
            if created.summary.input_hash != digest:
                raise AlreadyStartedError(chosen)
            return Started(created.summary.arn, existed=True)
        await self._on_actions(_key(arn), decision.actions)
        return Started(str(arn), existed=False, actions=decision.actions)

    async def invoke(self, arn_text: str, lease_ms: int | None = None) -> Invocation | None:
        """Claim the execution's next invocation and build its event (the SDK's shape).

        None: another invocation holds the execution within its ``lease_ms``
        (``decider.invoke``).
        """
        with _answering():
            arn = parse_execution_arn(arn_text)
        invocation = uuid.uuid4()
        now = self._clock()
        committed = await self._transition(
            _key(arn), lambda state: decider.invoke(state, str(invocation), now, lease_ms)
        )
        state = committed.state
        if state.fields.invocation != str(invocation):
            return None
        page = pages.event_page(list(state.operations.values()), arn_text, state.sequence)
        claim = CheckpointClaim(invocation, state.fields.token_sequence)
        event = {
            "DurableExecutionArn": arn_text,
            "CheckpointToken": checkpoint_token(self._keys, arn_text, claim),
            "InitialExecutionState": {
                "Operations": _wire(page.operations, Timestamps.MILLISECONDS),
                "NextMarker": page.next_marker or "",
            },
        }
        return Invocation(str(invocation), event, committed.decision.actions)

    async def invocation_ended(
        self,
        arn_text: str,
        invocation: str,
        answer: InvocationAnswer,
        request_id: str | None = None,
    ) -> tuple[Action, ...]:
        """The end of ``invocation`` with ``answer``: the actions it led to."""
        with _answering():
            arn = parse_execution_arn(arn_text)
        now = self._clock()
        committed = await self._transition(
            _key(arn),
            lambda state: decider.invocation_ended(state, invocation, answer, now, request_id),
        )
        return committed.decision.actions

    async def fire(self, key: ExecutionKey, timer: decider.Timer) -> tuple[Action, ...]:
        """A due ``timer`` of ``key``'s execution (stale: nothing; gone: a 404)."""
        now = self._clock()
        committed = await self._transition(key, lambda state: decider.fire(state, timer, now))
        return committed.decision.actions

    async def identity(self, key: ExecutionKey) -> Summary | None:
        """``key``'s execution's summary (its ARN, its version), or None when it is gone."""
        with _answering():
            return await self._store.summary(key)

    async def purge(self, key: ExecutionKey) -> None:
        """Remove ``key``'s execution (its retention is over)."""
        with _answering():
            await self._store.purge(key)

    # The token routes: the token is verified before anything is read.

    def _claim(self, arn_text: str, token: object) -> tuple[ExecutionArn, CheckpointClaim]:
        with _answering():
            arn = parse_execution_arn(arn_text)
        try:
            return arn, verify_checkpoint_token(self._keys, arn_text, token)
        except InvalidTokenError:
            raise invalid_parameter(INVALID_CHECKPOINT_TOKEN) from None

    async def checkpoint(self, arn_text: str, body: Mapping[str, Any]) -> CheckpointAnswer:
        """CheckpointDurableExecution with its JSON ``body``."""
        arn, claim = self._claim(arn_text, body.get("CheckpointToken"))
        with _answering():
            client_token = optional_text(body.get("ClientToken"), "ClientToken", CLIENT_TOKEN)
            parsed = parse_updates(body.get("Updates"))
        invocation, now = str(claim.invocation), self._clock()
        call = CheckpointCall(invocation, claim.sequence, client_token, parsed)

        def mint(operation: str) -> str:
            target = CallbackTarget(arn.namespace, arn.function, arn.name, operation)
            return callback_id(self._keys, target)

        def decide(state: Execution) -> Decision | Refusal:
            fields = state.fields
            if fields.invocation != invocation:
                return Refusal(decider.INVALID_PARAMETER, INVALID_CHECKPOINT_TOKEN)
            if claim.sequence == fields.token_sequence and state.running:
                refused = validate_updates(state.operations, parsed)
                if refused is not None:
                    return Refusal(decider.INVALID_PARAMETER, refused.message)
            return decider.checkpoint(state, call, now, mint)

        def fail() -> Awaitable[Committed]:
            # The state would pass KAPPA_DURABLE_STATE_MAX_BYTES: the execution fails (a small
            # transition of its own) and the checkpoint is answered with no token.
            ended = decider.Failed(STATE_TOO_LARGE)
            return self._transition(
                _key(arn), lambda state: decider.invocation_ended(state, invocation, ended, now)
            )

        committed = await self._transition(_key(arn), decide, too_large=fail)
        answer = committed.decision.answer
        if answer is None:  # the execution failed instead: its state grew past the bound
            return CheckpointAnswer([], None)
        following = None
        if answer.token_sequence is not None:
            following = checkpoint_token(
                self._keys, arn_text, CheckpointClaim(claim.invocation, answer.token_sequence)
            )
        return CheckpointAnswer(_wire(answer.operations, Timestamps.SECONDS), following)

    async def state(
        self, arn_text: str, query: Mapping[str, str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """GetDurableExecutionState: one page of operations, and the marker of the rest.

        A marker pins the log sequence of its first page; the operations are read from
        the current state at the marker's offset (operations are only ever appended, in
        start order, and the ones that changed since reach the SDK in checkpoint answers).
        """
        arn, claim = self._claim(arn_text, query.get("CheckpointToken"))
        marker = query.get("Marker")
        with _answering():
            items = pages.max_items(query_integer(query, "MaxItems", 0, pages.MAX_ITEMS))
        if isinstance(items, pages.PageRefused):
            raise invalid_parameter(items.message)
        with _answering():
            loaded = await self._store.load(_key(arn))
        if (
            loaded is None
            or loaded.identity.arn != arn_text
            or loaded.state.fields.invocation != str(claim.invocation)
        ):
            raise invalid_parameter(INVALID_CHECKPOINT_TOKEN)
        state = loaded.state
        position = pages.PagePosition(state.sequence, 0)
        if marker:
            read = pages.read_marker(arn_text, marker)
            if isinstance(read, pages.PageRefused):
                raise invalid_parameter(read.message)
            position = read
        bounds = pages.PageBounds(items, pages.STATE_PAGE_BYTES, Timestamps.SECONDS)
        page = pages.take_page(list(state.operations.values()), arn_text, position, bounds)
        if isinstance(page, pages.PageRefused):
            raise invalid_parameter(page.message)
        return _wire(page.operations, Timestamps.SECONDS), page.next_marker

    # The RBAC routes.

    async def function_of(self, arn_text: str) -> tuple[str, str]:
        """The namespace and Function of an execution ARN (400 when it is not one)."""
        with _answering():
            arn = parse_execution_arn(arn_text)
        return arn.namespace, arn.function

    async def get(self, arn_text: str, query: Mapping[str, str]) -> tuple[ExecutionView, bool]:
        """GetDurableExecution: the execution, and whether to include its data (default: yes)."""
        with _answering():
            include = query_flag(query, "IncludeExecutionData", default=True)
        return await self._get(arn_text), include

    async def _get(self, arn_text: str) -> ExecutionView:
        with _answering():
            arn = parse_execution_arn(arn_text)
            loaded = await self._store.load(_key(arn))
        if loaded is None or loaded.identity.arn != arn_text:
            raise not_found(f"Durable execution not found: {arn_text}")
        return _view(loaded.identity, loaded.state, loaded.state.fields.retention_days)

    async def executions(
        self, namespace: str, function: str, query: Sequence[tuple[str, str]]
    ) -> tuple[list[ExecutionView], str | None]:
        """ListDurableExecutionsByFunction: newest first (``ReverseOrder``: oldest first)."""
        with _answering():
            wanted = list_filter(query)
            single = dict(query)
            most = query_integer(single, "MaxItems", 0, LIST_MAX_ITEMS) or LIST_DEFAULT_ITEMS
        marker = single.get("Marker")
        offset = 0
        if marker:
            if len(marker) > _LIST_MARKER_MAX or not marker.isdigit():
                raise invalid_parameter("Marker is not a marker of this list.")
            offset = int(marker)
        with _answering():
            found = await self._store.summaries(namespace, function)
        views = [view for view in map(_summary_view, found) if _kept(view, wanted)]
        views.sort(key=lambda view: (view.start_ms, view.arn), reverse=not wanted.reverse)
        taken = views[offset : offset + most]
        rest = offset + most
        return taken, (str(rest) if rest < len(views) else None)

    async def history(
        self, arn_text: str, query: Mapping[str, str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """GetDurableExecutionHistory: a page of events, and the marker of the rest."""
        with _answering():
            request = history.HistoryRequest(
                include_data=query_flag(query, "IncludeExecutionData", default=True),
                reverse=query_flag(query, "ReverseOrder"),
                max_items=query_integer(query, "MaxItems", 0, pages.MAX_ITEMS),
                marker=query.get("Marker"),
            )
        await self._get(arn_text)  # 404 for an execution that does not exist
        key = _key(parse_execution_arn(arn_text))
        log_entries: list[tuple[int, LogEntry]] = []
        with _answering():
            while len(log_entries) < HISTORY_MAX:
                after = log_entries[-1][0] if log_entries else 0
                more = await self._store.entries(key, after, HISTORY_READ)
                log_entries.extend(more)
                if len(more) < HISTORY_READ:
                    break
        page = history.history_page(log_entries, arn_text, request)
        if isinstance(page, pages.PageRefused):
            raise invalid_parameter(page.message)
        return page.wire_events(), page.next_marker

    async def stop(self, arn_text: str, error: object) -> int:
        """StopDurableExecution: the time it stopped (an ended execution: when it ended)."""
        with _answering():
            arn = parse_execution_arn(arn_text)
            stop_error = None if error is None else ErrorObject.from_wire(error, "Error")
        await self._get(arn_text)  # 404 for an execution that does not exist
        now = self._clock()
        committed = await self._transition(
            _key(arn), lambda state: decider.stop(state, stop_error, now)
        )
        return committed.state.fields.end_ms or now

    # Callbacks.

    def callback_function(self, value: str) -> tuple[str, str]:
        """The namespace and Function a callback id names (404 for an id not minted here)."""
        target = self.callback_target(value)
        return target.namespace, target.function

    def callback_target(self, value: str) -> CallbackTarget:
        """The operation a callback id names; 404 for an id not minted here."""
        try:
            return verify_callback_id(self._keys, value)
        except InvalidTokenError:
            raise not_found(
                "Callback not found: it completed, its execution ended, or it never existed."
            ) from None

    async def callback(self, value: str, kind: str, body: bytes) -> None:
        """SendDurableExecutionCallback{Success,Failure,Heartbeat}: ``kind`` is the path's end."""
        target = self.callback_target(value)
        outcome = callback_outcome(kind, body)
        key = ExecutionKey(target.namespace, target.function, target.execution)
        now = self._clock()
        await self._transition(
            key, lambda state: decider.callback(state, target.operation, outcome, now)
        )


def callback_outcome(kind: str, body: bytes) -> CallbackOutcome:
    """The outcome of a callback route's body: ``succeed`` (raw UTF-8), ``fail`` (JSON)."""
    if kind == "succeed":
        try:
            return decider.CallbackSuccess(body.decode("utf-8") if body else None)
        except UnicodeDecodeError:
            raise invalid_parameter("Result must be UTF-8 text.") from None
    if kind == "fail":
        if not body.strip():
            return decider.CallbackFailure(None)
        try:
            raw = json.loads(body)
        except ValueError:
            raise invalid_parameter("Error must be a JSON ErrorObject.") from None
        with _answering():
            return decider.CallbackFailure(ErrorObject.from_wire(raw, "Error"))
    return decider.CallbackHeartbeat()


async def open_service(
    servers: Sequence[str], credentials: Mapping[str, Any], keys: DurableKeys, region: str
) -> tuple[DurableService, Callable[[], Awaitable[None]]]:
    """A service, and how to close it; its store is attached once NATS answers.

    The connection is made in the background, tried again every second until it works,
    so a gateway that starts before NATS (a fresh install starts both at once) serves
    the durable API as soon as NATS is up; meanwhile every durable call is a 503
    ``ServiceException``. The store's stream and buckets are set up again after each
    reconnect (a NATS that lost its storage), as the async queue's are.
    """
    service = DurableService(None, keys, region=region)
    nc = nats.aio.client.Client()
    settings = durable_settings.load()
    js = nc.jetstream(timeout=_JS_TIMEOUT_SECONDS)
    store = DurableStore(js, settings)
    timers = TimerQueue(
        js,
        TimerSettings(
            prefix=settings.prefix,
            replicas=settings.replicas,
            ack_wait_seconds=settings.ack_wait_seconds,
            workers=settings.workers,
        ),
    )
    tasks: set[asyncio.Task[None]] = set()

    async def set_up() -> None:
        while True:
            try:
                await store.setup()
                await timers.setup()
            except (OSError, TimeoutError, nats.errors.Error) as exc:
                log.warning("durable functions: cannot set up the store (%s); trying again", exc)
                await asyncio.sleep(_CONNECT_RETRY_SECONDS)
            else:
                return

    async def reconnected() -> None:
        task = asyncio.create_task(set_up())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def error(exc: Exception) -> None:
        log.warning("durable functions: NATS: %s", exc)

    async def connect() -> None:
        while True:
            try:
                await nc.connect(
                    servers=list(servers),
                    name="kappa-gateway-durable",
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    reconnected_cb=reconnected,
                    error_cb=error,
                    **credentials,
                )
                break
            except (OSError, TimeoutError, nats.errors.Error) as exc:
                log.warning("durable functions: cannot reach NATS (%s); trying again", exc)
                await asyncio.sleep(_CONNECT_RETRY_SECONDS)
        await set_up()
        service.attach(store, timers)
        log.info("durable functions: the store is ready on NATS at %s", nc.connected_url)

    connecting = asyncio.create_task(connect())

    async def close() -> None:
        for task in (connecting, *tasks):
            task.cancel()
        await asyncio.gather(connecting, *tasks, return_exceptions=True)
        if nc.is_connected or nc.is_reconnecting:
            await nc.close()

    return service, close
