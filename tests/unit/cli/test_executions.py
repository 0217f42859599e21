"""``kappa executions``' table, its list's shape, ``show``'s text and the callback's request."""

from dataclasses import dataclass

import pytest

from kappa.asyncq.dlq_client import DlqClientError
from kappa.cli.executions import callback_request, details, table
from kappa.gateway.durable_shapes import glance_answer

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Facts:
    arn: str = "arn:aws:lambda:us-east-1:team-a:function:orders:$LATEST/durable-execution/o-1/x"
    name: str = "o-1"
    function_arn: str = "arn:aws:lambda:us-east-1:team-a:function:orders:$LATEST"
    version: str = "$LATEST"
    status: str = "RUNNING"
    start_ms: int = 1_767_225_600_000
    end_ms: int | None = None
    input_payload: str | None = None
    result: str | None = None
    error: None = None
    trace_id: str | None = None
    retention_days: int = 14
    timeout_seconds: int = 3600
    current: str | None = "WAIT cool-off STARTED"
    next_wakeup_ms: int | None = 1_767_226_200_000


def test_the_list_says_where_each_execution_stands_in_utc() -> None:
    answer = glance_answer([Facts(), Facts(name="o-2", current=None, next_wakeup_ms=None)], "2")
    first, second = answer["executions"]
    assert first == {
        "name": "o-1",
        "arn": Facts.arn,
        "status": "RUNNING",
        "version": "$LATEST",
        "started": "2026-01-01T00:00:00.000+00:00",
        "ended": None,
        "current": "WAIT cool-off STARTED",
        "nextWakeUp": "2026-01-01T00:10:00.000+00:00",
    }
    assert (second["current"], second["nextWakeUp"]) == (None, None)
    assert answer["nextMarker"] == "2"


def test_the_table_has_a_row_per_execution_and_a_dash_for_what_is_not_there() -> None:
    rows = glance_answer([Facts(), Facts(name="o-2", current=None, next_wakeup_ms=None)], None)
    lines = table(rows["executions"]).splitlines()
    assert lines[0].split() == [
        "NAME",
        "STATUS",
        "VERSION",
        "STARTED",
        "CURRENT",
        "NEXT",
        "WAKE-UP",
    ]
    assert lines[1].split() == [
        "o-1", "RUNNING", "$LATEST", "2026-01-01T00:00:00.000+00:00",
        "WAIT", "cool-off", "STARTED", "2026-01-01T00:10:00.000+00:00",
    ]  # fmt: skip
    assert lines[2].split()[4:] == ["-", "-"]


def test_show_prints_the_execution_then_its_history_in_utc() -> None:
    execution = {
        "DurableExecutionName": "o-1",
        "DurableExecutionArn": Facts.arn,
        "Status": "SUCCEEDED",
        "Version": "$LATEST",
        "StartTimestamp": 1_767_225_600.0,
        "EndTimestamp": 1_767_225_660.5,
        "Result": '{"ok": true}',
    }
    events = [
        {"EventType": "ExecutionStarted", "EventTimestamp": 1_767_225_600.0, "Id": "exec"},
        {"EventType": "WaitStarted", "EventTimestamp": 1_767_225_601.0, "Id": "w", "Name": "cool"},
    ]
    lines = details(execution, events, more=True).splitlines()
    assert lines[:7] == [
        "Name:     o-1",
        f"ARN:      {Facts.arn}",
        "Status:   SUCCEEDED",
        "Version:  $LATEST",
        "Started:  2026-01-01T00:00:00.000+00:00",
        "Ended:    2026-01-01T00:01:00.500+00:00",
        'Result:   {"ok": true}',
    ]
    assert lines[7:] == [
        "History:",
        "  2026-01-01T00:00:00.000+00:00  ExecutionStarted  exec",
        "  2026-01-01T00:00:01.000+00:00  WaitStarted  w  cool",
        "  (more events: aws lambda get-durable-execution-history)",
    ]


def test_show_leaves_out_what_a_running_execution_has_not() -> None:
    text = details({"Status": "RUNNING", "StartTimestamp": "not a number"}, [], more=False)
    assert text.splitlines() == ["Status:   RUNNING", "History:"]


@pytest.mark.parametrize(
    ("succeed", "fail", "heartbeat", "expected"),
    [
        ('{"approved": true}', None, False, ("succeed", {"approved": True})),
        ("3", None, False, ("succeed", 3)),
        (None, "declined", False, ("fail", {"ErrorMessage": "declined"})),
        (None, None, True, ("heartbeat", None)),
    ],
)
def test_the_callback_request_follows_the_one_choice(
    succeed: str | None,
    fail: str | None,
    heartbeat: bool,  # noqa: FBT001 - pytest passes it by name
    expected: tuple[str, object],
) -> None:
    assert callback_request(succeed, fail, heartbeat=heartbeat) == expected


@pytest.mark.parametrize(("succeed", "says"), [("{not json", "takes JSON"), (None, "say how")])
def test_a_callback_without_a_choice_or_with_bad_json_is_refused(
    succeed: str | None, says: str
) -> None:
    with pytest.raises(DlqClientError, match=says):
        callback_request(succeed, None, heartbeat=False)
