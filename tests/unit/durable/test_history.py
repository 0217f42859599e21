"""History events from the log the decider writes: every operation type's transitions give
the events the testing package's service gives, numbered in order; pages of any size, in
either order, concatenate to the whole history; markers are bound to the execution and
the order."""

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.durable.decider import Failed, FunctionError, Pending, Succeeded, Throttled, stop
from kappa.durable.execution import LogEntry, TimerKind
from kappa.durable.history import (
    EventType,
    HistoryPage,
    HistoryRequest,
    events,
    history_page,
)
from kappa.durable.model import OperationStatus, WaitOptions
from kappa.durable.pages import PagePosition, PageRefused, marker
from kappa.durable.state import decode, encode
from tests.unit.durable.runs import (
    BOOM,
    T0,
    A,
    K,
    Run,
    begun,
    callback_fails,
    callback_succeeds,
    callback_times_out,
    chained_invoke,
    chained_invoke_ends,
    context_fails,
    context_succeeds,
    step_at_least_once,
    step_batched,
    step_fails,
    step_retried,
    upd,
    wait_cancelled,
    wait_ends,
    wait_for_condition,
)

pytestmark = pytest.mark.unit

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:1/durable-execution/order/e1"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:fn:1/durable-execution/order/e2"
E = EventType


def kinds(run: Run) -> list[tuple[EventType, str | None]]:
    return [(event.event_type, event.operation_id) for event in events(run.log)]


START = [(E.EXECUTION_STARTED, "e1")]


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        pytest.param(step_at_least_once, [(E.STEP_STARTED, "s"), (E.STEP_SUCCEEDED, "s")], id="step"),
        pytest.param(step_batched, [(E.STEP_STARTED, "s"), (E.STEP_SUCCEEDED, "s")], id="step-one-batch"),
        pytest.param(step_fails, [(E.STEP_STARTED, "s"), (E.STEP_FAILED, "s")], id="step-fails"),
        pytest.param(step_retried,
                     [(E.STEP_STARTED, "s"), (E.STEP_FAILED, "s"), (E.STEP_STARTED, "s"), (E.STEP_SUCCEEDED, "s")],
                     id="step-retried"),
        pytest.param(wait_for_condition, [(E.STEP_STARTED, "s"), (E.STEP_SUCCEEDED, "s")], id="wait-for-condition"),
        pytest.param(wait_ends, [(E.WAIT_STARTED, "w"), (E.WAIT_SUCCEEDED, "w")], id="wait"),
        pytest.param(wait_cancelled, [(E.WAIT_STARTED, "w"), (E.WAIT_CANCELLED, "w")], id="wait-cancelled"),
        pytest.param(callback_succeeds, [(E.CALLBACK_STARTED, "c"), (E.CALLBACK_SUCCEEDED, "c")], id="callback"),
        pytest.param(callback_fails, [(E.CALLBACK_STARTED, "c"), (E.CALLBACK_FAILED, "c")], id="callback-fails"),
        pytest.param(callback_times_out, [(E.CALLBACK_STARTED, "c"), (E.CALLBACK_TIMED_OUT, "c")],
                     id="callback-times-out"),
        pytest.param(context_succeeds,
                     [(E.CONTEXT_STARTED, "x"), (E.STEP_STARTED, "s"), (E.STEP_SUCCEEDED, "s"),
                      (E.CONTEXT_SUCCEEDED, "x")], id="context"),
        pytest.param(context_fails, [(E.CONTEXT_STARTED, "x"), (E.CONTEXT_FAILED, "x")], id="context-fails"),
        pytest.param(chained_invoke, [(E.CHAINED_INVOKE_FAILED, "i")], id="chained-invoke-unsupported"),
        pytest.param(chained_invoke_ends(OperationStatus.SUCCEEDED), [(E.CHAINED_INVOKE_SUCCEEDED, "i")],
                     id="chained-invoke-succeeded"),
        pytest.param(chained_invoke_ends(OperationStatus.TIMED_OUT), [(E.CHAINED_INVOKE_TIMED_OUT, "i")],
                     id="chained-invoke-timed-out"),
        pytest.param(chained_invoke_ends(OperationStatus.STOPPED), [(E.CHAINED_INVOKE_STOPPED, "i")],
                     id="chained-invoke-stopped"),
    ],
)  # fmt: skip
def test_each_operation_types_transitions_give_its_events(
    scenario: Callable[[Run], None], expected: list[tuple[EventType, str]]
) -> None:
    run = begun()
    scenario(run)
    assert kinds(run) == START + expected
    history = events(run.log)
    assert [event.event_id for event in history] == list(range(1, len(history) + 1))
    timestamps = [event.timestamp_ms for event in history]
    assert timestamps == sorted(timestamps)


def wire(run: Run, *, include_data: bool = True) -> list[dict[str, Any]]:
    page = history_page(run.log, ARN, HistoryRequest(include_data=include_data))
    assert isinstance(page, HistoryPage)
    assert page.next_marker is None
    return page.wire_events()


