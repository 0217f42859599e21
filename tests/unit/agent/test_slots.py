"""A slot's bookkeeping of several invocations at once (perRuntime), without a process.

The slot serves an outside runtime (no bootstrap), so these tests play the runtime's
part: they call ``next_invocation``, ``respond`` and ``report_error`` as its Runtime API
would. Processes, kills and restarts are the integration tests' (tests/integration/agent).
"""

import asyncio
import io
import json
from collections.abc import Awaitable, Callable

import pytest

from kappa.agent.errors import LambdaError
from kappa.agent.logsink import LogSink
from kappa.agent.metrics import AgentMetrics, Outcome
from kappa.agent.report import LogTail
from kappa.agent.settings import AgentSettings, Runtime
from kappa.agent.slots import Invocation, Slot, SlotPool
from kappa.base.clock import SystemClock


class Events:
    def __init__(self) -> None:
        self.ready = 0
        self.failed: list[LambdaError] = []

    def slot_ready(self, slot: Slot) -> None:  # noqa: ARG002 - SlotEvents
        self.ready += 1

    def slot_failed(self, slot: Slot, error: LambdaError) -> None:  # noqa: ARG002 - SlotEvents
        self.failed.append(error)


def settings(per_runtime: int, slots: int = 1) -> AgentSettings:
    return AgentSettings(
        runtime=Runtime.IMAGE,
        function_arn="arn:aws:lambda:us-east-1:default:function:f",
        bootstrap=None,
        slots=slots,
        per_runtime=per_runtime,
        init_timeout_seconds=60,
    )


def make_slot(per_runtime: int) -> Slot:
    clock = SystemClock()
    return Slot(
        0,
        settings(per_runtime),
        clock=clock,
        sink=LogSink(io.BytesIO(), clock),
        metrics=AgentMetrics(),
        events=Events(),
    )


def invocation(request_id: str) -> Invocation:
    return Invocation(
        request_id=request_id,
        event=b"{}",
        deadline_ms=0,
        client_context=None,
        cognito_identity=None,
        trace_id=None,
        started=0.0,
        done=asyncio.get_running_loop().create_future(),
        tail=LogTail(),
    )


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def test_a_slot_takes_as_many_invocations_as_its_capacity() -> None:
    async def scenario() -> None:
        slot = make_slot(3)
        await slot.start()
        calls = [invocation(f"r{n}") for n in range(3)]
        for call in calls:
            assert slot.free
            slot.assign(call)
        assert not slot.free
        delivered = [await slot.next_invocation() for _ in calls]
        assert delivered == calls  # oldest first
        # Answered in another order than delivered: each by its own request id.
        assert slot.respond("r2", b'"two"', None) == 202
        assert slot.report_error("r0", b'{"errorType":"E","errorMessage":"m"}', None) == 202
        assert slot.respond("r1", b'"one"', None) == 202
        assert [(await c.done).outcome for c in calls] == [
            Outcome.ERROR,
            Outcome.SUCCESS,
            Outcome.SUCCESS,
        ]
        assert (await calls[2].done).body == b'"two"'
        assert (await calls[0].done).error_type == "E"
        assert slot.free
        assert slot.held == {}

    run(scenario)


def test_waiting_next_calls_get_invocations_as_they_are_assigned() -> None:
    async def scenario() -> None:
        slot = make_slot(2)
        await slot.start()
        waits = [asyncio.ensure_future(slot.next_invocation()) for _ in range(2)]
        await asyncio.sleep(0)
        first, second = invocation("a"), invocation("b")
        slot.assign(first)
        slot.assign(second)
        assert [await w for w in waits] == [first, second]
        assert first.delivered_to == second.delivered_to == slot.generation

    run(scenario)


