"""The timer stream's messages: the wire form, the duplicate key, and refusing what Kappa did not write."""

import json

import pytest

from kappa.durable import timer_message
from kappa.durable.decider import Timer
from kappa.durable.execution import TimerKind
from kappa.durable.timer_message import TimerMessage, decode, encode

SUBJECT = "kappa.durable.timer.team-a.orders"
WAIT = Timer(TimerKind.WAIT, "op-1", 1_700_000_030_000, 1)


def test_a_timer_round_trips_through_its_subject_and_body() -> None:
    message = TimerMessage("team-a", "orders", "exec-1", WAIT.due_ms, timer=WAIT)
    subject = timer_message.subject("kappa", "team-a", "orders")
    assert subject == SUBJECT
    assert decode("kappa", subject, encode(message)) == message


def test_an_execution_timer_has_no_operation() -> None:
    timer = Timer(TimerKind.EXECUTION_TIMEOUT, None, 5, 2)
    message = TimerMessage("team-a", "orders", "exec-1", 5, timer=timer)
    assert decode("kappa", SUBJECT, encode(message)) == message
    assert message.message_id == "team-a.orders.exec-1.execution-timeout..2"


def test_a_wake_round_trips_with_its_nonce() -> None:
    message = TimerMessage("team-a", "orders", "exec-1", 7, nonce="n-1")
    assert decode("kappa", SUBJECT, encode(message)) == message
    assert message.timer is None


def test_the_duplicate_key_names_the_function_and_the_generation() -> None:
    """Executions are named per Function: two Functions' timers never meet in the window."""
    one = TimerMessage("team-a", "orders", "exec-1", 1, timer=WAIT)
    other_function = TimerMessage("team-a", "billing", "exec-1", 1, timer=WAIT)
    next_generation = TimerMessage(
        "team-a", "orders", "exec-1", 1, timer=Timer(TimerKind.WAIT, "op-1", 1, 2)
    )
    ids = {one.message_id, other_function.message_id, next_generation.message_id}
    assert len(ids) == 3
    assert one.message_id == TimerMessage("team-a", "orders", "exec-1", 9, timer=WAIT).message_id


def test_two_wakes_are_two_messages() -> None:
    first = TimerMessage("team-a", "orders", "exec-1", 1, nonce="a")
    second = TimerMessage("team-a", "orders", "exec-1", 1, nonce="b")
    assert first.message_id != second.message_id


def test_the_consumer_names_its_namespace() -> None:
    name = timer_message.consumer("team-a")
    assert timer_message.namespace_of_consumer(name) == "team-a"
    assert timer_message.namespace_of_consumer("ns-team-a") is None


@pytest.mark.parametrize(
    ("namespace", "function", "execution", "timer", "nonce"),
    [
        pytest.param("Team", "orders", "e", WAIT, "", id="namespace-not-a-label"),
        pytest.param("team", "or.ders", "e", WAIT, "", id="function-with-a-dot"),
        pytest.param("team", "orders", "e.1", WAIT, "", id="execution-with-a-dot"),
        pytest.param("team", "orders", "e", None, "", id="neither-timer-nor-wake"),
        pytest.param("team", "orders", "e", WAIT, "n", id="both-timer-and-wake"),
        pytest.param("team", "orders", "e", None, "a.b", id="nonce-with-a-dot"),
    ],
)
def test_a_message_that_cannot_be_a_subject_or_key_is_refused(
    namespace: str, function: str, execution: str, timer: Timer | None, nonce: str
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case its own message
        TimerMessage(namespace, function, execution, 1, timer=timer, nonce=nonce)


GOOD = {"exec": "exec-1", "due": 5, "kind": "wait", "op": "op-1", "gen": 1}


@pytest.mark.parametrize(
    ("subject", "body", "problem"),
    [
        pytest.param(
            "kappa.events.team-a.orders", GOOD, "not a durable timer subject", id="subject"
        ),
        pytest.param("kappa.durable.timer.team-a", GOOD, "not a durable timer subject", id="short"),
        pytest.param(SUBJECT, b"x" * 2000, "at most 1024 bytes", id="oversized"),
        pytest.param(SUBJECT, b"{", "is JSON", id="not-json"),
        pytest.param(SUBJECT, b"\xff", "is JSON", id="not-utf8"),
        pytest.param(SUBJECT, [1], "message", id="not-an-object"),
        pytest.param(SUBJECT, {**GOOD, "exec": "a/b"}, "exec", id="bad-execution"),
        pytest.param(SUBJECT, {**GOOD, "due": -1}, "due", id="negative-due"),
        pytest.param(SUBJECT, {**GOOD, "due": None}, "due is required", id="no-due"),
        pytest.param(SUBJECT, {**GOOD, "kind": "explode"}, "kind", id="unknown-kind"),
        pytest.param(SUBJECT, {**GOOD, "gen": 0}, "gen", id="generation-zero"),
        pytest.param(SUBJECT, {**GOOD, "gen": None}, "gen is required", id="no-generation"),
        pytest.param(SUBJECT, {**GOOD, "op": "x" * 65}, "op", id="long-operation"),
        pytest.param(SUBJECT, {"exec": "e", "due": 1, "kind": "wake"}, "nonce", id="wake-no-nonce"),
        pytest.param(
            "kappa.durable.timer.Team.orders", GOOD, "DNS-1123 label", id="namespace-not-a-label"
        ),
    ],
)
def test_a_message_kappa_did_not_write_is_refused_with_its_reason(
    subject: str, body: object, problem: str
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ValueError, match=problem):
        decode("kappa", subject, raw)