def test_a_step_event_carries_its_name_parent_subtype_result_and_attempt() -> None:
    run = begun()
    context_succeeds(run)
    started, succeeded = wire(run)[2:4]
    assert started == {"EventType": "StepStarted", "SubType": "Sub", "EventId": 3, "Id": "s",
                       "Name": "s-name", "EventTimestamp": (T0 + 3000) / 1000, "ParentId": "x",
                       "StepStartedDetails": {}}  # fmt: skip
    assert succeeded["StepSucceededDetails"] == {
        "Result": {"Payload": "1", "Truncated": False},
        "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 0},
    }


def test_a_retry_is_a_failed_attempt_with_its_delay_and_the_next_attempt_counts_on() -> None:
    run = begun()
    step_retried(run)
    failed, _, succeeded = wire(run)[2:5]
    assert failed["StepFailedDetails"] == {
        "Error": {"Payload": {"ErrorMessage": "boom", "ErrorType": "E"}, "Truncated": False},
        "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 5},
    }
    assert succeeded["StepSucceededDetails"]["RetryDetails"]["CurrentAttempt"] == 2


def test_wait_and_callback_details() -> None:
    run = begun()
    run.send(upd(K.WAIT, A.START, "w", wait_options=WaitOptions(30)))
    callback_succeeds(run)
    wait_started, callback_started, callback_succeeded = wire(run)[1:4]
    start_s = (T0 + 2000) / 1000
    assert wait_started["WaitStartedDetails"] == {
        "Duration": 30,
        "ScheduledEndTimestamp": start_s + 30,
    }
    assert callback_started["CallbackStartedDetails"] == {
        "CallbackId": "cbc",
        "HeartbeatTimeout": 10,
    }
    assert callback_succeeded["CallbackSucceededDetails"] == {
        "Result": {"Payload": '"ok"', "Truncated": False}
    }


@pytest.mark.parametrize(
    ("ending", "event", "details"),
    [
        pytest.param(lambda run: run.end(Succeeded('"done"'), "req-1"), E.EXECUTION_SUCCEEDED,
                     {"Result": {"Payload": '"done"', "Truncated": False}}, id="succeeded"),
        pytest.param(lambda run: run.end(Failed(BOOM), "req-1"), E.EXECUTION_FAILED,
                     {"Error": {"Payload": BOOM.to_wire(), "Truncated": False}}, id="failed"),
        pytest.param(lambda run: run.send(upd(K.EXECUTION, A.SUCCEED, "e1", payload='"big"')),
                     E.EXECUTION_SUCCEEDED, {"Result": {"Payload": '"big"', "Truncated": False}},
                     id="succeed-checkpointed"),
        pytest.param(lambda run: run.fire(TimerKind.EXECUTION_TIMEOUT, None), E.EXECUTION_TIMED_OUT,
                     {"Error": {"Truncated": False}}, id="timed-out"),
        pytest.param(lambda run: run.add(stop(run.state, BOOM, run.tick())), E.EXECUTION_STOPPED,
                     {"Error": {"Payload": BOOM.to_wire(), "Truncated": False}}, id="stopped"),
    ],
)  # fmt: skip
def test_the_executions_own_transitions(
    ending: Callable[[Run], None], event: EventType, details: dict[str, Any]
) -> None:
    run = begun(timeout_s=120)
    ending(run)
    history = wire(run)
    assert history[0]["ExecutionStartedDetails"] == {
        "Input": {"Payload": '{"order": 7}', "Truncated": False},
        "ExecutionTimeout": 120,
    }
    last = history[-1]
    assert (last["EventType"], last["Id"]) == (event.value, "e1")
    assert last[f"{event.value}Details"] == details
    assert sum(1 for e in history if e["EventType"].startswith("Execution")) == 2


def test_an_invocation_that_ran_is_completed_with_its_times_request_id_and_error() -> None:
    run = begun()
    invoked_at = run.now
    run.end(FunctionError(BOOM), "req-9")
    run.invoke()
    run.send(upd(K.WAIT, A.START, "w", wait_options=WaitOptions(30)))
    run.end(Pending())
    run.invoke()
    run.end(Throttled(0))  # nothing ran: no event
    history = wire(run)
    completed = [e for e in history if e["EventType"] == "InvocationCompleted"]
    assert completed[0] == {
        "EventType": "InvocationCompleted", "EventId": 2, "EventTimestamp": (invoked_at + 1000) / 1000,
        "InvocationCompletedDetails": {
            "StartTimestamp": invoked_at / 1000, "EndTimestamp": (invoked_at + 1000) / 1000,
            "RequestId": "req-9", "Error": {"Payload": BOOM.to_wire(), "Truncated": False},
        },
    }  # fmt: skip
    assert completed[1]["InvocationCompletedDetails"]["RequestId"].startswith("inv")
    assert "Error" not in completed[1]["InvocationCompletedDetails"]
    assert len(completed) == 2