def test_more_waiting_next_calls_than_the_capacity_are_refused() -> None:
    async def scenario() -> None:
        slot = make_slot(2)
        await slot.start()
        waits = [asyncio.ensure_future(slot.next_invocation()) for _ in range(2)]
        await asyncio.sleep(0)
        assert await slot.next_invocation() is None  # the third: 403 on the wire
        call = invocation("a")
        slot.assign(call)
        assert await waits[0] is call
        waits[1].cancel()

    run(scenario)


def test_unknown_ids_are_refused_and_a_timed_out_ones_answer_is_dropped() -> None:
    async def scenario() -> None:
        slot = make_slot(4)
        await slot.start()
        kept, late = invocation("kept"), invocation("late")
        slot.assign(kept)
        slot.assign(late)
        await slot.next_invocation()
        await slot.next_invocation()
        assert slot.respond("nobody", b"{}", None) == 400
        assert slot.report_error("nobody", b"{}", None) == 400
        slot.time_out(late)
        assert (await late.done).outcome is Outcome.TIMEOUT
        assert slot.respond("late", b"{}", None) == 202  # accepted, dropped
        assert not kept.done.done()
        assert slot.respond("kept", b'"ok"', None) == 202
        assert (await kept.done).outcome is Outcome.SUCCESS

    run(scenario)


def test_an_undelivered_invocation_that_times_out_leaves_the_queue() -> None:
    async def scenario() -> None:
        slot = make_slot(2)
        await slot.start()
        stale, fresh = invocation("stale"), invocation("fresh")
        slot.assign(stale)
        slot.assign(fresh)
        slot.time_out(stale)
        assert (await stale.done).outcome is Outcome.TIMEOUT
        assert await slot.next_invocation() is fresh

    run(scenario)


def test_with_capacity_one_a_next_call_fails_the_unanswered_invocation() -> None:
    async def scenario() -> None:
        slot = make_slot(1)
        await slot.start()
        held = invocation("held")
        slot.assign(held)
        assert await slot.next_invocation() is held
        waiting = asyncio.ensure_future(slot.next_invocation())
        result = await held.done
        assert result.outcome is Outcome.ERROR
        assert json.loads(result.body)["errorType"] == "Runtime.InvalidResponse"
        waiting.cancel()

    run(scenario)


@pytest.mark.parametrize(
    ("chunks", "tails"),
    [
        pytest.param(
            [b"x\tr1\tINFO\tone\nr2 two\nbare print\n"],
            {"r1": b"x\tr1\tINFO\tone\n", "r2": b"r2 two\n"},
            id="lines-by-id",
        ),
        pytest.param(
            [b"start of r1 ", b"and its end\nr2\n"],
            {"r1": b"start of r1 and its end\n", "r2": b"r2\n"},
            id="a-line-split-across-reads",
        ),
    ],
)
def test_output_lines_go_to_the_invocation_they_name(
    chunks: list[bytes], tails: dict[str, bytes]
) -> None:
    async def scenario() -> None:
        slot = make_slot(2)
        await slot.start()
        calls = {name: invocation(name) for name in tails}
        for call in calls.values():
            slot.assign(call)
            await slot.next_invocation()
        for chunk in chunks:
            slot._attribute(chunk)  # noqa: SLF001 - what the output pipe's reader calls
        assert {name: call.tail.value() for name, call in calls.items()} == tails

    run(scenario)


def test_the_pool_counts_calls_and_picks_the_least_busy_slot() -> None:
    async def scenario() -> None:
        clock = SystemClock()
        pool = SlotPool(
            settings(per_runtime=3, slots=2),
            clock=clock,
            sink=LogSink(io.BytesIO(), clock),
            metrics=AgentMetrics(),
        )
        assert pool.capacity == 6
        chosen = []
        for n in range(6):
            slot = pool.acquire()
            assert slot is not None
            slot.assign(invocation(f"r{n}"))
            chosen.append(slot.index)
        assert chosen == [0, 1, 0, 1, 0, 1]
        assert pool.busy == 6
        assert pool.acquire() is None

    run(scenario)
