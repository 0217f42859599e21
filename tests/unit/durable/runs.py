"""Durable executions driven through the decider, their log kept as the store keeps it:
the scenarios the history's tests and the history answer's shape tests share."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from kappa.durable.decider import (
    CallbackFailure,
    CallbackSuccess,
    CheckpointCall,
    Decision,
    Refusal,
    Timer,
    callback,
    checkpoint,
    fire,
    invocation_ended,
    invoke,
    start,
)
from kappa.durable.execution import Execution, LogEntry, TimerKind
from kappa.durable.model import (
    CallbackOptions,
    ChainedInvokeDetails,
    ContextOptions,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)

T0 = 1_700_000_000_000
BOOM = ErrorObject(message="boom", type="E")
A = OperationAction
K = OperationType


def mint(operation: str) -> str:
    return f"cb{operation}"


@dataclass
class Run:
    """An execution driven through the decider, its log kept as the store would."""

    state: Execution = field(default_factory=Execution)
    log: list[tuple[int, LogEntry]] = field(default_factory=list)
    now: int = T0

    def add(self, result: Decision | Refusal) -> None:
        assert isinstance(result, Decision), result
        assert result.entry is not None
        sequence = len(self.log) + 1
        self.log.append((sequence, result.entry))
        self.state = result.commit(sequence)

    def tick(self, ms: int = 1000) -> int:
        self.now += ms
        return self.now

    def invoke(self) -> None:
        self.add(invoke(self.state, f"inv{self.now}", self.tick()))

    def send(self, *updates: OperationUpdate) -> None:
        fields = self.state.fields
        call = CheckpointCall(fields.invocation or "", fields.token_sequence, None, updates)
        self.add(checkpoint(self.state, call, self.tick(), mint))

    def fire(self, kind: TimerKind, operation: str | None) -> None:
        generation = self.state.generation(kind, operation)
        self.add(fire(self.state, Timer(kind, operation, 0, generation), self.tick(60_000)))

    def end(self, answer: Any, request_id: str | None = None) -> None:
        invocation = self.state.fields.invocation or ""
        self.add(invocation_ended(self.state, invocation, answer, self.tick(), request_id))


def begun(timeout_s: int | None = 3600) -> Run:
    run = Run()
    run.add(start("e1", '{"order": 7}', timeout_s, T0))
    run.invoke()
    return run


def upd(
    type_: OperationType, action: OperationAction, id_: str = "s", **rest: Any
) -> OperationUpdate:
    return OperationUpdate(id_, type_, action, name=f"{id_}-name", sub_type="Sub", **rest)


def step_at_least_once(run: Run) -> None:
    run.send(upd(K.STEP, A.START))
    run.send(upd(K.STEP, A.SUCCEED, payload="7"))


def step_batched(run: Run) -> None:
    run.send(upd(K.STEP, A.START), upd(K.STEP, A.SUCCEED, payload="7"))


def step_fails(run: Run) -> None:
    run.send(upd(K.STEP, A.START))
    run.send(upd(K.STEP, A.FAIL, error=BOOM))


def step_retried(run: Run) -> None:
    run.send(upd(K.STEP, A.START))
    run.send(upd(K.STEP, A.RETRY, error=BOOM, step_options=StepOptions(5)))
    run.fire(TimerKind.RETRY, "s")
    run.send(upd(K.STEP, A.START))
    run.send(upd(K.STEP, A.SUCCEED, payload="8"))


def wait_for_condition(run: Run) -> None:
    run.send(upd(K.STEP, A.START))
    run.send(upd(K.STEP, A.RETRY, payload='{"n": 1}', step_options=StepOptions(2)))


def wait_ends(run: Run) -> None:
    run.send(upd(K.WAIT, A.START, "w", wait_options=WaitOptions(30)))
    run.fire(TimerKind.WAIT, "w")


def wait_cancelled(run: Run) -> None:
    run.send(upd(K.WAIT, A.START, "w", wait_options=WaitOptions(30)))
    run.send(upd(K.WAIT, A.CANCEL, "w"))


def callback_succeeds(run: Run) -> None:
    run.send(upd(K.CALLBACK, A.START, "c", callback_options=CallbackOptions(60, 10)))
    run.add(callback(run.state, "c", CallbackSuccess('"ok"'), run.tick()))


def callback_fails(run: Run) -> None:
    run.send(upd(K.CALLBACK, A.START, "c"))
    run.add(callback(run.state, "c", CallbackFailure(BOOM), run.tick()))


def callback_times_out(run: Run) -> None:
    run.send(upd(K.CALLBACK, A.START, "c", callback_options=CallbackOptions(60)))
    run.fire(TimerKind.CALLBACK_TIMEOUT, "c")


def context_succeeds(run: Run) -> None:
    run.send(upd(K.CONTEXT, A.START, "x"))
    run.send(upd(K.STEP, A.START, "s", parent_id="x"))
    run.send(upd(K.STEP, A.SUCCEED, "s", parent_id="x", payload="1"))
    run.send(
        upd(
            K.CONTEXT,
            A.SUCCEED,
            "x",
            payload="[1]",
            context_options=ContextOptions(replay_children=False),
        )
    )


def context_fails(run: Run) -> None:
    run.send(upd(K.CONTEXT, A.START, "x"), upd(K.CONTEXT, A.FAIL, "x", error=BOOM))


def chained_invoke(run: Run) -> None:
    run.send(upd(K.CHAINED_INVOKE, A.START, "i"))


def chained_invoke_ends(status: OperationStatus) -> Callable[[Run], None]:
    """A CHAINED_INVOKE ending ``status``: written by hand, the decider fails them at START."""

    def scenario(run: Run) -> None:
        operation = Operation(
            id="i",
            type=OperationType.CHAINED_INVOKE,
            status=status,
            start_ms=run.tick(),
            end_ms=run.tick(),
            name="i-name",
            chained_invoke_details=ChainedInvokeDetails(
                result='"r"' if status is OperationStatus.SUCCEEDED else None,
                error=None if status is OperationStatus.SUCCEEDED else BOOM,
            ),
        )
        entry = LogEntry("checkpoint", run.state.fields, (operation,), at_ms=run.now)
        run.add(Decision(run.state, entry))

    scenario.__name__ = f"chained_invoke_{status.value.lower()}"
    return scenario


SCENARIOS: Final = (
    step_at_least_once,
    step_batched,
    step_fails,
    step_retried,
    wait_for_condition,
    wait_ends,
    wait_cancelled,
    callback_succeeds,
    callback_fails,
    callback_times_out,
    context_succeeds,
    context_fails,
    chained_invoke,
    *(
        chained_invoke_ends(status)
        for status in (
            OperationStatus.SUCCEEDED,
            OperationStatus.TIMED_OUT,
            OperationStatus.STOPPED,
        )
    ),
)