def test_without_execution_data_payloads_are_left_out_and_errors_kept() -> None:
    run = begun()
    step_retried(run)
    run.end(Succeeded('"done"'))
    history = wire(run, include_data=False)
    assert history[0]["ExecutionStartedDetails"]["Input"] == {"Truncated": True}
    assert history[4]["StepSucceededDetails"]["Result"] == {"Truncated": True}
    assert history[-1]["ExecutionSucceededDetails"] == {"Result": {"Truncated": True}}
    assert history[2]["StepFailedDetails"]["Error"]["Payload"] == BOOM.to_wire()
    assert '"done"' not in str(history)


def test_entries_written_before_times_were_recorded_use_the_records_times() -> None:
    run = begun()
    step_retried(run)
    old = [(seq, decode(encode(entry))) for seq, entry in run.log]
    stripped = [(seq, LogEntry(e.cause, e.fields, e.operations, e.timers, e.heartbeats, e.seen))
                for seq, e in old]  # fmt: skip
    assert [e.event_type for e in events(stripped)] == [e.event_type for e in events(run.log)]


def long_run(steps: int) -> Run:
    run = begun()
    for i in range(steps):
        run.send(upd(K.STEP, A.START, f"s{i}"), upd(K.STEP, A.SUCCEED, f"s{i}", payload=str(i)))
    run.end(Succeeded(None))
    return run


def all_pages(run: Run, request: HistoryRequest) -> list[HistoryPage]:
    pages = []
    while True:
        page = history_page(run.log, ARN, request)
        assert isinstance(page, HistoryPage)
        pages.append(page)
        if page.next_marker is None:
            return pages
        request = HistoryRequest(
            request.include_data, request.reverse, request.max_items, page.next_marker
        )


RUN = long_run(12)


@given(st.one_of(st.none(), st.integers(0, 1000)), st.booleans())
def test_concatenated_pages_are_the_whole_history(items: int | None, reverse: bool) -> None:  # noqa: FBT001
    whole = list(events(RUN.log))
    pages = all_pages(RUN, HistoryRequest(reverse=reverse, max_items=items))
    joined = [event for page in pages for event in page.events]
    assert joined == (whole[::-1] if reverse else whole)
    for page in pages:
        assert 0 < len(page.events) <= (items or 1000)


def test_a_page_is_pinned_to_the_log_its_first_page_saw() -> None:
    run = begun()
    step_batched(run)
    run.send(upd(K.CONTEXT, A.START, "x"))
    run.end(Pending())
    first = history_page(run.log, ARN, HistoryRequest(max_items=2))
    assert isinstance(first, HistoryPage)
    assert first.next_marker is not None
    before = len(events(run.log))
    run.invoke()
    run.send(upd(K.WAIT, A.START, "late", wait_options=WaitOptions(1)))
    rest = all_pages(run, HistoryRequest(max_items=2, marker=first.next_marker))
    assert len(first.events) + sum(len(p.events) for p in rest) == before


NOT_OURS = PageRefused("Marker", "is not a marker of this execution's history")


@pytest.mark.parametrize(
    ("request_", "refusal"),
    [
        pytest.param(HistoryRequest(max_items=1001), PageRefused("MaxItems", "must be between 0 and 1000, not 1001"),
                     id="max-items-over"),
        pytest.param(HistoryRequest(max_items=-1), PageRefused("MaxItems", "must be between 0 and 1000, not -1"),
                     id="max-items-negative"),
        pytest.param(HistoryRequest(marker="junk"), NOT_OURS, id="junk"),
        pytest.param(HistoryRequest(marker="A" * 5000), NOT_OURS, id="huge"),
        pytest.param(HistoryRequest(marker=marker(ARN, PagePosition(2, 1))), NOT_OURS, id="a-state-marker"),
        pytest.param(HistoryRequest(reverse=True, marker="FORWARD"), NOT_OURS, id="other-order"),
        pytest.param(HistoryRequest(marker="OTHER"), NOT_OURS, id="other-execution"),
        pytest.param(HistoryRequest(marker="FUTURE"), PageRefused("Marker", "is beyond this execution's history"),
                     id="sequence-ahead"),
        pytest.param(HistoryRequest(marker="FAR"), PageRefused("Marker", "is beyond this execution's history"),
                     id="offset-beyond"),
    ],
)  # fmt: skip
def test_hostile_parameters_are_refused(request_: HistoryRequest, refusal: PageRefused) -> None:
    run = long_run(3)
    forward = history_page(run.log, ARN, HistoryRequest(max_items=1))
    other = history_page(run.log, OTHER, HistoryRequest(max_items=1))
    assert isinstance(forward, HistoryPage)
    assert isinstance(other, HistoryPage)
    scope = f"{ARN}\nhistory\nforward"
    spelled = {
        "FORWARD": forward.next_marker,
        "OTHER": other.next_marker,
        "FUTURE": marker(scope, PagePosition(len(run.log) + 1, 0)),
        "FAR": marker(scope, PagePosition(len(run.log), 10_000)),
    }
    wanted = HistoryRequest(request_.include_data, request_.reverse, request_.max_items,
                            spelled.get(request_.marker or "", request_.marker))  # fmt: skip
    assert history_page(run.log, ARN, wanted) == refusal


def test_an_empty_log_has_an_empty_history() -> None:
    assert history_page([], ARN, HistoryRequest()) == HistoryPage((), None, include_data=True)
